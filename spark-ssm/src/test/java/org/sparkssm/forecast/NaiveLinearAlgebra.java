package org.sparkssm.forecast;

/**
 * Textbook dense linear algebra for the forecast tests' references, written for clarity and
 * independent of the library's solvers ({@code org.sparkssm.linalg.Lu}, {@link Cholesky}): matrices
 * are {@code double[rows][cols]}, every routine works on copies.
 */
final class NaiveLinearAlgebra {
  private NaiveLinearAlgebra() {}

  static double[][] identity(int n) {
    double[][] i = new double[n][n];
    for (int k = 0; k < n; k++) {
      i[k][k] = 1;
    }
    return i;
  }

  /** A (rows×cols) from a row-major array. */
  static double[][] fromRowMajor(double[] a, int rows, int cols) {
    double[][] m = new double[rows][cols];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        m[i][j] = a[i * cols + j];
      }
    }
    return m;
  }

  static double[][] multiply(double[][] a, double[][] b) {
    int n = a.length;
    int k = b.length;
    int m = b[0].length;
    double[][] c = new double[n][m];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < m; j++) {
        double s = 0;
        for (int t = 0; t < k; t++) {
          s += a[i][t] * b[t][j];
        }
        c[i][j] = s;
      }
    }
    return c;
  }

  static double[] multiply(double[][] a, double[] x) {
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

  static double[][] transpose(double[][] a) {
    double[][] t = new double[a[0].length][a.length];
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[0].length; j++) {
        t[j][i] = a[i][j];
      }
    }
    return t;
  }

  /**
   * X with A X = B (A n×n, B n×m) by Gaussian elimination with partial pivoting on copies.
   *
   * @throws ArithmeticException when a pivot is exactly zero
   */
  static double[][] solve(double[][] a, double[][] b) {
    int n = a.length;
    int m = b[0].length;
    double[][] u = new double[n][];
    double[][] x = new double[n][];
    for (int i = 0; i < n; i++) {
      u[i] = a[i].clone();
      x[i] = b[i].clone();
    }
    for (int col = 0; col < n; col++) {
      int pivot = col;
      for (int r = col + 1; r < n; r++) {
        if (Math.abs(u[r][col]) > Math.abs(u[pivot][col])) {
          pivot = r;
        }
      }
      if (u[pivot][col] == 0) {
        throw new ArithmeticException("singular matrix at column " + col);
      }
      double[] t = u[col];
      u[col] = u[pivot];
      u[pivot] = t;
      t = x[col];
      x[col] = x[pivot];
      x[pivot] = t;
      for (int r = col + 1; r < n; r++) {
        double f = u[r][col] / u[col][col];
        for (int c = col; c < n; c++) {
          u[r][c] -= f * u[col][c];
        }
        for (int c = 0; c < m; c++) {
          x[r][c] -= f * x[col][c];
        }
      }
    }
    for (int r = n - 1; r >= 0; r--) {
      for (int c = 0; c < m; c++) {
        double s = x[r][c];
        for (int k = r + 1; k < n; k++) {
          s -= u[r][k] * x[k][c];
        }
        x[r][c] = s / u[r][r];
      }
    }
    return x;
  }

  /** The bilinear (Tustin) rule: {@code Ā = (I - Δ/2 A)⁻¹ (I + Δ/2 A)}, {@code B̄ = (I - Δ/2 A)⁻¹ Δ B}. */
  static double[][][] bilinear(double[][] a, double[] b, double dt) {
    int n = a.length;
    double[][] lhs = new double[n][n];
    double[][] rhs = new double[n][n + 1];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double delta = i == j ? 1 : 0;
        lhs[i][j] = delta - dt / 2 * a[i][j];
        rhs[i][j] = delta + dt / 2 * a[i][j];
      }
      rhs[i][n] = dt * b[i];
    }
    double[][] x = solve(lhs, rhs);
    double[][] abar = new double[n][n];
    double[][] bbar = new double[n][1];
    for (int i = 0; i < n; i++) {
      System.arraycopy(x[i], 0, abar[i], 0, n);
      bbar[i][0] = x[i][n];
    }
    return new double[][][] {abar, bbar};
  }
}
