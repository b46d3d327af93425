package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.ChunkSummary;

/**
 * The diagonal LTI scan (S4D, LRU, diagonal HiPPO), real or complex, over D channels with N state
 * components each:
 *
 * <pre>
 *   h_t[d,n] = Ā[d,n] · h_{t-1}[d,n] + B̄[d,n] · u_t[d]            (D, N)
 *   y_t[d]   = Re Σ_n C[d,n] · h_t[d,n] + Dskip[d] · u_t[d]        (D)
 * </pre>
 *
 * <p>Inputs and outputs are time-major ({@code u[uOff + t * D + d]}, {@code y[yOff + t * D + d]},
 * t in [0, L)); {@code y} may be {@code u} at the same offset. The state {@code h} (layout in
 * {@link DiagonalSsm}) holds the initial state on entry and the final state on return, so scanning
 * a sequence in consecutive chunks with the same {@code h} equals scanning it at once. Nothing is
 * allocated. Arithmetic is float64.
 *
 * <p>When {@link VectorSupport#ENABLED}, channels with {@code N >= } the vector width run a Vector
 * API kernel that keeps each channel's state in registers for four steps at a time; otherwise an
 * indexed scalar loop. Both are tested against {@code DiagonalScanReference}.
 */
public final class DiagonalScan {
  private DiagonalScan() {}

  /** Scans {@code length} steps from the state in {@code h}, writing {@code y} and the final state into {@code h}. */
  public static void scan(DiagonalSsm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    Checks.range("y", y, yOff, (long) length * m.channels);
    if (length == 0) {
      return;
    }
    if (VectorSupport.ENABLED && m.stateDim >= DiagonalScanVector.LANES) {
      DiagonalScanVector.scan(m, u, uOff, y, yOff, length, h);
    } else if (m.isComplex()) {
      scanComplexScalar(m, u, uOff, y, yOff, length, h);
    } else {
      scanRealScalar(m, u, uOff, y, yOff, length, h);
    }
  }

  /**
   * {@link #scan} in consecutive chunks of at most {@code chunkSize} steps, carrying {@code h}:
   * the same result as one call, with the work split the way a streaming caller would.
   */
  public static void scanChunked(DiagonalSsm m, double[] u, int uOff, double[] y, int yOff, int length,
      double[] h, int chunkSize) {
    Checks.chunkSize("chunkSize", chunkSize);
    Checks.nonNegative("length (L)", length);
    int dim = m.channels;
    for (int start = 0; start < length; start += chunkSize) {
      int steps = Math.min(chunkSize, length - start);
      scan(m, u, uOff + start * dim, y, yOff + start * dim, steps, h);
    }
  }

  /**
   * Advances the state over {@code length} steps without computing outputs (the first pass of a
   * two-pass scan needs only end states).
   */
  public static void advance(DiagonalSsm m, double[] u, int uOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    int dim = m.channels;
    int n = m.stateDim;
    int size = dim * n;
    double[] ar = m.abarRe;
    double[] br = m.bbarRe;
    if (!m.isComplex()) {
      for (int t = 0; t < length; t++) {
        int ut = uOff + t * dim;
        for (int d = 0; d < dim; d++) {
          double ud = u[ut + d];
          for (int i = d * n, end = i + n; i < end; i++) {
            h[i] = ar[i] * h[i] + br[i] * ud;
          }
        }
      }
      return;
    }
    double[] ai = m.abarIm;
    double[] bi = m.bbarIm;
    for (int t = 0; t < length; t++) {
      int ut = uOff + t * dim;
      for (int d = 0; d < dim; d++) {
        double ud = u[ut + d];
        for (int i = d * n, end = i + n; i < end; i++) {
          double hr = h[i];
          double hi = h[size + i];
          h[i] = ar[i] * hr - ai[i] * hi + br[i] * ud;
          h[size + i] = ar[i] * hi + ai[i] * hr + bi[i] * ud;
        }
      }
    }
  }

