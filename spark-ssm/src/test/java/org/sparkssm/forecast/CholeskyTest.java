package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link Cholesky#solveInPlace} against Gaussian elimination with partial pivoting
 * ({@link NaiveLinearAlgebra#solve}) on random SPD systems {@code A = GᵀG + I/2}, and the factor
 * left in {@code a} against {@code R Rᵀ = A} by a plain triple loop. Tolerance
 * {@link Tolerances#F64}: both are backward-stable solves of the same system; with n ≤ 16 and the
 * added I/2 the condition number stays in the hundreds, so they agree to about 1e-13.
 */
class CholeskyTest {

  private static double[] randomSpd(SplittableRandom rnd, int n) {
    double[] g = TestData.gaussian(rnd, n * n, 1.0);
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = i == j ? 0.5 : 0;
        for (int k = 0; k < n; k++) {
          s += g[k * n + i] * g[k * n + j];
        }
        a[i * n + j] = s;
      }
    }
    return a;
  }

  private static void assertRejected(double[] a, int n) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Cholesky.solveInPlace("the matrix", a.clone(), n, new double[n], 1));
    assertTrue(e.getMessage().startsWith("the matrix: expected a positive definite matrix"), e.getMessage());
  }

  @Test
  void solvesRandomSpdSystemsLikeGaussianElimination() {
    SplittableRandom rnd = new SplittableRandom(401);
    for (int n : new int[] {1, 2, 3, 7, 16}) {
      for (int m : new int[] {1, 3}) {
        double[] a = randomSpd(rnd, n);
        double[] b = TestData.gaussian(rnd, n * m, 1.0);
        double[][] expected = NaiveLinearAlgebra.solve(NaiveLinearAlgebra.fromRowMajor(a, n, n),
            NaiveLinearAlgebra.fromRowMajor(b, n, m));
        double[] factor = a.clone();
        double[] x = b.clone();
        Cholesky.solveInPlace("A", factor, n, x, m);
        for (int i = 0; i < n; i++) {
          assertClose("n=" + n + " m=" + m + " row " + i, expected[i], 0, x, i * m, m, Tolerances.F64);
        }
        // The lower triangle now holds R with R Rᵀ = A.
        for (int i = 0; i < n; i++) {
          for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k <= j; k++) {
              s += factor[i * n + k] * factor[j * n + k];
            }
            assertClose("(R R^T)[" + i + "][" + j + "], n=" + n, a[i * n + j], s, Tolerances.F64);
          }
        }
      }
    }
  }

  @Test
  void readsOnlyTheLowerTriangle() {
    SplittableRandom rnd = new SplittableRandom(402);
    int n = 6;
    double[] a = randomSpd(rnd, n);
    double[] b = TestData.gaussian(rnd, n * 2, 1.0);
    double[] lowerOnly = a.clone();
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        lowerOnly[i * n + j] = Double.NaN;
      }
    }
    double[] x = b.clone();
    Cholesky.solveInPlace("A", a.clone(), n, x, 2);
    double[] y = b.clone();
    Cholesky.solveInPlace("A", lowerOnly, n, y, 2);
    assertArrayEquals(x, y);
  }

  @Test
  void rejectsMatricesThatAreNotPositiveDefiniteNamingThem() {
    assertRejected(new double[] {-1}, 1);
    assertRejected(new double[] {0}, 1);
    assertRejected(new double[] {Double.NaN}, 1);
    assertRejected(new double[] {0, 0, 0, 0}, 2);
    assertRejected(new double[] {1, 2, 2, 1}, 2); // indefinite: eigenvalues 3 and -1
    assertRejected(new double[] {4, 2, 2, 1}, 2); // rank one, pivot exactly 0
    // Rank one, but the second pivot 2 - (2·fl(1/√2))² rounds to +4.4e-16: rejected as rounding
    // noise of the diagonal, not accepted as positive.
    assertRejected(new double[] {2, 2, 2, 2}, 2);
    assertRejected(new double[] {1, 0, 0, 0, 1, 0, 0, 0, -1e-3}, 3); // the last pivot negative
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Cholesky.solveInPlace("X'X", new double[] {1, 0, 0, -2}, 2, new double[2], 1));
    assertTrue(e.getMessage().contains("row 1 of 2"), e.getMessage());
  }
}
