package org.sparkssm.spark.scan;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.scan.ScanModel;

/** Test fixtures of this package for tests in other packages. */
public final class ScanFixtures {
  private ScanFixtures() {}

  public static List<Row> panelRows(long seed, int series, int maxLength) {
    return SsmScanTest.panel(seed, series, maxLength).rows;
  }

  public static StructType schema() {
    return SsmScanTest.TWO_CHANNELS;
  }

  public static ScanModel model(long seed) {
    return SsmScanTest.diagonal(seed);
  }

  /** A model whose every attempt of partition 1 fails (after some output), so the job fails. */
  public static ScanModel alwaysFailing(ScanModel inner) {
    return new FaultyModel(inner) {
      private static final long serialVersionUID = 1L;

      @Override
      void beforeScan(org.apache.spark.TaskContext task) {
        if (task.partitionId() == 1) {
          throw new IllegalStateException("injected failure in every attempt of partition 1");
        }
      }
    };
  }

  /**
   * A model whose scan calls inside tasks wait at a gate: each executor JVM first writes
   * {@code gate/running-<pid>}, then every call waits until {@code gate/open} exists. A test can
   * so kill an executor that provably has a task in flight, whatever the machine's speed, then
   * open the gate. The directory must be visible to the executors (one machine in the tests).
   */
  public static ScanModel gated(ScanModel inner, String gate) {
    return new FaultyModel(inner) {
      private static final long serialVersionUID = 1L;

      @Override
      void beforeScan(org.apache.spark.TaskContext task) {
        java.nio.file.Path dir = java.nio.file.Paths.get(gate);
        try {
          java.nio.file.Path running = dir.resolve("running-" + ProcessHandle.current().pid());
          if (!java.nio.file.Files.exists(running)) {
            java.nio.file.Files.writeString(running, "partition " + task.partitionId());
          }
          long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(5);
          while (!java.nio.file.Files.exists(dir.resolve("open"))) {
            if (System.nanoTime() > deadline) {
              throw new IllegalStateException("gate " + dir + " never opened");
            }
            Thread.sleep(50);
          }
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
      }
    };
  }

  /** Delegates to a model, letting a subclass inject a fault before each scan call inside a task. */
  abstract static class FaultyModel implements ScanModel {
    private static final long serialVersionUID = 1L;
    private final ScanModel inner;

    FaultyModel(ScanModel inner) {
      this.inner = inner;
    }

    /** Throws to fail the task; called inside tasks only. */
    abstract void beforeScan(org.apache.spark.TaskContext task);

    @Override
    public int inputs() {
      return inner.inputs();
    }

    @Override
    public int outputs() {
      return inner.outputs();
    }

    @Override
    public int stateSize() {
      return inner.stateSize();
    }

    @Override
    public long fingerprint() {
      return inner.fingerprint();
    }

    @Override
    public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
      org.apache.spark.TaskContext task = org.apache.spark.TaskContext.get();
      if (task != null) {
        beforeScan(task);
      }
      inner.scan(u, uOff, y, yOff, length, h);
    }

    @Override
    public void decay(double[] h, long steps) {
      inner.decay(h, steps);
    }
  }
}
