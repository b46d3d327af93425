package org.sparkssm.linalg;

import org.sparkssm.Checks;

/**
 * Eigen-decomposition {@code A = V diag(λ) Vᵀ} of a real symmetric matrix by the cyclic Jacobi
 * method: sweeps of plane rotations, each zeroing one off-diagonal pair, until the off-diagonal
 * mass is at rounding level. Jacobi is slower than QR-based solvers (O(n^3) per sweep, ~6-10
 * sweeps) but simple and accurate to high relative precision, which is what initializations of a
 * few hundred states need. Immutable; accessors return copies.
 */
public final class SymmetricEigen {
  private static final int MAX_SWEEPS = 100;

  private final int n;
  private final double[] values;
  private final double[] vectors;

  private SymmetricEigen(int n, double[] values, double[] vectors) {
    this.n = n;
    this.values = values;
    this.vectors = vectors;
  }

  /**
   * Decomposes {@code A = V diag(λ) Vᵀ}.
   *
   * @param a the n×n symmetric matrix A, row-major {@code a[i * n + j]}; not modified. Asymmetry
   *     above 1e-12 of the largest entry is rejected; below it the mean {@code (A + Aᵀ)/2} is used.
   * @param n the order, {@code >= 1}
   * @throws IllegalArgumentException if the shape is wrong, A has non-finite entries or is not symmetric
   */
  public static SymmetricEigen of(double[] a, int n) {
    Checks.positive("n", n);
    Checks.length("a", a, n * n, "n*n = " + n + "*" + n);
    Checks.allFinite("a", a);
    double maxAbs = 0;
    for (int i = 0; i < n * n; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    }
    double[] s = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double aij = a[i * n + j];
        double aji = a[j * n + i];
        if (Math.abs(aij - aji) > 1e-12 * maxAbs) {
          Checks.fail("a: expected a symmetric matrix, got a[%d,%d] = %s but a[%d,%d] = %s",
              i, j, aij, j, i, aji);
        }
        s[i * n + j] = 0.5 * (aij + aji);
      }
    }
    return jacobi(s, n);
  }

  /** Cyclic Jacobi on {@code s} (overwritten); eigenpairs sorted by ascending eigenvalue. */
  private static SymmetricEigen jacobi(double[] s, int n) {
    double[] v = new double[n * n];
    for (int i = 0; i < n; i++) {
      v[i * n + i] = 1;
    }
    double frob2 = 0;
    for (int i = 0; i < n * n; i++) {
      frob2 += s[i] * s[i];
    }
    // Stop when the off-diagonal Frobenius mass is below ~unit roundoff of ‖A‖_F: further rotations
    // only move rounding noise around.
    double stop2 = frob2 * 1e-32;
    for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
      double off2 = 0;
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          off2 += s[p * n + q] * s[p * n + q];
        }
      }
      if (!(off2 > stop2)) {
        break;
      }
      for (int p = 0; p < n - 1; p++) {
        for (int q = p + 1; q < n; q++) {
          double apq = s[p * n + q];
          if (apq == 0) {
            continue;
          }
          rotate(s, v, n, p, q, apq);
        }
      }
    }
    double[] values = new double[n];
    for (int i = 0; i < n; i++) {
      values[i] = s[i * n + i];
    }
    // Selection sort by eigenvalue, permuting eigenvector columns alongside (n is small).
    for (int i = 0; i < n - 1; i++) {
      int min = i;
      for (int j = i + 1; j < n; j++) {
        if (values[j] < values[min]) {
          min = j;
        }
      }
      if (min != i) {
        double t = values[i];
        values[i] = values[min];
        values[min] = t;
        for (int r = 0; r < n; r++) {
          double tv = v[r * n + i];
          v[r * n + i] = v[r * n + min];
          v[r * n + min] = tv;
        }
      }
    }
    return new SymmetricEigen(n, values, v);
  }

  /**
   * Applies the rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) as {@code S ← Jᵀ S J},
   * {@code V ← V J}, with the angle chosen so the new S_pq is zero (the smaller of the two angles,
   * {@code |t| <= 1}, for stability).
   */
  private static void rotate(double[] a, double[] v, int n, int p, int q, double apq) {
    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
    if (theta == 0) {
      t = 1;
    } else if (Double.isInfinite(theta * theta)) {
      t = 0.5 / theta; // theta² overflowed: t ≈ 1/(2θ)
    }
    double c = 1 / Math.sqrt(t * t + 1);
    double s = t * c;
    for (int k = 0; k < n; k++) {
      double akp = a[k * n + p];
      double akq = a[k * n + q];
      a[k * n + p] = c * akp - s * akq;
      a[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) {
      double apk = a[p * n + k];
      double aqk = a[q * n + k];
      a[p * n + k] = c * apk - s * aqk;
      a[q * n + k] = s * apk + c * aqk;
    }
    a[p * n + q] = 0;
    a[q * n + p] = 0;
    for (int k = 0; k < n; k++) {
      double vkp = v[k * n + p];
      double vkq = v[k * n + q];
      v[k * n + p] = c * vkp - s * vkq;
      v[k * n + q] = s * vkp + c * vkq;
    }
  }

  /** The order n. */
  public int n() {
    return n;
  }

  /** Eigenvalues {@code λ_0 <= ... <= λ_{n-1}} (a copy). */
  public double[] values() {
    return values.clone();
  }

  /**
   * Orthonormal eigenvectors as the columns of V, n×n row-major (a copy): {@code V[i * n + k]} is
   * component i of the eigenvector of λ_k, so {@code A V = V diag(λ)} and {@code Vᵀ V = I}.
   */
  public double[] vectors() {
    return vectors.clone();
  }
}
