package org.sparkssm.spark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryException;
import org.apache.spark.sql.streaming.Trigger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.init.ModelSpec;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.scan.SsmScan;

/**
 * {@link SsmScan} on a streaming DataFrame: the state lives in the state store, several
 * micro-batches give the batch scan's output, and a query restarted from its checkpoint continues
 * from the saved state.
 */
class StreamingScanTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();
  private final ScanModel model = ModelSpec.of("s4d-inv").withState(8).withDt(0.1).build(1, false);

  private StreamingQuery start(Path in, Path out) throws Exception {
    return SsmScan.on(MlFixtures.stream(spark, in)).values("y").model(model).chunkRows(5).run().writeStream()
        .format("parquet").option("checkpointLocation", tmp.resolve("checkpoint").toString())
        .trigger(Trigger.AvailableNow()).start(out.toString());
  }

  private static List<String> sorted(Dataset<Row> df) {
    return df.collectAsList().stream().map(Row::toString).sorted().collect(Collectors.toList());
  }

  @Test
  void restartedQueryContinuesFromItsCheckpointAndEqualsTheBatchScan() throws Exception {
    List<Row> rows = MlFixtures.panel(11, 5, 60, 0.2);
    Path in = tmp.resolve("in");
    Path out = tmp.resolve("out");
    MlFixtures.appendFiles(spark, in, List.of(MlFixtures.timeRange(rows, 0, 17), MlFixtures.timeRange(rows, 17, 30)));
    StreamingQuery first = start(in, out);
    first.awaitTermination();
    assertEquals(5 * 30, spark.read().parquet(out.toString()).count());

    // New rows arrive while no query runs; the restarted query reads its state from the checkpoint.
    MlFixtures.appendFiles(spark, in, List.of(MlFixtures.timeRange(rows, 30, 31), MlFixtures.timeRange(rows, 31, 60)));
    StreamingQuery second = start(in, out);
    second.awaitTermination();

    Dataset<Row> batch = SsmScan.on(MlFixtures.frame(spark, rows)).values("y").model(model).run();
    assertEquals(sorted(batch), sorted(spark.read().parquet(out.toString())));
  }

  @Test
  void aLateRowFailsTheQueryNamingTheSeries() throws Exception {
    List<Row> rows = MlFixtures.panel(13, 2, 20, 0.2);
    Path in = tmp.resolve("late-in");
    List<Row> replay = MlFixtures.timeRange(rows, 5, 6);
    MlFixtures.appendFiles(spark, in, List.of(MlFixtures.timeRange(rows, 0, 10), replay));
    StreamingQuery q = start(in, tmp.resolve("late-out"));
    StreamingQueryException e = assertThrows(StreamingQueryException.class, q::awaitTermination);
    String message = SparkTests.rootMessage(e);
    assertTrue(message.contains("unique_id = 's0'") || message.contains("unique_id = 's1'"), message);
    assertTrue(message.contains("expected rows after time 9") && message.contains("time 5"), message);
  }

  @Test
  void batchOnlyOptionsAreRejectedOnAStream() {
    Dataset<Row> stream = MlFixtures.stream(spark, tmp);
    String m = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(stream).values("y").model(model).runWithState()).getMessage();
    assertTrue(m.contains("runWithState") && m.contains("checkpoint"), m);
  }
}
