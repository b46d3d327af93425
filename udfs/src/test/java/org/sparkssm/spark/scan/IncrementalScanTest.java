package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.scan.DiagonalSsm;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.state.ScanState;

class IncrementalScanTest {
  private final SparkSession spark = SparkTests.session();

  @TempDir
  Path tmp;

  private static Map<String, List<Double>> byKeyAndTime(List<Row> rows) {
    Map<String, List<Double>> m = new HashMap<>();
    for (Row r : rows) {
      m.put(r.getString(0) + "@" + r.getLong(1), r.getList(2));
    }
    return m;
  }

  @Test
  void resumingFromSavedStatesEqualsAFullRescan() throws Exception {
    resumingEqualsAFullRescan(SsmScanTest.diagonal(12), "diagonal");
  }

  @Test
  void aLayerStackResumesEveryLayer() throws Exception {
    resumingEqualsAFullRescan(SsmScanTest.stack(12), "stack"); // convolution windows and SSM states alike
  }

  /**
   * The same with inputs above the one-task size: a state table up to the broadcast limit is
   * collected and broadcast, a larger one goes through the shuffle, each state before its series' rows.
   */
  @Test
  void largerInputsBroadcastOrShuffleTheStatesWithTheSameResult() throws Exception {
    oneTaskBytes = 0;
    resumingEqualsAFullRescan(SsmScanTest.diagonal(12), "broadcast");
    broadcastStates = 0;
    resumingEqualsAFullRescan(SsmScanTest.diagonal(12), "shuffled");
    resumingEqualsAFullRescan(SsmScanTest.stack(12), "shuffled-stack");
  }

  /** The resume's settings ({@link SsmScan#broadcastStates}, {@link SsmScan#oneTaskBytes}); the defaults otherwise. */
  private long broadcastStates = 100_000L;
  private long oneTaskBytes = 8L << 20;

  private void resumingEqualsAFullRescan(ScanModel m, String name) throws Exception {
    SsmScanTest.Panel p = SsmScanTest.panel(11, 10, 120);
    Dataset<Row> all = spark.createDataFrame(p.rows, SsmScanTest.TWO_CHANNELS).cache();

    // A cut per series (some series get no new rows, one exists only in the new part).
    SplittableRandom rnd = new SplittableRandom(13);
    Map<String, Long> cut = new HashMap<>();
    for (Map.Entry<String, long[]> e : p.times.entrySet()) {
      long[] t = e.getValue();
      cut.put(e.getKey(), t[rnd.nextInt(t.length)]);
    }
    cut.put("s0", Long.MIN_VALUE); // s0 is new: no saved state
    List<Row> oldRows = new ArrayList<>();
    List<Row> newRows = new ArrayList<>();
    for (Row r : p.rows) {
      (r.getLong(1) <= cut.get(r.getString(0)) ? oldRows : newRows).add(r);
    }
    Dataset<Row> old = spark.createDataFrame(oldRows, SsmScanTest.TWO_CHANNELS);
    Dataset<Row> fresh = spark.createDataFrame(newRows, SsmScanTest.TWO_CHANNELS);

    SsmScan.ScanResult full = SsmScan.on(all).values("a", "b").model(m).chunkRows(16).runWithState();
    Map<String, List<Double>> fullOut = byKeyAndTime(full.output().collectAsList());
    List<Row> fullStates = full.states().orderBy("unique_id").collectAsList();
    full.unpersist();

    SsmScan.ScanResult first = SsmScan.on(old).values("a", "b").model(m).chunkRows(16).runWithState();
    String statePath = tmp.resolve("state-1-" + name).toString();
    first.states().write().parquet(statePath);
    first.unpersist();
    Dataset<Row> saved = spark.read().parquet(statePath);

    for (Dataset<Row> input : List.of(fresh, all)) { // new rows only, or the whole history
      SsmScan.ScanResult second = SsmScan.on(input).values("a", "b").model(m).chunkRows(5).resumeFrom(saved)
          .broadcastStates(broadcastStates).oneTaskBytes(oneTaskBytes).runWithState();
      List<Row> out = second.output().collectAsList();
      assertEquals(newRows.size(), out.size(), "only rows after each saved time are scanned");
      Map<String, List<Double>> got = byKeyAndTime(out);
      for (Map.Entry<String, List<Double>> e : got.entrySet()) {
        assertEquals(fullOut.get(e.getKey()), e.getValue(), e.getKey());
      }
      List<Row> states = second.states().orderBy("unique_id").collectAsList();
      assertEquals(fullStates.size(), states.size(), "every series keeps a state, with or without new rows");
      for (int i = 0; i < states.size(); i++) {
        Row expected = fullStates.get(i);
        Row actual = states.get(i);
        assertEquals(expected.getString(0), actual.getString(0));
        assertEquals(expected.getLong(1), actual.getLong(1), "last time of " + expected.getString(0));
        ScanState e = ScanState.fromBytes((byte[]) expected.get(2), m.fingerprint(), "full");
        ScanState a = ScanState.fromBytes((byte[]) actual.get(2), m.fingerprint(), "incremental");
        assertEquals(e.position(), a.position(), expected.getString(0));
        assertArrayEquals(e.hidden(), a.hidden(), expected.getString(0));
        assertEquals(ScanState.FORMAT_VERSION, actual.getInt(3));
        assertEquals(m.fingerprint(), actual.getLong(4));
      }
      second.unpersist();
    }
  }

