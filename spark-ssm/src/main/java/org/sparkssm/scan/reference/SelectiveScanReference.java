package org.sparkssm.scan.reference;

/**
 * The slow float64 twin of {@link org.sparkssm.scan.SelectiveScan}: the Mamba S6 selective scan
 * written straight from the equations of {@code selective_scan_ref} (state-spaces/mamba), one
 * array per intermediate, no fusion, no vectorization and no validation. Tests compare the fast
 * kernel with it; nothing else should call it.
 *
 * <pre>
 *   Δ_{t,d}   = softplus(delta_{t,d} + deltaBias_d)   (or without softplus)
 *   dA        = exp(Δ_{t,d} A_{d,n})
 *   h_{d,n}  ← dA h_{d,n} + Δ_{t,d} B_{t,g(d),n} u_{t,d}
 *   y_{t,d}   = Σ_n C_{t,g(d),n} h_{d,n} + Dskip_d u_{t,d}
 *   y_{t,d}  ← y_{t,d} silu(z_{t,d})                   (when z is given)
 * </pre>
 * with {@code g(d) = d / (D / G)}. Layout as in {@link org.sparkssm}: {@code u, delta, z, y} are
 * {@code [t * D + d]}, {@code B, C} are {@code [(t * G + g) * N + n]}, {@code A, h} are
 * {@code [d * N + n]}; all from index 0.
 */
public final class SelectiveScanReference {
  private SelectiveScanReference() {}

  /** torch {@code F.softplus} with its default threshold 20: {@code x} above it, else {@code log(1 + e^x)}. */
  public static double softplus(double x) {
    return x > 20.0 ? x : Math.log1p(Math.exp(x));
  }

  /** {@code silu(x) = x · sigmoid(x)}. */
  public static double silu(double x) {
    return x * (1.0 / (1.0 + Math.exp(-x)));
  }

  /**
   * Scans {@code L} steps from the state in {@code h} (length D*N), leaves the final state there
   * and returns {@code y} (length L*D). {@code dSkip}, {@code deltaBias} and {@code z} may be null.
   */
  public static double[] scan(int D, int N, int G, double[] A, double[] dSkip, double[] deltaBias,
      boolean deltaSoftplus, double[] u, double[] delta, double[] B, double[] C, double[] z, int L,
      double[] h) {
    int channelsPerGroup = D / G;

    // Δ for every step and channel, as the reference does before the recurrence.
    double[] dt = new double[L * D];
    for (int t = 0; t < L; t++) {
      for (int d = 0; d < D; d++) {
        double v = delta[t * D + d];
        if (deltaBias != null) {
          v = v + deltaBias[d];
        }
        if (deltaSoftplus) {
          v = softplus(v);
        }
        dt[t * D + d] = v;
      }
    }

    // deltaA = exp(Δ A) and deltaB_u = Δ B u, indexed [t][d][n].
    double[] deltaA = new double[L * D * N];
    double[] deltaBu = new double[L * D * N];
    for (int t = 0; t < L; t++) {
      for (int d = 0; d < D; d++) {
        int g = d / channelsPerGroup;
        for (int n = 0; n < N; n++) {
          deltaA[(t * D + d) * N + n] = Math.exp(dt[t * D + d] * A[d * N + n]);
          deltaBu[(t * D + d) * N + n] = dt[t * D + d] * B[(t * G + g) * N + n] * u[t * D + d];
        }
      }
    }

    double[] y = new double[L * D];
    for (int t = 0; t < L; t++) {
      for (int d = 0; d < D; d++) {
        int g = d / channelsPerGroup;
        double sum = 0.0;
        for (int n = 0; n < N; n++) {
          h[d * N + n] = deltaA[(t * D + d) * N + n] * h[d * N + n] + deltaBu[(t * D + d) * N + n];
          sum += h[d * N + n] * C[(t * G + g) * N + n];
        }
        y[t * D + d] = sum;
      }
    }

    for (int t = 0; t < L; t++) {
      for (int d = 0; d < D; d++) {
        double out = y[t * D + d];
        if (dSkip != null) {
          out = out + u[t * D + d] * dSkip[d];
        }
        if (z != null) {
          out = out * silu(z[t * D + d]);
        }
        y[t * D + d] = out;
      }
    }
    return y;
  }
}
