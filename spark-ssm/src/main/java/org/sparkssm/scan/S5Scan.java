package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.ChunkSummary;

/**
 * The S5 scan: one complex diagonal state of P modes driven by all H inputs at once (MIMO).
 *
 * <pre>
 *   h_t[p] = λ̄[p] h_{t-1}[p] + Σ_j B̄[p,j] u_t[j]           (P)
 *   y_t[i] = Re Σ_p C̃[i,p] h_t[p] + D[i] u_t[i]            (H)
 * </pre>
 *
 * <p>Sequences are time-major ({@code u[uOff + t * H + j]}, {@code y[yOff + t * H + i]}); the
 * state {@code h} (2P, real parts first) holds the initial state on entry and the final state on
 * return. Cost O(P·H) per step. Nothing is allocated.
 */
public final class S5Scan {
  private S5Scan() {}

  public static void scan(S5Ssm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    Checks.range("y", y, yOff, (long) length * m.features);
    if (y == u && yOff < uOff + (long) length * m.features && uOff < yOff + (long) length * m.features) {
      // Each output step reads all H inputs of its step, which an overlapping y would already have overwritten.
      Checks.fail("y: expected a region that does not overlap u, got the same array at offset %d (u at %d)", yOff, uOff);
    }
    run(m, u, uOff, y, yOff, length, h);
  }

  /** Advances the state without outputs. */
  public static void advance(S5Ssm m, double[] u, int uOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    run(m, u, uOff, null, 0, length, h);
  }

  /** The chunk's complex summary over the P modes: {@code λ̄^L} and the end state from zero. */
  public static ChunkSummary summarize(S5Ssm m, double[] u, int uOff, int length) {
    double[] end = new double[m.stateSize()];
    advance(m, u, uOff, length, end);
    int p = m.modes;
    double[] decayRe = new double[p];
    double[] decayIm = new double[p];
    double[] pow = new double[2];
    for (int i = 0; i < p; i++) {
      DiagonalScan.powComplex(m.lambdaRe[i], m.lambdaIm[i], length, pow);
      decayRe[i] = pow[0];
      decayIm[i] = pow[1];
    }
    return ChunkSummary.complex(decayRe, decayIm, java.util.Arrays.copyOfRange(end, 0, p),
        java.util.Arrays.copyOfRange(end, p, 2 * p), length);
  }

  private static void checkArgs(S5Ssm m, double[] u, int uOff, int length, double[] h) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    Checks.range("u", u, uOff, (long) length * m.features);
    Checks.length("h", h, m.stateSize(), "2P");
  }

  private static void run(S5Ssm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    final int hDim = m.features;
    final int p = m.modes;
    final double[] lr = m.lambdaRe;
    final double[] li = m.lambdaIm;
    final double[] br = m.bRe;
    final double[] bi = m.bIm;
    for (int t = 0; t < length; t++) {
      final int ut = uOff + t * hDim;
      for (int k = 0; k < p; k++) {
        double buRe = 0;
        double buIm = 0;
        int row = k * hDim;
        for (int j = 0; j < hDim; j++) {
          double uj = u[ut + j];
          buRe += br[row + j] * uj;
          buIm += bi[row + j] * uj;
        }
        double hr = h[k];
        double hi = h[p + k];
        h[k] = lr[k] * hr - li[k] * hi + buRe;
        h[p + k] = lr[k] * hi + li[k] * hr + buIm;
      }
      if (y != null) {
        final int yt = yOff + t * hDim;
        for (int i = 0; i < hDim; i++) {
          double acc = 0;
          int row = i * p;
          for (int k = 0; k < p; k++) {
            acc += m.cRe[row + k] * h[k] - m.cIm[row + k] * h[p + k];
          }
          y[yt + i] = m.dSkip == null ? acc : acc + m.dSkip[i] * u[ut + i];
        }
      }
    }
  }
}
