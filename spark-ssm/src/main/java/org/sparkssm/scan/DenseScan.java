package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.DenseChunkSummary;

/**
 * The dense LTI scan for small N (HiPPO memories):
 *
 * <pre>
 *   h_t = Ā h_{t-1} + B̄ u_t          (N) = (N, N)(N) + (N, M)(M)
 *   y_t = C h_t + D u_t              (P) = (P, N)(N) + (P, M)(M)
 * </pre>
 *
 * <p>Time-major sequences: {@code u[uOff + t * M + j]}, {@code y[yOff + t * P + i]}; the state
 * {@code h} (N) holds the initial state on entry and the final state on return. Cost O(N² + NM)
 * per step, so it is meant for N up to a few hundred; one workspace of N doubles is allocated per
 * call, nothing per step.
 */
public final class DenseScan {
  private DenseScan() {}

  /** Scans {@code length} steps, writing outputs {@code y}; requires a model with a readout C. */
  public static void scan(DenseSsm m, double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    if (m.c == null) {
      Checks.fail("model: expected a readout C to produce outputs, got none (use scanStates)");
    }
    Checks.range("y", y, yOff, (long) length * m.outputs);
    run(m, u, uOff, y, yOff, null, 0, length, h);
  }

  /** Scans {@code length} steps, writing the state after each step: {@code states[sOff + t * N + i] = h_t[i]}. */
  public static void scanStates(DenseSsm m, double[] u, int uOff, double[] states, int sOff, int length,
      double[] h) {
    checkArgs(m, u, uOff, length, h);
    Checks.range("states", states, sOff, (long) length * m.stateDim);
    run(m, u, uOff, null, 0, states, sOff, length, h);
  }

  /** Advances the state over {@code length} steps without outputs. */
  public static void advance(DenseSsm m, double[] u, int uOff, int length, double[] h) {
    checkArgs(m, u, uOff, length, h);
    run(m, u, uOff, null, 0, null, 0, length, h);
  }

  /** The chunk's summary: {@code Ā^L} and the end state from zero (see {@link DenseChunkSummary}). */
  public static DenseChunkSummary summarize(DenseSsm m, double[] u, int uOff, int length) {
    double[] end = new double[m.stateDim];
    advance(m, u, uOff, length, end);
    return DenseChunkSummary.of(m.stateDim, matrixPower(m.abar, m.stateDim, length), end, length);
  }

  private static void checkArgs(DenseSsm m, double[] u, int uOff, int length, double[] h) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    Checks.range("u", u, uOff, (long) length * m.inputs);
    Checks.length("h", h, m.stateDim, "N");
  }

  private static void run(DenseSsm m, double[] u, int uOff, double[] y, int yOff, double[] states, int sOff,
      int length, double[] h) {
    final int n = m.stateDim;
    final int in = m.inputs;
    final int out = m.outputs;
    final double[] a = m.abar;
    final double[] b = m.bbar;
    double[] next = new double[n];
    for (int t = 0; t < length; t++) {
      final int ut = uOff + t * in;
      for (int i = 0; i < n; i++) {
        double acc = 0;
        int row = i * n;
        for (int j = 0; j < n; j++) {
          acc += a[row + j] * h[j];
        }
        int brow = i * in;
        for (int j = 0; j < in; j++) {
          acc += b[brow + j] * u[ut + j];
        }
        next[i] = acc;
      }
      // Swap by copy: h must stay the caller's array.
      System.arraycopy(next, 0, h, 0, n);
      if (states != null) {
        System.arraycopy(h, 0, states, sOff + t * n, n);
      }
      if (y != null) {
        final int yt = yOff + t * out;
        for (int i = 0; i < out; i++) {
          double acc = 0;
          int crow = i * n;
          for (int j = 0; j < n; j++) {
            acc += m.c[crow + j] * h[j];
          }
          if (m.d != null) {
            int drow = i * in;
            for (int j = 0; j < in; j++) {
              acc += m.d[drow + j] * u[ut + j];
            }
          }
          y[yt + i] = acc;
        }
      }
    }
  }

  /** {@code A^k} (n, n) by repeated squaring. */
  static double[] matrixPower(double[] a, int n, long k) {
    double[] result = new double[n * n];
    for (int i = 0; i < n; i++) {
      result[i * n + i] = 1.0;
    }
    double[] base = a.clone();
    for (long e = k; e > 0; e >>= 1) {
      if ((e & 1) != 0) {
        result = multiply(result, base, n);
      }
      if (e > 1) {
        base = multiply(base, base, n);
      }
    }
    return result;
  }

  private static double[] multiply(double[] x, double[] y, int n) {
    double[] z = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        double xik = x[i * n + k];
        for (int j = 0; j < n; j++) {
          z[i * n + j] += xik * y[k * n + j];
        }
      }
    }
    return z;
  }
}
