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

  /** A model whose every attempt fails (after some output), so the job fails. */
  public static ScanModel alwaysFailing(ScanModel inner) {
    return new AlwaysFails(inner);
  }

  private static final class AlwaysFails implements ScanModel {
    private static final long serialVersionUID = 1L;
    private final ScanModel inner;

    AlwaysFails(ScanModel inner) {
      this.inner = inner;
    }

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
      if (task != null && task.partitionId() == 1) {
        throw new IllegalStateException("injected failure in every attempt of partition 1");
      }
      inner.scan(u, uOff, y, yOff, length, h);
    }

    @Override
    public void decay(double[] h, long steps) {
      inner.decay(h, steps);
    }
  }
}
