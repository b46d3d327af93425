package org.sparkssm.scan;

import org.sparkssm.Checks;

/**
 * The convolution mode of a diagonal LTI system (S4): from a zero initial state the recurrence of
 * {@link DiagonalScan} is the causal convolution
 *
 * <pre>
 *   K_k[d] = Re Σ_n C[d,n] Ā[d,n]^k B̄[d,n]             k in [0, L)      (L, D)
 *   y_t[d] = Σ_{k=0..t} K_k[d] u_{t-k}[d] + Dskip[d] u_t[d]
 * </pre>
 *
 * <p>Useful when a whole window is known at once (training-style evaluation, feature extraction
 * on short windows) and as an independent check of the recurrent mode. The kernel is time-major
 * like the sequences: {@code K[k * D + d]}. The direct convolution costs O(L² D).
 */
public final class LtiConvolution {
  private LtiConvolution() {}

  /** Writes the first {@code length} kernel taps into {@code kernel[kOff + k * D + d]}. */
  public static void kernel(DiagonalSsm m, int length, double[] kernel, int kOff) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    final int dim = m.channels;
    final int n = m.stateDim;
    Checks.range("kernel", kernel, kOff, (long) length * dim);
    java.util.Arrays.fill(kernel, kOff, kOff + length * dim, 0.0);
    for (int d = 0; d < dim; d++) {
      for (int j = 0; j < n; j++) {
        int i = d * n + j;
        // Walk w_k = Ā^k B̄ forward; K_k[d] accumulates Re(C w_k).
        double wr = m.bbarRe[i];
        double wi = m.bbarIm == null ? 0 : m.bbarIm[i];
        double ar = m.abarRe[i];
        double ai = m.abarIm == null ? 0 : m.abarIm[i];
        double cr = m.cRe[i];
        double ci = m.cIm == null ? 0 : m.cIm[i];
        for (int k = 0; k < length; k++) {
          kernel[kOff + k * dim + d] += cr * wr - ci * wi;
          double nr = ar * wr - ai * wi;
          wi = ar * wi + ai * wr;
          wr = nr;
        }
      }
    }
  }

  /** The causal convolution of {@code u} with a kernel from {@link #kernel}, plus the D-skip. */
  public static void convolve(DiagonalSsm m, double[] kernel, int kOff, double[] u, int uOff, double[] y, int yOff,
      int length) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    final int dim = m.channels;
    Checks.range("kernel", kernel, kOff, (long) length * dim);
    Checks.range("u", u, uOff, (long) length * dim);
    Checks.range("y", y, yOff, (long) length * dim);
    if (y == u && yOff < uOff + (long) length * dim && uOff < yOff + (long) length * dim) {
      Checks.fail("y: expected a region that does not overlap u, got the same array at offset %d (u at %d)", yOff, uOff);
    }
    for (int t = 0; t < length; t++) {
      for (int d = 0; d < dim; d++) {
        double acc = m.dSkip == null ? 0 : m.dSkip[d] * u[uOff + t * dim + d];
        for (int k = 0; k <= t; k++) {
          acc += kernel[kOff + k * dim + d] * u[uOff + (t - k) * dim + d];
        }
        y[yOff + t * dim + d] = acc;
      }
    }
  }
}
