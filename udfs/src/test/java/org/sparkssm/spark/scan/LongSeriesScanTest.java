package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.state.ScanState;

class LongSeriesScanTest {
  private final SparkSession spark = SparkTests.session();

  /** Two-pass results differ from the sequential scan only by the rounding of the carried states. */
  private static final double TWO_PASS_ABS = 1e-11;
  private static final double TWO_PASS_REL = 1e-9;


  private static Map<String, double[]> collect(Dataset<Row> out, SsmScanTest.Panel p, int outputs) {
    Map<String, double[]> got = new HashMap<>();
    for (Map.Entry<String, long[]> e : p.times.entrySet()) {
      got.put(e.getKey(), new double[e.getValue().length * outputs]);
    }
    for (Row r : out.collectAsList()) {
      String id = r.getString(0);
      int i = java.util.Arrays.binarySearch(p.times.get(id), r.getLong(1));
      List<Double> ys = r.getList(2);
      for (int j = 0; j < outputs; j++) {
        got.get(id)[i * outputs + j] = ys.get(j);
      }
    }
    return got;
  }

  @Test
  void longSeriesAcrossPartitionsEqualTheOneShotScan() {
    SsmScanTest.Panel p = SsmScanTest.panel(31, 6, 900);
    int longest = 0;
    for (long[] t : p.times.values()) {
      longest = Math.max(longest, t.length);
    }
    for (ScanModel m : SsmScanTest.models()) {
      Map<String, double[]> reference = null;
      for (int partitions : new int[] {1, 3, 7}) {
        Dataset<Row> df = spark.createDataFrame(p.rows, SsmScanTest.TWO_CHANNELS).repartition(partitions);
        int cachedBefore = spark.sparkContext().getPersistentRDDs().size();
        SsmScan.ScanResult result = SsmScan.on(df).values("a", "b").model(m).chunkRows(13).longSeriesRows(200)
            .blockRows(37).longSeriesPartitions(partitions).runWithState();
        Map<String, double[]> got = collect(result.output(), p, m.outputs());
        List<Row> states = result.states().collectAsList();
        result.unpersist();
        assertEquals(cachedBefore, spark.sparkContext().getPersistentRDDs().size(),
            "unpersist releases the scan and the long series' cached blocks");
        for (Map.Entry<String, double[]> e : p.values.entrySet()) {
          int length = p.times.get(e.getKey()).length;
          double[] expected = SsmScanTest.oneShot(m, e.getValue(), length);
          double[] actual = got.get(e.getKey());
          for (int i = 0; i < expected.length; i++) {
            double tol = TWO_PASS_ABS + TWO_PASS_REL * Math.abs(expected[i]);
            assertEquals(expected[i], actual[i], tol, m.getClass().getSimpleName() + " P=" + partitions + " series "
                + e.getKey() + " (length " + length + ") value " + i);
          }
        }
        // Block cuts depend on row positions only: the same bits for any P and input partitioning.
        if (reference == null) {
          reference = got;
        } else {
          for (String id : got.keySet()) {
            assertArrayEquals(reference.get(id), got.get(id), id + " P=" + partitions);
          }
        }
        // End states: one per series, the one-shot final state, position = rows.
        assertEquals(p.times.size(), states.size());
        for (Row s : states) {
          String id = s.getString(0);
          long[] t = p.times.get(id);
          assertEquals(t[t.length - 1], s.getLong(1), id);
          ScanState state = ScanState.fromBytes((byte[]) s.get(2), m.fingerprint(), id);
          assertEquals(t.length, state.position(), id);
          double[] h = new double[m.stateSize()];
          m.scan(p.values.get(id), 0, new double[t.length * m.outputs()], 0, t.length, h);
          double[] hs = state.hidden();
          for (int i = 0; i < h.length; i++) {
            assertEquals(h[i], hs[i], TWO_PASS_ABS + TWO_PASS_REL * Math.abs(h[i]), id + " state " + i);
          }
        }
      }
    }
    assertTrue(longest > 200, "the panel has series above the long-series threshold");
  }

