package org.sparkssm.scan;

/**
 * A {@link ScanModel} that can also take a step size per time step, so a series observed at uneven
 * times evolves over its real gaps ({@link IrregularDiagonalScan}). Its plain {@link #scan} is the
 * regular case, every {@code Δ_t = 1} model time unit.
 */
public interface IrregularScanModel extends ScanModel {
  /** Scans {@code length} steps, step t with size {@code dt[dtOff + t]} (finite, {@code > 0}). */
  void scanIrregular(double[] dt, int dtOff, double[] u, int uOff, double[] y, int yOff, int length, double[] h);
}
