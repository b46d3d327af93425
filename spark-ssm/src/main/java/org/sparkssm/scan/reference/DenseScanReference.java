package org.sparkssm.scan.reference;

/**
 * The float64 reference twin of {@code DenseScan}, on plain matrices: {@code h_t = Ā h_{t-1} + B̄ u_t},
 * {@code y_t = C h_t + D u_t}, each product written as its own loop.
 */
public final class DenseScanReference {
  private DenseScanReference() {}

  /**
   * @param abar (N, N); bbar (N, M); c (P, N) or null; d (P, M) or null
   * @param u (L, M)
   * @param h (N), updated to the final state
   * @return y (L, P), or the states (L, N) when {@code c} is null
   */
  public static double[][] scan(double[][] abar, double[][] bbar, double[][] c, double[][] d, double[][] u, double[] h) {
    int length = u.length;
    double[][] out = new double[length][];
    for (int t = 0; t < length; t++) {
      double[] ah = matVec(abar, h);
      double[] bu = matVec(bbar, u[t]);
      for (int i = 0; i < h.length; i++) {
        h[i] = ah[i] + bu[i];
      }
      if (c == null) {
        out[t] = h.clone();
      } else {
        double[] y = matVec(c, h);
        if (d != null) {
          double[] du = matVec(d, u[t]);
          for (int i = 0; i < y.length; i++) {
            y[i] += du[i];
          }
        }
        out[t] = y;
      }
    }
    return out;
  }

  static double[] matVec(double[][] a, double[] x) {
    double[] y = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      double s = 0;
      for (int j = 0; j < x.length; j++) {
        s += a[i][j] * x[j];
      }
      y[i] = s;
    }
    return y;
  }
}