  @Test
  void foreignCorruptOrInconsistentStatesFailNamingTheSeries() throws Exception {
    foreignCorruptOrInconsistentStatesFail(100_000L, 8L << 20); // one task, the states sorted in with the rows
    foreignCorruptOrInconsistentStatesFail(100_000L, 0); // checked on the driver as the table is collected
    foreignCorruptOrInconsistentStatesFail(0, 0);        // shuffled: checked by the tasks as they meet each state
  }

  private void foreignCorruptOrInconsistentStatesFail(long broadcast, long oneTask) throws Exception {
    SsmScanTest.Panel p = SsmScanTest.panel(21, 3, 30);
    DiagonalSsm m = SsmScanTest.diagonal(22);
    Dataset<Row> all = spark.createDataFrame(p.rows, SsmScanTest.TWO_CHANNELS);
    SsmScan.ScanResult first = SsmScan.on(all).values("a", "b").model(m).runWithState();
    Dataset<Row> states = first.states().localCheckpoint();
    first.unpersist();

    // Another model's states: found on the driver before the scan (run() itself throws), naming both
    // models; by fingerprint when their descriptions are the same.
    DiagonalSsm other = SsmScanTest.diagonal(23);
    IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(all).values("a", "b").model(other).resumeFrom(states).broadcastStates(broadcast).oneTaskBytes(oneTask).run());
    assertEquals(String.format("state table: expected states of DiagonalSsm (2 inputs, %d state values) (model "
        + "fingerprint %016x), got states of another model (fingerprint %016x)", other.stateSize(), other.fingerprint(),
        m.fingerprint()), foreign.getMessage());
    Dataset<Row> described = states.withColumn(SsmScan.STATE_MODEL, functions.lit("diagonal seed 22"));
    foreign = assertThrows(IllegalArgumentException.class, () -> SsmScan.on(all).values("a", "b").model(other)
        .modelDescription("diagonal seed 23").resumeFrom(described, "--resume-from 'states'").broadcastStates(broadcast).oneTaskBytes(oneTask).run());
    assertEquals("--resume-from 'states': expected states of diagonal seed 23, got states of another model (diagonal "
        + "seed 22)", foreign.getMessage());
    // A table written before the description column: fingerprints, still on the driver.
    foreign = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(all).values("a", "b").model(other).resumeFrom(states.drop(SsmScan.STATE_MODEL)).broadcastStates(broadcast).oneTaskBytes(oneTask).run());
    assertTrue(foreign.getMessage().contains("got states of another model (fingerprint"), foreign.getMessage());
    // The executors still check each state's own fingerprint (a table whose column says otherwise).
    Dataset<Row> relabelled = states.withColumn(SsmScan.STATE_FINGERPRINT, functions.lit(other.fingerprint()));
    Exception e = assertThrows(Exception.class,
        () -> SsmScan.on(all).values("a", "b").model(other).resumeFrom(relabelled).broadcastStates(broadcast).oneTaskBytes(oneTask).run().collect());
    assertTrue(SparkTests.rootMessage(e).contains("fingerprint") && SparkTests.rootMessage(e).contains("unique_id = 's"),
        SparkTests.rootMessage(e));

    // Corrupt bytes.
    Dataset<Row> corrupt = states.withColumn("state", functions.lit(new byte[] {1, 2, 3}));
    e = assertThrows(Exception.class,
        () -> SsmScan.on(all).values("a", "b").model(m).resumeFrom(corrupt).broadcastStates(broadcast).oneTaskBytes(oneTask).run().collect());
    assertTrue(SparkTests.rootMessage(e).contains("truncated") && SparkTests.rootMessage(e).contains("series unique_id"),
        SparkTests.rootMessage(e));

    // Unknown format version.
    Dataset<Row> future = states.withColumn("state_format_version", functions.lit(99));
    e = assertThrows(Exception.class, () -> SsmScan.on(all).values("a", "b").model(m).resumeFrom(future).broadcastStates(broadcast).oneTaskBytes(oneTask).run().collect());
    assertTrue(SparkTests.rootMessage(e).contains("format version"), SparkTests.rootMessage(e));

    // History with a row removed before the saved time: neither "new rows only" nor "full history".
    String longest = "s0";
    for (String id : p.times.keySet()) {
      if (p.times.get(id).length > p.times.get(longest).length) {
        longest = id;
      }
    }
    if (p.times.get(longest).length >= 2) {
      long firstTime = p.times.get(longest)[0];
      Dataset<Row> missingOne = all.filter(functions.not(functions.col("unique_id").equalTo(longest)
          .and(functions.col("ds").equalTo(firstTime))));
      String series = longest;
      e = assertThrows(Exception.class,
          () -> SsmScan.on(missingOne).values("a", "b").model(m).resumeFrom(states).broadcastStates(broadcast).oneTaskBytes(oneTask).run().collect());
      assertTrue(SparkTests.rootMessage(e).contains("unique_id = '" + series + "'")
          && SparkTests.rootMessage(e).contains("saved"), SparkTests.rootMessage(e));
    }

    // A state table without the expected columns fails before any job.
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(all).values("a", "b").model(m).resumeFrom(states.drop("state")).broadcastStates(broadcast).oneTaskBytes(oneTask).run());
    assertTrue(missing.getMessage().contains("'state'"), missing.getMessage());
  }
}
