package org.sparkssm.scan;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels of {@link DiagonalScan}, loaded only when {@link VectorSupport#ENABLED}.
 *
 * <p>Why this shape: a channel's N state components are independent, so they vectorize across n;
 * the time recurrence is sequential. Walking one channel over several steps at a time lets each
 * vector of Ā, B̄, C and h be loaded once and used for four (real) or two (complex) steps, which
 * moves the kernel from load-bound to FMA-bound. The readout {@code Σ_n C h} is a lane reduction
 * per step. Channel d reads {@code u[t*D + d]} with stride D, a scalar load per step.
 */
final class DiagonalScanVector {
  private DiagonalScanVector() {}

  static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  static final int LANES = SPECIES.length();

  /**
   * Steps per time block. Each channel walks u and y with stride D, so all channels advance over
   * one block of rows before the next block: the block's rows of u and y stay in L2 and its pages
   * in the TLB instead of being swept once per channel. Each block also streams the whole state
   * (Ā, B̄, C, h: 32 bytes per component), so the rows get what is left of a ~384 KiB budget after
   * the state. Measured on Zen 4 (BENCHMARKS.md): D*N = 64*16 is fastest with hundreds of rows,
   * 1024*16 with 4.
   */
  static int timeBlock(int channels, int stateDim, int length) {
    long stateBytes = 32L * channels * stateDim;
    long rowBytes = 16L * channels;
    long rows = Math.max(4, (BLOCK_BUDGET_BYTES - stateBytes) / rowBytes) & ~3L;
    return (int) Math.min(Math.max(rows, 4), Math.max(length, 1));
  }

  private static final long BLOCK_BUDGET_BYTES = 384 * 1024;

  /** The scan of {@link DiagonalScan#scan}, time block by time block, channel by channel. */
  static void scan(DiagonalSsm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    int block = timeBlock(m.channels, m.stateDim, length);
    for (int t0 = 0; t0 < length; t0 += block) {
      int steps = Math.min(block, length - t0);
      int blockU = uOff + t0 * m.channels;
      int blockY = yOff + t0 * m.channels;
      for (int d = 0; d < m.channels; d++) {
        if (m.isComplex()) {
          channelComplex(m, d, u, blockU, y, blockY, steps, h);
        } else {
          channelReal(m, d, u, blockU, y, blockY, steps, h);
        }
      }
    }
  }

  /** Channel d over {@code length} steps. */
  private static void channelReal(DiagonalSsm m, int d, double[] u, int uOff, double[] y, int yOff, int length,
      double[] h) {
    final int dim = m.channels;
    final int n = m.stateDim;
    final double[] a = m.abarRe;
    final double[] b = m.bbarRe;
    final double[] c = m.cRe;
    final int upper = SPECIES.loopBound(n);
    {
      final int base = d * n;
      final double skip = m.dSkip == null ? 0.0 : m.dSkip[d];
      int t = 0;
      for (; t + 4 <= length; t += 4) {
        int ui = uOff + t * dim + d;
        double u0 = u[ui];
        double u1 = u[ui + dim];
        double u2 = u[ui + 2 * dim];
        double u3 = u[ui + 3 * dim];
        DoubleVector acc0 = DoubleVector.zero(SPECIES);
        DoubleVector acc1 = acc0;
        DoubleVector acc2 = acc0;
        DoubleVector acc3 = acc0;
        int j = 0;
        for (; j < upper; j += LANES) {
          int i = base + j;
          DoubleVector av = DoubleVector.fromArray(SPECIES, a, i);
          DoubleVector bv = DoubleVector.fromArray(SPECIES, b, i);
          DoubleVector cv = DoubleVector.fromArray(SPECIES, c, i);
          DoubleVector hv = DoubleVector.fromArray(SPECIES, h, i);
          hv = av.fma(hv, bv.mul(u0));
          acc0 = cv.fma(hv, acc0);
          hv = av.fma(hv, bv.mul(u1));
          acc1 = cv.fma(hv, acc1);
          hv = av.fma(hv, bv.mul(u2));
          acc2 = cv.fma(hv, acc2);
          hv = av.fma(hv, bv.mul(u3));
          acc3 = cv.fma(hv, acc3);
          hv.intoArray(h, i);
        }
        double s0 = acc0.reduceLanes(VectorOperators.ADD);
        double s1 = acc1.reduceLanes(VectorOperators.ADD);
        double s2 = acc2.reduceLanes(VectorOperators.ADD);
        double s3 = acc3.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
          int i = base + j;
          double hs = h[i];
          hs = a[i] * hs + b[i] * u0;
          s0 += c[i] * hs;
          hs = a[i] * hs + b[i] * u1;
          s1 += c[i] * hs;
          hs = a[i] * hs + b[i] * u2;
          s2 += c[i] * hs;
          hs = a[i] * hs + b[i] * u3;
          s3 += c[i] * hs;
          h[i] = hs;
        }
        int yi = yOff + t * dim + d;
        y[yi] = s0 + skip * u0;
        y[yi + dim] = s1 + skip * u1;
        y[yi + 2 * dim] = s2 + skip * u2;
        y[yi + 3 * dim] = s3 + skip * u3;
      }
      for (; t < length; t++) {
        double ut = u[uOff + t * dim + d];
        DoubleVector acc = DoubleVector.zero(SPECIES);
        int j = 0;
        for (; j < upper; j += LANES) {
          int i = base + j;
          DoubleVector hv = DoubleVector.fromArray(SPECIES, a, i)
              .fma(DoubleVector.fromArray(SPECIES, h, i), DoubleVector.fromArray(SPECIES, b, i).mul(ut));
          acc = DoubleVector.fromArray(SPECIES, c, i).fma(hv, acc);
          hv.intoArray(h, i);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
          int i = base + j;
          double hs = a[i] * h[i] + b[i] * ut;
          h[i] = hs;
          s += c[i] * hs;
        }
        y[yOff + t * dim + d] = s + skip * ut;
      }
    }
  }

  /** Channel d over {@code length} steps. */
  private static void channelComplex(DiagonalSsm m, int d, double[] u, int uOff, double[] y, int yOff, int length,
      double[] h) {
    final int dim = m.channels;
    final int n = m.stateDim;
    final int size = dim * n;
    final double[] ar = m.abarRe;
    final double[] ai = m.abarIm;
    final double[] br = m.bbarRe;
    final double[] bi = m.bbarIm;
    final double[] cr = m.cRe;
    final double[] ci = m.cIm;
    final int upper = SPECIES.loopBound(n);
    {
      final int base = d * n;
      final double skip = m.dSkip == null ? 0.0 : m.dSkip[d];
      int t = 0;
      for (; t + 2 <= length; t += 2) {
        int ui = uOff + t * dim + d;
        double u0 = u[ui];
        double u1 = u[ui + dim];
        DoubleVector acc0 = DoubleVector.zero(SPECIES);
        DoubleVector acc1 = acc0;
        int j = 0;
        for (; j < upper; j += LANES) {
          int i = base + j;
          DoubleVector are = DoubleVector.fromArray(SPECIES, ar, i);
          DoubleVector aimNeg = DoubleVector.fromArray(SPECIES, ai, i).neg();
          DoubleVector aim = aimNeg.neg();
          DoubleVector bre = DoubleVector.fromArray(SPECIES, br, i);
          DoubleVector bim = DoubleVector.fromArray(SPECIES, bi, i);
          DoubleVector cre = DoubleVector.fromArray(SPECIES, cr, i);
          DoubleVector cimNeg = DoubleVector.fromArray(SPECIES, ci, i).neg();
          DoubleVector hr = DoubleVector.fromArray(SPECIES, h, i);
          DoubleVector hi = DoubleVector.fromArray(SPECIES, h, size + i);
          // step t: h ← Ā h + B̄ u (complex), y += Re(C h)
          DoubleVector nr = aimNeg.fma(hi, are.fma(hr, bre.mul(u0)));
          DoubleVector ni = aim.fma(hr, are.fma(hi, bim.mul(u0)));
          acc0 = cimNeg.fma(ni, cre.fma(nr, acc0));
          // step t + 1
          hr = aimNeg.fma(ni, are.fma(nr, bre.mul(u1)));
          hi = aim.fma(nr, are.fma(ni, bim.mul(u1)));
          acc1 = cimNeg.fma(hi, cre.fma(hr, acc1));
          hr.intoArray(h, i);
          hi.intoArray(h, size + i);
        }
        double s0 = acc0.reduceLanes(VectorOperators.ADD);
        double s1 = acc1.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
          int i = base + j;
          double hr = h[i];
          double hi = h[size + i];
          double nr = ar[i] * hr - ai[i] * hi + br[i] * u0;
          double ni = ar[i] * hi + ai[i] * hr + bi[i] * u0;
          s0 += cr[i] * nr - ci[i] * ni;
          hr = ar[i] * nr - ai[i] * ni + br[i] * u1;
          hi = ar[i] * ni + ai[i] * nr + bi[i] * u1;
          s1 += cr[i] * hr - ci[i] * hi;
          h[i] = hr;
          h[size + i] = hi;
        }
        int yi = yOff + t * dim + d;
        y[yi] = s0 + skip * u0;
        y[yi + dim] = s1 + skip * u1;
      }
      for (; t < length; t++) {
        double ut = u[uOff + t * dim + d];
        DoubleVector acc = DoubleVector.zero(SPECIES);
        int j = 0;
        for (; j < upper; j += LANES) {
          int i = base + j;
          DoubleVector are = DoubleVector.fromArray(SPECIES, ar, i);
          DoubleVector aim = DoubleVector.fromArray(SPECIES, ai, i);
          DoubleVector hr = DoubleVector.fromArray(SPECIES, h, i);
          DoubleVector hi = DoubleVector.fromArray(SPECIES, h, size + i);
          DoubleVector nr = aim.neg().fma(hi, are.fma(hr, DoubleVector.fromArray(SPECIES, br, i).mul(ut)));
          DoubleVector ni = aim.fma(hr, are.fma(hi, DoubleVector.fromArray(SPECIES, bi, i).mul(ut)));
          acc = DoubleVector.fromArray(SPECIES, ci, i).neg().fma(ni, DoubleVector.fromArray(SPECIES, cr, i).fma(nr, acc));
          nr.intoArray(h, i);
          ni.intoArray(h, size + i);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
          int i = base + j;
          double hr = h[i];
          double hi = h[size + i];
          double nr = ar[i] * hr - ai[i] * hi + br[i] * ut;
          double ni = ar[i] * hi + ai[i] * hr + bi[i] * ut;
          h[i] = nr;
          h[size + i] = ni;
          s += cr[i] * nr - ci[i] * ni;
        }
        y[yOff + t * dim + d] = s + skip * ut;
      }
    }
  }
}
