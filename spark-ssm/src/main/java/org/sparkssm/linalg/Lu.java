package org.sparkssm.linalg;

import org.sparkssm.Checks;

/**
 * Dense LU factorization with partial (row) pivoting, {@code P A = L U}, used to solve
 * {@code A X = B}. Matrices are row-major: {@code A[i * n + j]}, {@code B[i * m + k]}.
 */
public final class Lu {
  private Lu() {}

  /**
   * Solves {@code A X = B} for X with Gaussian elimination and partial pivoting.
   *
   * @param a the n×n matrix A, row-major {@code a[i * n + j]}; not modified
   * @param n the order of A, {@code >= 1}
   * @param b the right-hand sides B, n×m row-major {@code b[i * m + k]}; not modified
   * @param m the number of right-hand sides, {@code >= 1}
   * @return X, n×m row-major
   * @throws IllegalArgumentException naming {@code a} when A is (numerically) singular, or naming
   *     the argument whose shape or values are invalid
   */
  public static double[] solve(double[] a, int n, double[] b, int m) {
    return solve("a", a, n, b, m);
  }

  /**
   * As {@link #solve(double[], int, double[], int)}, with {@code name} used for A in error messages
   * (callers that build A from their own arguments, e.g. {@code I - Δ A / 2}, name it so).
   */
  public static double[] solve(String name, double[] a, int n, double[] b, int m) {
    Checks.positive("n", n);
    Checks.positive("m", m);
    Checks.length(name, a, n * n, "n*n = " + n + "*" + n);
    Checks.length("b", b, n * m, "n*m = " + n + "*" + m);
    Checks.allFinite(name, a);
    Checks.allFinite("b", b);
    return solveUnchecked(name, a.clone(), n, b.clone(), m);
  }

  /**
   * Solves in place without validating shapes: {@code lu} is overwritten by the factors and
   * {@code x} (holding B on entry) by the solution, which is returned.
   */
  static double[] solveUnchecked(String name, double[] lu, int n, double[] x, int m) {
    double maxAbs = 0;
    for (int i = 0; i < n * n; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(lu[i]));
    }
    // A pivot below this is rounding noise relative to the matrix: treat the matrix as singular
    // rather than returning a solution dominated by cancellation.
    double tiny = maxAbs * n * Math.ulp(1.0);
    for (int col = 0; col < n; col++) {
      int piv = col;
      double best = Math.abs(lu[col * n + col]);
      for (int r = col + 1; r < n; r++) {
        double v = Math.abs(lu[r * n + col]);
        if (v > best) {
          best = v;
          piv = r;
        }
      }
      if (!(best > tiny)) {
        Checks.fail("%s: expected a nonsingular %dx%d matrix, got a singular one (pivot %s in column %d)",
            name, n, n, best, col);
      }
      if (piv != col) {
        swapRows(lu, n, piv, col);
        swapRows(x, m, piv, col);
      }
      double inv = 1.0 / lu[col * n + col];
      for (int r = col + 1; r < n; r++) {
        double f = lu[r * n + col] * inv;
        if (f == 0) {
          continue;
        }
        lu[r * n + col] = f;
        for (int c = col + 1; c < n; c++) {
          lu[r * n + c] -= f * lu[col * n + c];
        }
        for (int k = 0; k < m; k++) {
          x[r * m + k] -= f * x[col * m + k];
        }
      }
    }
    // Back substitution U X = Y (Y already in x after the forward eliminations above).
    for (int i = n - 1; i >= 0; i--) {
      double inv = 1.0 / lu[i * n + i];
      for (int k = 0; k < m; k++) {
        double s = x[i * m + k];
        for (int j = i + 1; j < n; j++) {
          s -= lu[i * n + j] * x[j * m + k];
        }
        x[i * m + k] = s * inv;
      }
    }
    return x;
  }

  private static void swapRows(double[] a, int cols, int r1, int r2) {
    int o1 = r1 * cols;
    int o2 = r2 * cols;
    for (int c = 0; c < cols; c++) {
      double t = a[o1 + c];
      a[o1 + c] = a[o2 + c];
      a[o2 + c] = t;
    }
  }
}
