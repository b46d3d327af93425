package org.sparkssm.linalg;

import org.sparkssm.Checks;

/**
 * The matrix exponential {@code exp(A) = Σ_k A^k / k!} of a dense real matrix, by the
 * scaling-and-squaring algorithm of N. J. Higham, "The scaling and squaring method for the matrix
 * exponential revisited", SIAM J. Matrix Anal. Appl. 26(4), 2005 (Algorithm 2.3): a diagonal
 * Padé approximant r_m of degree m ∈ {3, 5, 7, 9, 13} chosen from the 1-norm of A, and for
 * m = 13 the scaling {@code exp(A) = r_13(A / 2^s)^(2^s)}. Float64 throughout; the thresholds θ_m
 * bound the backward error by the unit roundoff 2^-53.
 */
public final class Expm {
  private Expm() {}

  // θ_m of Higham (2005), Table 2.3: largest ‖A‖_1 for which r_m has backward error <= 2^-53.
  private static final double THETA_3 = 1.495585217958292e-2;
  private static final double THETA_5 = 2.539398330063230e-1;
  private static final double THETA_7 = 9.504178996162932e-1;
  private static final double THETA_9 = 2.097847961257068e0;
  private static final double THETA_13 = 5.371920351148152e0;

  // Coefficients b_0..b_m of the numerator p_m(x) = Σ b_j x^j of the [m/m] Padé approximant of e^x
  // (the denominator is p_m(-x)).
  private static final double[] B3 = {120, 60, 12, 1};
  private static final double[] B5 = {30240, 15120, 3360, 420, 30, 1};
  private static final double[] B7 = {17297280, 8648640, 1995840, 277200, 25200, 1512, 56, 1};
  private static final double[] B9 = {17643225600.0, 8821612800.0, 2075673600, 302702400, 30270240,
      2162160, 110880, 3960, 90, 1};
  private static final double[] B13 = {64764752532480000.0, 32382376266240000.0, 7771770303897600.0,
      1187353796428800.0, 129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0,
      1323241920, 40840800, 960960, 16380, 182, 1};

  /**
   * Returns {@code exp(A)}.
   *
   * @param a the n×n matrix A, row-major {@code a[i * n + j]}; not modified
   * @param n the order, {@code >= 1}
   * @return exp(A), n×n row-major, freshly allocated
   * @throws IllegalArgumentException if the shape is wrong or A has a non-finite entry
   */
  public static double[] expm(double[] a, int n) {
    Checks.positive("n", n);
    Checks.length("a", a, n * n, "n*n = " + n + "*" + n);
    Checks.allFinite("a", a);
    return expmUnchecked(a, n);
  }

  /** {@link #expm} without validation, for callers in this library that validated already. */
  static double[] expmUnchecked(double[] a, int n) {
    double norm = Dense.norm1(a, n);
    if (norm <= THETA_3) {
      return pade(a, n, B3);
    }
    if (norm <= THETA_5) {
      return pade(a, n, B5);
    }
    if (norm <= THETA_7) {
      return pade(a, n, B7);
    }
    if (norm <= THETA_9) {
      return pade(a, n, B9);
    }
    int s = Math.max(0, (int) Math.ceil(Math.log(norm / THETA_13) / Math.log(2)));
    double[] scaled = a.clone();
    double f = Math.scalb(1.0, -s); // exact: a power of two
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= f;
    }
    double[] x = pade13(scaled, n);
    for (int k = 0; k < s; k++) {
      x = Dense.mul(x, x, n, n, n);
    }
    return x;
  }

  /** r_m(A) = q_m(A)^-1 p_m(A) for m in {3,5,7,9}: U = A Σ b_{2j+1} A^{2j}, V = Σ b_{2j} A^{2j}. */
  private static double[] pade(double[] a, int n, double[] b) {
    int m = b.length - 1;
    int nn = n * n;
    double[] a2 = Dense.mul(a, a, n, n, n);
    double[] u = new double[nn];
    double[] v = new double[nn];
    double[] pow = identity(n); // A^{2j}
    for (int j = 0; 2 * j <= m; j++) {
      if (j > 0) {
        pow = Dense.mul(pow, a2, n, n, n);
      }
      double be = b[2 * j];
      double bo = 2 * j + 1 <= m ? b[2 * j + 1] : 0;
      for (int i = 0; i < nn; i++) {
        v[i] += be * pow[i];
        u[i] += bo * pow[i];
      }
    }
    return solvePade(Dense.mul(a, u, n, n, n), v, n);
  }

  /** r_13(A) with Higham's evaluation scheme using only A^2, A^4, A^6 (6 products). */
  private static double[] pade13(double[] a, int n) {
    int nn = n * n;
    double[] b = B13;
    double[] a2 = Dense.mul(a, a, n, n, n);
    double[] a4 = Dense.mul(a2, a2, n, n, n);
    double[] a6 = Dense.mul(a4, a2, n, n, n);
    double[] t = new double[nn];
    for (int i = 0; i < nn; i++) {
      t[i] = b[13] * a6[i] + b[11] * a4[i] + b[9] * a2[i];
    }
    double[] u = Dense.mul(a6, t, n, n, n);
    for (int i = 0; i < nn; i++) {
      u[i] += b[7] * a6[i] + b[5] * a4[i] + b[3] * a2[i];
    }
    for (int i = 0; i < n; i++) {
      u[i * n + i] += b[1];
    }
    u = Dense.mul(a, u, n, n, n);
    for (int i = 0; i < nn; i++) {
      t[i] = b[12] * a6[i] + b[10] * a4[i] + b[8] * a2[i];
    }
    double[] v = Dense.mul(a6, t, n, n, n);
    for (int i = 0; i < nn; i++) {
      v[i] += b[6] * a6[i] + b[4] * a4[i] + b[2] * a2[i];
    }
    for (int i = 0; i < n; i++) {
      v[i * n + i] += b[0];
    }
    return solvePade(u, v, n);
  }

  /** Solves (V - U) X = (V + U): q_m(A) = V - U, p_m(A) = V + U. */
  private static double[] solvePade(double[] u, double[] v, int n) {
    int nn = n * n;
    double[] q = new double[nn];
    double[] p = new double[nn];
    for (int i = 0; i < nn; i++) {
      q[i] = v[i] - u[i];
      p[i] = v[i] + u[i];
    }
    return Lu.solveUnchecked("a", q, n, p, n);
  }

  private static double[] identity(int n) {
    double[] id = new double[n * n];
    for (int i = 0; i < n; i++) {
      id[i * n + i] = 1;
    }
    return id;
  }
}
