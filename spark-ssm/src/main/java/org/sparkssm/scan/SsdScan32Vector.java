package org.sparkssm.scan;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API primitives of {@link SsdScan32}; only loaded when {@link VectorSupport#ENABLED}.
 * Each is its scalar twin lanewise (lanes over the output index, one fused multiply-add per term in
 * the same order, {@link VectorMath#exp(FloatVector)} for {@link FloatMath#exp}), so both paths
 * give the same bits; the part past the last full vector runs the scalar twin itself.
 */
final class SsdScan32Vector {
  private SsdScan32Vector() {}

  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

  /** {@link SsdScan32#gemv32Scalar} on vectors, unchecked. */
  static void gemv32(float[] a, int aOff, int count, float[] m, int mOff, int mStride, float[] out, int outOff,
      int width, boolean accumulate, float keep) {
    int end = F.loopBound(width);
    for (int w = 0; w < end; w += F.length()) {
      FloatVector acc = accumulate ? FloatVector.fromArray(F, out, outOff + w).mul(keep) : FloatVector.zero(F);
      for (int k = 0; k < count; k++) {
        acc = FloatVector.broadcast(F, a[aOff + k]).fma(FloatVector.fromArray(F, m, mOff + k * mStride + w), acc);
      }
      acc.intoArray(out, outOff + w);
    }
    if (end < width) {
      SsdScan32.gemv32Scalar(a, aOff, count, m, mOff + end, mStride, out, outOff + end, width - end, accumulate, keep);
    }
  }

  /** {@link SsdScan32#gemv64Scalar} on vectors, unchecked. */
  static void gemv64(double[] a, int aOff, int count, double[] m, int mOff, int mStride, double[] out, int outOff,
      int width, boolean accumulate, double keep) {
    int end = D.loopBound(width);
    for (int w = 0; w < end; w += D.length()) {
      DoubleVector acc = accumulate ? DoubleVector.fromArray(D, out, outOff + w).mul(keep) : DoubleVector.zero(D);
      for (int k = 0; k < count; k++) {
        acc = DoubleVector.broadcast(D, a[aOff + k]).fma(DoubleVector.fromArray(D, m, mOff + k * mStride + w), acc);
      }
      acc.intoArray(out, outOff + w);
    }
    if (end < width) {
      SsdScan32.gemv64Scalar(a, aOff, count, m, mOff + end, mStride, out, outOff + end, width - end, accumulate, keep);
    }
  }

  /** {@link SsdScan32#decayRowScalar} for {@code j < i} on vectors, unchecked. */
  static void decayRow(float[] seg, float ellI, int i, float[] cb, int cbOff, float[] deltaH, float[] w) {
    int end = F.loopBound(i);
    for (int j = 0; j < end; j += F.length()) {
      FloatVector s = FloatVector.fromArray(F, seg, j).add(ellI);
      s.intoArray(seg, j);
      VectorMath.exp(s).mul(FloatVector.fromArray(F, cb, cbOff + j)).mul(FloatVector.fromArray(F, deltaH, j))
          .intoArray(w, j);
    }
    SsdScan32.decayRowScalar(seg, ellI, end, i, cb, cbOff, deltaH, w);
  }
}
