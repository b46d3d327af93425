package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;

class RetryDeterminismTest {
  private final SparkSession spark = SparkTests.session();

  /** Counts failures injected in this JVM (local mode: executors share it). */
  static final AtomicInteger INJECTED = new AtomicInteger();

  /** Fails the first attempt of every task, mid-scan, after some output. */
  static final class FailFirstAttempt extends ScanFixtures.FaultyModel {
    private static final long serialVersionUID = 1L;
    private final int failAfterCalls;
    private transient int calls;

    FailFirstAttempt(ScanModel inner, int failAfterCalls) {
      super(inner);
      this.failAfterCalls = failAfterCalls;
    }

    @Override
    void beforeScan(TaskContext task) {
      if (task.attemptNumber() == 0 && ++calls > failAfterCalls) {
        INJECTED.incrementAndGet();
        throw new IllegalStateException("injected failure of the first attempt of task " + task.partitionId());
      }
    }
  }


  @Test
  void retriedTasksGiveBitIdenticalOutput() {
    SsmScanTest.Panel p = SsmScanTest.panel(51, 12, 150);
    ScanModel m = SsmScanTest.diagonal(52);
    Dataset<Row> df = spark.createDataFrame(p.rows, SsmScanTest.TWO_CHANNELS).repartition(3);
    List<Row> clean = SsmScan.on(df).values("a", "b").model(m).chunkRows(8).run()
        .orderBy("unique_id", "ds").collectAsList();

    int before = INJECTED.get();
    List<Row> retried = SsmScan.on(df).values("a", "b").model(new FailFirstAttempt(m, 5)).chunkRows(8)
        .oneTaskBytes(0).run() // hashed to several tasks, each failing once
        .orderBy("unique_id", "ds").collectAsList();
    assertTrue(INJECTED.get() > before, "failures were injected");
    assertEquals(clean.size(), retried.size(), "many-series path: row count");
    for (int i = 0; i < clean.size(); i++) {
      assertEquals(clean.get(i), retried.get(i), "many-series path: row " + i);
    }

    // The two-pass path, with failures in both passes.
    before = INJECTED.get();
    List<Row> longClean = SsmScan.on(df).values("a", "b").model(m).chunkRows(8).longSeriesRows(50).blockRows(17)
        .run().orderBy("unique_id", "ds").collectAsList();
    List<Row> longRetried = SsmScan.on(df).values("a", "b").model(new FailFirstAttempt(m, 3)).chunkRows(8)
        .longSeriesRows(50).blockRows(17).run().orderBy("unique_id", "ds").collectAsList();
    assertTrue(INJECTED.get() > before, "failures were injected");
    for (int i = 0; i < clean.size(); i++) {
      List<Double> a = clean.get(i).getList(2);
      List<Double> b = longClean.get(i).getList(2);
      for (int j = 0; j < a.size(); j++) {
        assertEquals(a.get(j), b.get(j), 1e-9, "two-pass vs many-series path, row " + i + " " + clean.get(i));
      }
    }
    assertEquals(longClean.size(), longRetried.size(), "two-pass path: row count");
    for (int i = 0; i < longClean.size(); i++) {
      assertEquals(longClean.get(i), longRetried.get(i), "two-pass path: row " + i);
    }
  }
}
