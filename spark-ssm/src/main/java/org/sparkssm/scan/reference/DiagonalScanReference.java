package org.sparkssm.scan.reference;

/**
 * The float64 reference twin of {@code DiagonalScan}, written straight from the S4D recurrence
 * with no optimisation: one complex multiply-add per state component per step, the readout
 * {@code y_t = Re Σ_n C h_t + D u_t}. A real system is the complex one with zero imaginary parts.
 *
 * <p>Arguments are plain (channel, state) matrices {@code [d][n]} and sequences {@code [t][d]} so
 * the twin shares no indexing code with the kernel it checks.
 */
public final class DiagonalScanReference {
  private DiagonalScanReference() {}

  /**
   * @param aRe Ā real part (D, N); {@code aIm} imaginary part or null
   * @param u input (L, D)
   * @param hRe initial state real part (D, N), updated to the final state; {@code hIm} likewise or null
   * @return y (L, D)
   */
  public static double[][] scan(double[][] aRe, double[][] aIm, double[][] bRe, double[][] bIm, double[][] cRe,
      double[][] cIm, double[] dSkip, double[][] u, double[][] hRe, double[][] hIm) {
    int length = u.length;
    int dim = aRe.length;
    double[][] y = new double[length][dim];
    for (int t = 0; t < length; t++) {
      for (int d = 0; d < dim; d++) {
        double out = 0;
        for (int n = 0; n < aRe[d].length; n++) {
          double ar = aRe[d][n];
          double ai = aIm == null ? 0 : aIm[d][n];
          double hr = hRe[d][n];
          double hi = hIm == null ? 0 : hIm[d][n];
          // h_t = Ā h_{t-1} + B̄ u_t
          double newRe = ar * hr - ai * hi + bRe[d][n] * u[t][d];
          double newIm = ar * hi + ai * hr + (bIm == null ? 0 : bIm[d][n]) * u[t][d];
          hRe[d][n] = newRe;
          if (hIm != null) {
            hIm[d][n] = newIm;
          }
          // Re(C h_t)
          out += cRe[d][n] * newRe - (cIm == null ? 0 : cIm[d][n]) * newIm;
        }
        y[t][d] = out + (dSkip == null ? 0 : dSkip[d] * u[t][d]);
      }
    }
    return y;
  }
}
