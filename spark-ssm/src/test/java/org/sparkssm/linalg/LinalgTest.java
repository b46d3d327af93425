package org.sparkssm.linalg;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class LinalgTest {

  // ---- Expm ----------------------------------------------------------------------------------

  /** Independent reference: Σ_{k<=terms} A^k / k!, only for small ‖A‖ where it converges fast. */
  private static double[] taylorExp(double[] a, int n, int terms) {
    double[] sum = new double[n * n];
    double[] term = new double[n * n];
    for (int i = 0; i < n; i++) {
      sum[i * n + i] = 1;
      term[i * n + i] = 1;
    }
    for (int k = 1; k <= terms; k++) {
      double[] next = new double[n * n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0;
          for (int l = 0; l < n; l++) {
            s += term[i * n + l] * a[l * n + j];
          }
          next[i * n + j] = s / k;
        }
      }
      term = next;
      for (int i = 0; i < n * n; i++) {
        sum[i] += term[i];
      }
    }
    return sum;
  }

  @Test
  void expmMatchesTaylorSeriesForEachPadeDegree() {
    SplittableRandom rnd = new SplittableRandom(11);
    int n = 5;
    // 1-norms that land in each Padé branch: m = 3, 5, 7, 9 and 13 (with and without scaling).
    double[] targetNorms = {0.01, 0.2, 0.9, 2.0, 4.0, 12.0};
    for (double target : targetNorms) {
      double[] a = TestData.gaussian(rnd, n * n, 1.0);
      double norm = Dense.norm1(a, n);
      for (int i = 0; i < a.length; i++) {
        a[i] *= target / norm;
      }
      // 120 terms: the Taylor remainder of ‖A‖ <= 12 is far below float64 resolution, and the
      // largest intermediate term 12^12/12! ~ 2e4 costs at most ~1e-12 relative.
      double[] expected = taylorExp(a, n, 120);
      assertClose("expm, ‖A‖_1 = " + target, expected, Expm.expm(a, n), Tolerances.F64_LONG);
    }
  }

  @Test
  void expmOfDiagonalIsElementwiseExp() {
    double[] d = {-30.0, -2.5, 0.0, 1e-9, 3.0};
    int n = d.length;
    double[] a = new double[n * n];
    double[] expected = new double[n * n];
    for (int i = 0; i < n; i++) {
      a[i * n + i] = d[i];
      expected[i * n + i] = Math.exp(d[i]);
    }
    assertClose("expm(diag)", expected, Expm.expm(a, n), Tolerances.F64_LONG);
  }

  @Test
  void expmOfRotationGeneratorIsRotation() {
    // exp([[0,-w],[w,0]] t) = [[cos wt, -sin wt],[sin wt, cos wt]], also for large wt (squaring).
    double[] angles = {1e-6, 0.3, 1.0, 7.0, 100.0};
    for (double th : angles) {
      double[] a = {0, -th, th, 0};
      double[] expected = {Math.cos(th), -Math.sin(th), Math.sin(th), Math.cos(th)};
      assertClose("expm(rotation " + th + ")", expected, Expm.expm(a, 2), Tolerances.F64_LONG);
    }
  }

  @Test
  void expmOfNilpotentJordanBlock() {
    // exp(λI + N) = e^λ (I + N + N²/2) for the 3x3 shift N: a non-normal closed form.
    double lam = -1.7;
    double[] a = {lam, 1, 0, 0, lam, 1, 0, 0, lam};
    double e = Math.exp(lam);
    double[] expected = {e, e, e / 2, 0, e, e, 0, 0, e};
    assertClose("expm(Jordan)", expected, Expm.expm(a, 3), Tolerances.F64_LONG);
  }

  @Test
  void expmRejectsBadInput() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Expm.expm(new double[] {0, Double.NaN, 0, 0}, 2));
    assertTrue(e.getMessage().startsWith("a:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Expm.expm(new double[3], 2));
    assertTrue(e.getMessage().startsWith("a:"), e.getMessage());
  }

  // ---- Lu ------------------------------------------------------------------------------------

  @Test
  void luSolvesRandomSystems() {
    SplittableRandom rnd = new SplittableRandom(12);
    int[] sizes = {1, 2, 5, 17};
    for (int n : sizes) {
      int m = 3;
      double[] a = TestData.gaussian(rnd, n * n, 1.0);
      double[] x = TestData.gaussian(rnd, n * m, 1.0);
      double[] b = Dense.mul(a, x, n, n, m);
      double[] aCopy = a.clone();
      double[] got = Lu.solve(a, n, b, m);
      assertClose("Lu.solve n=" + n, x, got, Tolerances.F64_LONG);
      assertClose("a unchanged", aCopy, a, Tolerances.F64);
    }
  }

  @Test
  void luNeedsPivoting() {
    // Zero leading pivot: fails without row exchanges.
    double[] a = {0, 1, 1, 0};
    double[] b = {2, 3};
    assertClose("pivoted", new double[] {3, 2}, Lu.solve(a, 2, b, 1), Tolerances.F64);
  }

  @Test
  void luNamesSingularMatrix() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Lu.solve(new double[] {1, 2, 2, 4}, 2, new double[] {1, 1}, 1));
    assertTrue(e.getMessage().startsWith("a:") && e.getMessage().contains("singular"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Lu.solve("I - dt*A/2", new double[4], 2, new double[] {1, 1}, 1));
    assertTrue(e.getMessage().startsWith("I - dt*A/2:"), e.getMessage());
  }

  // ---- SymmetricEigen ------------------------------------------------------------------------

  @Test
  void eigenPairsAndOrthonormality() {
    SplittableRandom rnd = new SplittableRandom(13);
    int[] sizes = {1, 2, 6, 24};
    for (int n : sizes) {
      double[] g = TestData.gaussian(rnd, n * n, 1.0);
      double[] a = new double[n * n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          a[i * n + j] = g[i * n + j] + g[j * n + i];
        }
      }
      checkEigen(a, n);
    }
  }

  @Test
  void eigenWithRepeatedEigenvalues() {
    // [[0,-K],[K,0]] for skew K has every eigenvalue twice: the embedding S4dInit relies on.
    double[] a = {0, 0, 0, -2, 0, 0, 2, 0, 0, 2, 0, 0, -2, 0, 0, 0};
    SymmetricEigen e = checkEigen(a, 4);
    assertClose("eigenvalues", new double[] {-2, -2, 2, 2}, e.values(), Tolerances.F64_LONG);
  }

  @Test
  void eigenOfKnownMatrix() {
    // Second-difference matrix tridiag(-1, 2, -1): λ_k = 2 - 2 cos(kπ/(n+1)), k = 1..n.
    int n = 7;
    double[] a = new double[n * n];
    double[] expected = new double[n];
    for (int i = 0; i < n; i++) {
      a[i * n + i] = 2;
      if (i + 1 < n) {
        a[i * n + i + 1] = -1;
        a[(i + 1) * n + i] = -1;
      }
      expected[i] = 2 - 2 * Math.cos((i + 1) * Math.PI / (n + 1));
    }
    assertClose("tridiagonal eigenvalues", expected, SymmetricEigen.of(a, n).values(), Tolerances.F64_LONG);
  }

  @Test
  void eigenRejectsAsymmetric() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SymmetricEigen.of(new double[] {1, 2, 3, 4}, 2));
    assertTrue(e.getMessage().startsWith("a:") && e.getMessage().contains("symmetric"), e.getMessage());
  }

  private static SymmetricEigen checkEigen(double[] a, int n) {
    SymmetricEigen e = SymmetricEigen.of(a, n);
    double[] lam = e.values();
    double[] v = e.vectors();
    double scale = 0;
    for (double x : a) {
      scale = Math.max(scale, Math.abs(x));
    }
    for (int k = 0; k < n; k++) {
      if (k > 0) {
        assertTrue(lam[k - 1] <= lam[k], "ascending");
      }
      double[] av = new double[n];
      double[] lv = new double[n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          av[i] += a[i * n + j] * v[j * n + k] / scale;
        }
        lv[i] = lam[k] * v[i * n + k] / scale;
      }
      assertClose("A v = λ v, n=" + n + " k=" + k, lv, av, Tolerances.F64_LONG);
    }
    double[] vtv = new double[n * n];
    double[] id = new double[n * n];
    for (int i = 0; i < n; i++) {
      id[i * n + i] = 1;
      for (int j = 0; j < n; j++) {
        for (int l = 0; l < n; l++) {
          vtv[i * n + j] += v[l * n + i] * v[l * n + j];
        }
      }
    }
    assertClose("VᵀV = I, n=" + n, id, vtv, Tolerances.F64_LONG);
    return e;
  }
}