  /**
   * The chunk's summary: decay product {@code Ā^L} and the end state from zero, so that the end
   * state from any incoming {@code h} is {@code Ā^L ⊙ h + end} (see {@link ChunkSummary}).
   */
  public static ChunkSummary summarize(DiagonalSsm m, double[] u, int uOff, int length) {
    double[] end = new double[m.stateSize()];
    advance(m, u, uOff, length, end);
    int size = m.channels * m.stateDim;
    if (!m.isComplex()) {
      double[] decay = new double[size];
      for (int i = 0; i < size; i++) {
        decay[i] = powReal(m.abarRe[i], length);
      }
      return ChunkSummary.real(decay, end, length);
    }
    double[] decayRe = new double[size];
    double[] decayIm = new double[size];
    double[] pow = new double[2];
    for (int i = 0; i < size; i++) {
      powComplex(m.abarRe[i], m.abarIm[i], length, pow);
      decayRe[i] = pow[0];
      decayIm[i] = pow[1];
    }
    double[] endRe = java.util.Arrays.copyOfRange(end, 0, size);
    double[] endIm = java.util.Arrays.copyOfRange(end, size, 2 * size);
    return ChunkSummary.complex(decayRe, decayIm, endRe, endIm, length);
  }

  private static void checkArgs(DiagonalSsm m, double[] u, int uOff, int length, double[] h) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    Checks.range("u", u, uOff, (long) length * m.channels);
    Checks.length("h", h, m.stateSize(), m.isComplex() ? "2*D*N for a complex system" : "D*N");
  }

  /** a^k by repeated squaring: exact for integer k, also for negative a. */
  static double powReal(double a, long k) {
    double result = 1.0;
    double base = a;
    for (long e = k; e > 0; e >>= 1) {
      if ((e & 1) != 0) {
        result *= base;
      }
      base *= base;
    }
    return result;
  }

  /** (re + i im)^k by repeated squaring into {@code out[0], out[1]}. */
  static void powComplex(double re, double im, long k, double[] out) {
    double rr = 1.0;
    double ri = 0.0;
    double br = re;
    double bi = im;
    for (long e = k; e > 0; e >>= 1) {
      if ((e & 1) != 0) {
        double t = rr * br - ri * bi;
        ri = rr * bi + ri * br;
        rr = t;
      }
      double t = br * br - bi * bi;
      bi = 2 * br * bi;
      br = t;
    }
    out[0] = rr;
    out[1] = ri;
  }

  static void scanRealScalar(DiagonalSsm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    for (int t = 0; t < length; t++) {
      stepReal(m.channels, m.stateDim, m.abarRe, m.bbarRe, m.cRe, m.dSkip, u, uOff + t * m.channels, y,
          yOff + t * m.channels, h);
    }
  }

  static void scanComplexScalar(DiagonalSsm m, double[] u, int uOff, double[] y, int yOff, int length,
      double[] h) {
    for (int t = 0; t < length; t++) {
      stepComplex(m.channels, m.stateDim, m.abarRe, m.abarIm, m.bbarRe, m.bbarIm, m.cRe, m.cIm, m.dSkip, u,
          uOff + t * m.channels, y, yOff + t * m.channels, h);
    }
  }

  /**
   * One step of the real recurrence for all D channels: reads {@code u[ut + d]}, writes
   * {@code y[yt + d]}. Shared by the fixed-step and the per-step-Δ scans, which differ only in
   * where Ā and B̄ come from.
   */
  static void stepReal(int dim, int n, double[] a, double[] b, double[] c, double[] skip, double[] u, int ut,
      double[] y, int yt, double[] h) {
    for (int d = 0; d < dim; d++) {
      double ud = u[ut + d];
      double acc = 0;
      for (int i = d * n, end = i + n; i < end; i++) {
        double hi = a[i] * h[i] + b[i] * ud;
        h[i] = hi;
        acc += c[i] * hi;
      }
      y[yt + d] = skip == null ? acc : acc + skip[d] * ud;
    }
  }

  /** One step of the complex recurrence for all D channels (state: real parts, then imaginary parts). */
  static void stepComplex(int dim, int n, double[] ar, double[] ai, double[] br, double[] bi, double[] cr,
      double[] ci, double[] skip, double[] u, int ut, double[] y, int yt, double[] h) {
    int size = dim * n;
    for (int d = 0; d < dim; d++) {
      double ud = u[ut + d];
      double acc = 0;
      for (int i = d * n, end = i + n; i < end; i++) {
        double hr = h[i];
        double hi = h[size + i];
        double nr = ar[i] * hr - ai[i] * hi + br[i] * ud;
        double ni = ar[i] * hi + ai[i] * hr + bi[i] * ud;
        h[i] = nr;
        h[size + i] = ni;
        acc += cr[i] * nr - ci[i] * ni;
      }
      y[yt + d] = skip == null ? acc : acc + skip[d] * ud;
    }
  }
}
