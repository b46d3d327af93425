package org.sparkssm.scan.reference;

/**
 * The float64 reference twin of {@code S5Scan}, with complex numbers as {@code double[2]}:
 * {@code h_t = Λ̄ h_{t-1} + B̄ u_t}, {@code y_t = Re(C̃ h_t) + D u_t}.
 */
public final class S5ScanReference {
  private S5ScanReference() {}

  /**
   * @param lambda (P)[2]; b (P, H)[2]; c (H, P)[2]; dSkip (H) or null; u (L, H)
   * @param h (P)[2], updated to the final state
   * @return y (L, H)
   */
  public static double[][] scan(double[][] lambda, double[][][] b, double[][][] c, double[] dSkip, double[][] u,
      double[][] h) {
    int length = u.length;
    int modes = lambda.length;
    int features = c.length;
    double[][] y = new double[length][features];
    for (int t = 0; t < length; t++) {
      for (int p = 0; p < modes; p++) {
        double[] bu = {0, 0};
        for (int j = 0; j < features; j++) {
          bu[0] += b[p][j][0] * u[t][j];
          bu[1] += b[p][j][1] * u[t][j];
        }
        double[] lh = mul(lambda[p], h[p]);
        h[p] = new double[] {lh[0] + bu[0], lh[1] + bu[1]};
      }
      for (int i = 0; i < features; i++) {
        double re = 0;
        for (int p = 0; p < modes; p++) {
          re += mul(c[i][p], h[p])[0];
        }
        y[t][i] = re + (dSkip == null ? 0 : dSkip[i] * u[t][i]);
      }
    }
    return y;
  }

  private static double[] mul(double[] x, double[] y) {
    return new double[] {x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]};
  }
}
