package org.sparkssm.forecast;

import org.sparkssm.Checks;

/**
 * Cholesky factorization {@code A = R Rᵀ} (R lower triangular) of a symmetric positive definite
 * matrix and the solve {@code A X = B}. Ridge normal equations are SPD once the penalty is
 * positive, and Cholesky is both the cheapest (n³/3) and the most stable direct solve for them;
 * a failed factorization is the one symptom of a singular system, reported to the caller by name.
 */
final class Cholesky {
  private Cholesky() {}

  /**
   * Solves {@code A X = B} in place: {@code a} (n×n row-major, only the lower triangle is read) is
   * overwritten by its factor, {@code b} (n×m row-major) by X.
   *
   * @param name what A is, for the error message
   * @throws IllegalArgumentException naming A when it is not (numerically) positive definite
   */
  static void solveInPlace(String name, double[] a, int n, double[] b, int m) {
    for (int j = 0; j < n; j++) {
      double d = a[j * n + j];
      // A pivot within rounding of its diagonal entry is the null direction of a singular matrix,
      // not a positive one: it comes out as noise of either sign, typically within n·ε·a_jj.
      double tiny = n * Math.ulp(1.0) * Math.abs(d);
      for (int k = 0; k < j; k++) {
        d -= a[j * n + k] * a[j * n + k];
      }
      if (!(d > tiny) || !Double.isFinite(d)) {
        Checks.fail("%s: expected a positive definite matrix, got pivot %s at row %d of %d"
            + " (a singular system: add a ridge penalty or drop constant features)", name, d, j, n);
      }
      double r = Math.sqrt(d);
      a[j * n + j] = r;
      double inv = 1.0 / r;
      for (int i = j + 1; i < n; i++) {
        double s = a[i * n + j];
        int ri = i * n;
        int rj = j * n;
        for (int k = 0; k < j; k++) {
          s -= a[ri + k] * a[rj + k];
        }
        a[ri + j] = s * inv;
      }
    }
    // Forward substitution R Z = B, then back substitution Rᵀ X = Z, row by row over all m columns
    // so the inner loops run along contiguous rows of b.
    for (int i = 0; i < n; i++) {
      int bi = i * m;
      for (int k = 0; k < i; k++) {
        double f = a[i * n + k];
        if (f != 0) {
          int bk = k * m;
          for (int c = 0; c < m; c++) {
            b[bi + c] -= f * b[bk + c];
          }
        }
      }
      double inv = 1.0 / a[i * n + i];
      for (int c = 0; c < m; c++) {
        b[bi + c] *= inv;
      }
    }
    for (int i = n - 1; i >= 0; i--) {
      int bi = i * m;
      for (int k = i + 1; k < n; k++) {
        double f = a[k * n + i];
        if (f != 0) {
          int bk = k * m;
          for (int c = 0; c < m; c++) {
            b[bi + c] -= f * b[bk + c];
          }
        }
      }
      double inv = 1.0 / a[i * n + i];
      for (int c = 0; c < m; c++) {
        b[bi + c] *= inv;
      }
    }
  }
}