  @Test
  void missingValuesAndDuplicatesBehaveAsInTheManySeriesPath() {
    ScanModel m = SsmScanTest.diagonal(41);
    List<Row> rows = new ArrayList<>();
    double[] values = new double[2 * 300];
    for (int i = 0; i < 300; i++) {
      boolean missing = i % 17 == 5;
      values[2 * i] = Math.sin(i);
      values[2 * i + 1] = Math.cos(i);
      rows.add(RowFactory.create("long", (long) i, missing ? null : values[2 * i], values[2 * i + 1]));
    }
    List<Row> out = SsmScan.on(spark.createDataFrame(rows, SsmScanTest.TWO_CHANNELS)).values("a", "b").model(m)
        .longSeriesRows(100).blockRows(23).longSeriesPartitions(4).run().orderBy("ds").collectAsList();
    List<Row> reference = SsmScan.on(spark.createDataFrame(rows, SsmScanTest.TWO_CHANNELS)).values("a", "b")
        .model(m).longSeriesRows(Long.MAX_VALUE).run().orderBy("ds").collectAsList();
    assertEquals(300, out.size());
    for (int i = 0; i < 300; i++) {
      List<Double> a = reference.get(i).getList(2);
      List<Double> b = out.get(i).getList(2);
      for (int j = 0; j < 2; j++) {
        if (i % 17 == 5) {
          assertTrue(Double.isNaN(b.get(j)), "missing row " + i);
        } else {
          assertEquals(a.get(j), b.get(j), TWO_PASS_ABS + TWO_PASS_REL * Math.abs(a.get(j)), "row " + i);
        }
      }
    }

    // A duplicate timestamp that lands on a block boundary is still caught, naming the series.
    List<Row> dup = new ArrayList<>(rows.subList(0, 150));
    // Blocks of 23 rows: the two rows at time 45 get indices 45 and 46, one on each side of a cut.
    dup.add(RowFactory.create("long", 45L, 1.0, 1.0));
    Exception e = assertThrows(Exception.class,
        () -> SsmScan.on(spark.createDataFrame(dup, SsmScanTest.TWO_CHANNELS)).values("a", "b").model(m)
            .longSeriesRows(100).blockRows(23).run().collect());
    assertTrue(SparkTests.rootMessage(e).contains("duplicate") && SparkTests.rootMessage(e).contains("unique_id = 'long'"),
        SparkTests.rootMessage(e));
  }

  @Test
  void layerStackOverBlocksShorterThanItsHaloWithMissingRowsEqualsTheOneShotScan() {
    // Blocks of ~2 rows against halos of 2 and 3 rows: a block's incoming convolution state comes
    // from several earlier blocks; missing rows (which hold every layer) fall on block edges too.
    ScanModel m = SsmScanTest.stack(11);
    int length = 157;
    List<Row> rows = new ArrayList<>();
    double[] values = new double[2 * length];
    List<Integer> present = new ArrayList<>();
    for (int i = 0; i < length; i++) {
      boolean missing = i % 7 == 3 || i % 11 == 0;
      values[2 * i] = Math.sin(0.3 * i);
      values[2 * i + 1] = Math.cos(0.2 * i) + 0.1 * i / length;
      rows.add(RowFactory.create("one", 3L * i, missing ? Double.NaN : values[2 * i], values[2 * i + 1]));
      if (!missing) {
        present.add(i);
      }
    }
    // The reference: the stack's one-shot scan of the present rows (a missing row holds the state).
    double[] presentValues = new double[2 * present.size()];
    for (int k = 0; k < present.size(); k++) {
      presentValues[2 * k] = values[2 * present.get(k)];
      presentValues[2 * k + 1] = values[2 * present.get(k) + 1];
    }
    double[] h = new double[m.stateSize()];
    double[] expected = new double[2 * present.size()];
    m.scan(presentValues, 0, expected, 0, present.size(), h);

    for (long blockRows : new long[] {1, 2, 5, 40}) {
      SsmScan.ScanResult result = SsmScan.on(spark.createDataFrame(rows, SsmScanTest.TWO_CHANNELS).repartition(3))
          .values("a", "b").model(m).chunkRows(4).longSeriesRows(50).blockRows(blockRows).longSeriesPartitions(3)
          .runWithState();
      List<Row> out = result.output().orderBy("ds").collectAsList();
      List<Row> states = result.states().collectAsList();
      result.unpersist();
      assertEquals(length, out.size());
      int k = 0;
      for (int i = 0; i < length; i++) {
        List<Double> y = out.get(i).getList(2);
        boolean missing = k >= present.size() || present.get(k) != i;
        for (int j = 0; j < 2; j++) {
          if (missing) {
            assertTrue(Double.isNaN(y.get(j)), "missing row " + i);
          } else {
            double e = expected[2 * k + j];
            assertEquals(e, y.get(j), TWO_PASS_ABS + TWO_PASS_REL * Math.abs(e), "blockRows " + blockRows + " row " + i);
          }
        }
        if (!missing) {
          k++;
        }
      }
      // The saved state is the whole stack's, so a later incremental run resumes every layer.
      assertEquals(1, states.size());
      ScanState state = ScanState.fromBytes((byte[]) states.get(0).get(2), m.fingerprint(), "one");
      assertEquals(length, state.position());
      double[] hs = state.hidden();
      for (int i = 0; i < h.length; i++) {
        assertEquals(h[i], hs[i], TWO_PASS_ABS + TWO_PASS_REL * Math.abs(h[i]), "blockRows " + blockRows + " state " + i);
      }
    }

    // Per-row states of a multi-stage stack exist only in the many-series path: a clear error.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(spark.createDataFrame(rows, SsmScanTest.TWO_CHANNELS)).values("a", "b").model(m)
            .withState("h").longSeriesRows(50).run());
    assertTrue(e.getMessage().startsWith("withState:"), e.getMessage());
  }
}
