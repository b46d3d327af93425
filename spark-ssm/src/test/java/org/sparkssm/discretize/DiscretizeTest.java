package org.sparkssm.discretize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.linalg.Expm;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class DiscretizeTest {

  // Naive complex helpers for the references: {re, im} pairs, written independently of Discretize.
  private static double[] cmul(double ar, double ai, double br, double bi) {
    return new double[] {ar * br - ai * bi, ar * bi + ai * br};
  }

  private static double[] cdiv(double ar, double ai, double br, double bi) {
    double d = br * br + bi * bi;
    return new double[] {(ar * br + ai * bi) / d, (ai * br - ar * bi) / d};
  }

  private static double[] cexp(double r, double i) {
    return new double[] {Math.exp(r) * Math.cos(i), Math.exp(r) * Math.sin(i)};
  }

  /** Random stable complex diagonal: Re a in [-5, -0.1], Im a in [-10, 10]. */
  private static double[][] randomSystem(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    return new double[][] {
        TestData.uniform(rnd, n, -5, -0.1), TestData.uniform(rnd, n, -10, 10),
        TestData.gaussian(rnd, n, 1), TestData.gaussian(rnd, n, 1)};
  }

  @Test
  void complexDiagonalMatchesNaiveFormulas() {
    int n = 9;
    double[][] s = randomSystem(21, n);
    double[] aRe = s[0];
    double[] aIm = s[1];
    double[] bRe = s[2];
    double[] bIm = s[3];
    double[] dts = {1e-3, 0.05, 0.7};
    for (Discretization m : Discretization.values()) {
      for (double dt : dts) {
        double[] abarRe = new double[n];
        double[] abarIm = new double[n];
        double[] bbarRe = new double[n];
        double[] bbarIm = new double[n];
        Discretize.diagonal(m, dt, aRe, aIm, bRe, bIm, abarRe, abarIm, bbarRe, bbarIm);
        double[] eAr = new double[n];
        double[] eAi = new double[n];
        double[] eBr = new double[n];
        double[] eBi = new double[n];
        for (int i = 0; i < n; i++) {
          double zr = dt * aRe[i];
          double zi = dt * aIm[i];
          double[] ab;
          double[] coef;
          if (m == Discretization.BILINEAR) {
            ab = cdiv(1 + zr / 2, zi / 2, 1 - zr / 2, -zi / 2);
            coef = cdiv(dt, 0, 1 - zr / 2, -zi / 2);
          } else {
            ab = cexp(zr, zi);
            coef = m == Discretization.ZOH ? cdiv(ab[0] - 1, ab[1], aRe[i], aIm[i]) : new double[] {dt, 0};
          }
          double[] bb = cmul(coef[0], coef[1], bRe[i], bIm[i]);
          eAr[i] = ab[0];
          eAi[i] = ab[1];
          eBr[i] = bb[0];
          eBi[i] = bb[1];
        }
        String w = m + " dt=" + dt;
        assertClose(w + " Re Abar", eAr, abarRe, Tolerances.F64);
        assertClose(w + " Im Abar", eAi, abarIm, Tolerances.F64);
        assertClose(w + " Re Bbar", eBr, bbarRe, Tolerances.F64);
        assertClose(w + " Im Bbar", eBi, bbarIm, Tolerances.F64);
      }
    }
  }

  @Test
  void realDiagonalMatchesNaiveFormulasAndScalarFunctions() {
    int n = 7;
    double[][] s = randomSystem(22, n);
    double[] a = s[0];
    double[] b = s[2];
    double dt = 0.3;
    for (Discretization m : Discretization.values()) {
      double[] abar = new double[n];
      double[] bbar = new double[n];
      Discretize.diagonal(m, dt, a, null, b, null, abar, null, bbar, null);
      for (int i = 0; i < n; i++) {
        double z = dt * a[i];
        double eA = m == Discretization.BILINEAR ? (1 + z / 2) / (1 - z / 2) : Math.exp(z);
        double eB = m == Discretization.ZOH ? (Math.exp(z) - 1) / a[i] * b[i]
            : m == Discretization.BILINEAR ? dt / (1 - z / 2) * b[i] : dt * b[i];
        assertClose(m + " Abar[" + i + "]", eA, abar[i], Tolerances.F64);
        assertClose(m + " Bbar[" + i + "]", eB, bbar[i], Tolerances.F64);
        assertClose(m + " abar()", eA, Discretize.abar(m, dt, a[i]), Tolerances.F64);
        assertClose(m + " bbarScale()", eB, Discretize.bbarScale(m, dt, a[i]) * b[i], Tolerances.F64);
      }
    }
  }

  @Test
  void diagonalStepMatchesDiagonalForPerStepDt() {
    // A scan over irregular timestamps calls diagonalStep with a new Δ every step; it must equal the
    // validated batch form for each Δ.
    int n = 5;
    double[][] s = randomSystem(23, n);
    SplittableRandom rnd = new SplittableRandom(24);
    double[] out = new double[6];
    for (Discretization m : Discretization.values()) {
      for (int step = 0; step < 20; step++) {
        double dt = Math.exp(TestData.uniform(rnd, 1, -9, 1)[0]);
        double[] abarRe = new double[n];
        double[] abarIm = new double[n];
        double[] bbarRe = new double[n];
        double[] bbarIm = new double[n];
        double[] ones = new double[n];
        java.util.Arrays.fill(ones, 1.0);
        Discretize.diagonal(m, dt, s[0], s[1], ones, null, abarRe, abarIm, bbarRe, bbarIm);
        for (int i = 0; i < n; i++) {
          Discretize.diagonalStep(m, dt, s[0][i], s[1][i], out, 2);
          assertEquals(abarRe[i], out[2], 0.0);
          assertEquals(abarIm[i], out[3], 0.0);
          assertEquals(bbarRe[i], out[4], 0.0);
          assertEquals(bbarIm[i], out[5], 0.0);
        }
      }
    }
  }

  @Test
  void zohLimitAsAGoesToZero() {
    double dt = 0.5;
    double b = 1.7;
    // a = 0 exactly: B̄ = Δ b, Ā = 1.
    double[] abar = new double[1];
    double[] bbar = new double[1];
    Discretize.diagonal(Discretization.ZOH, dt, new double[] {0}, null, new double[] {b}, null,
        abar, null, bbar, null);
    assertEquals(1.0, abar[0], 0.0);
    assertClose("Bbar(a=0)", dt * b, bbar[0], Tolerances.F64);
    // Tiny complex a on both sides of the series switch (|Δa| = 1e-4) and far below it: compare with
    // the Taylor series Δ (1 + z/2 + z²/6 + z³/24 + z⁴/120) b, z = Δa.
    double[] mags = {1e-15, 1e-9, 1.9e-4, 2.1e-4, 1e-3};
    double[] out = new double[4];
    for (double mag : mags) {
      double ar = -mag * 0.6;
      double ai = mag * 0.8;
      Discretize.diagonalStep(Discretization.ZOH, dt, ar, ai, out, 0);
      double zr = dt * ar;
      double zi = dt * ai;
      double[] sum = {1, 0};
      double[] term = {1, 0};
      for (int k = 1; k <= 6; k++) {
        term = cmul(term[0], term[1], zr / (k + 1), zi / (k + 1));
        sum[0] += term[0];
        sum[1] += term[1];
      }
      assertClose("Re s, |a| = " + mag, dt * sum[0], out[2], Tolerances.F64);
      assertClose("Im s, |a| = " + mag, dt * sum[1], out[3], Tolerances.F64);
      // Real a: expm1 form.
      assertClose("real s, a = " + ar, dt * (1 + zr / 2 + zr * zr / 6 + zr * zr * zr / 24),
          Discretize.bbarScale(Discretization.ZOH, dt, ar), Tolerances.F64);
    }
  }

  @Test
  void bilinearAgreesWithZohToThirdOrder() {
    // e^z - (1 + z/2)/(1 - z/2) = -z³/12 + O(z⁴) and the B̄ factors differ by Δ z²/12 + O(Δ z³):
    // halving Δ must divide both differences by ~8.
    double aRe = -2.0;
    double aIm = 3.0;
    double[] zoh = new double[4];
    double[] bil = new double[4];
    double prevA = 0;
    double prevB = 0;
    for (int k = 0; k < 5; k++) {
      double dt = 1e-2 / (1 << k);
      Discretize.diagonalStep(Discretization.ZOH, dt, aRe, aIm, zoh, 0);
      Discretize.diagonalStep(Discretization.BILINEAR, dt, aRe, aIm, bil, 0);
      double dA = Math.hypot(zoh[0] - bil[0], zoh[1] - bil[1]);
      double dB = Math.hypot(zoh[2] - bil[2], zoh[3] - bil[3]);
      double mod3 = Math.pow(Math.hypot(aRe, aIm) * dt, 3);
      assertTrue(dA <= 1.1 * mod3 / 12, "Abar difference " + dA + " at dt " + dt);
      assertTrue(dB <= 1.1 * dt * mod3 / dt / 12, "Bbar difference " + dB + " at dt " + dt);
      if (k > 0) {
        assertTrue(prevA / dA > 7 && prevA / dA < 9, "Abar ratio " + prevA / dA);
        assertTrue(prevB / dB > 7 && prevB / dB < 9, "Bbar ratio " + prevB / dB);
      }
      prevA = dA;
      prevB = dB;
    }
  }

  @Test
  void zohOfRealDiagonalEqualsDenseMatrixExponential() {
    int n = 6;
    double[][] s = randomSystem(25, n);
    double dt = 0.37;
    double[] abar = new double[n];
    double[] bbar = new double[n];
    Discretize.diagonal(Discretization.ZOH, dt, s[0], null, s[2], null, abar, null, bbar, null);
    double[] a = new double[n * n];
    double[] expectAbar = new double[n * n];
    for (int i = 0; i < n; i++) {
      a[i * n + i] = s[0][i];
      expectAbar[i * n + i] = abar[i];
    }
    double[] dAbar = new double[n * n];
    double[] dBbar = new double[n];
    Discretize.dense(Discretization.ZOH, dt, a, n, s[2], 1, dAbar, dBbar);
    assertClose("dense Abar = diag(diagonal Abar)", expectAbar, dAbar, Tolerances.F64_LONG);
    assertClose("dense Bbar = diagonal Bbar", bbar, dBbar, Tolerances.F64_LONG);
  }

  @Test
  void zohOfComplexDiagonalEqualsRealBlockMatrixExponential() {
    // A complex mode a = α + iβ acting on x = p + iq is the real 2x2 block [[α, -β], [β, α]] on
    // (p, q); its input column is (Re b, Im b). exp of the block-diagonal matrix must reproduce the
    // complex Ā as [[Re, -Im], [Im, Re]] blocks and B̄ as (Re, Im) pairs.
    int n = 4;
    double[][] s = randomSystem(26, n);
    for (Discretization m : new Discretization[] {Discretization.ZOH, Discretization.BILINEAR,
        Discretization.MAMBA}) {
      double dt = 0.21;
      double[] abarRe = new double[n];
      double[] abarIm = new double[n];
      double[] bbarRe = new double[n];
      double[] bbarIm = new double[n];
      Discretize.diagonal(m, dt, s[0], s[1], s[2], s[3], abarRe, abarIm, bbarRe, bbarIm);
      int k = 2 * n;
      double[] a = new double[k * k];
      double[] b = new double[k];
      double[] expectA = new double[k * k];
      double[] expectB = new double[k];
      for (int i = 0; i < n; i++) {
        int p = 2 * i;
        int q = p + 1;
        a[p * k + p] = s[0][i];
        a[p * k + q] = -s[1][i];
        a[q * k + p] = s[1][i];
        a[q * k + q] = s[0][i];
        b[p] = s[2][i];
        b[q] = s[3][i];
        expectA[p * k + p] = abarRe[i];
        expectA[p * k + q] = -abarIm[i];
        expectA[q * k + p] = abarIm[i];
        expectA[q * k + q] = abarRe[i];
        expectB[p] = bbarRe[i];
        expectB[q] = bbarIm[i];
      }
      double[] dA = new double[k * k];
      double[] dB = new double[k];
      Discretize.dense(m, dt, a, k, b, 1, dA, dB);
      assertClose(m + " block Abar", expectA, dA, Tolerances.F64_LONG);
      assertClose(m + " block Bbar", expectB, dB, Tolerances.F64_LONG);
    }
  }

  @Test
  void denseZohOfSingularAMatchesClosedForm() {
    // Double integrator x1' = x2, x2' = u: Ā = [[1, Δ], [0, 1]], B̄ = [Δ²/2, Δ]. A is singular, so a
    // formula with A^{-1} would fail; the augmented exponential does not.
    double dt = 0.8;
    double[] abar = new double[4];
    double[] bbar = new double[2];
    Discretize.dense(Discretization.ZOH, dt, new double[] {0, 1, 0, 0}, 2, new double[] {0, 1}, 1, abar, bbar);
    assertClose("Abar", new double[] {1, dt, 0, 1}, abar, Tolerances.F64_LONG);
    assertClose("Bbar", new double[] {dt * dt / 2, dt}, bbar, Tolerances.F64_LONG);
  }

  @Test
  void denseZohMatchesTaylorSeries() {
    // B̄ = Σ_k Δ^{k+1} A^k / (k+1)! B and Ā = Σ_k Δ^k A^k / k!, summed naively for a small ΔA.
    SplittableRandom rnd = new SplittableRandom(27);
    int n = 4;
    int m = 2;
    double[] a = TestData.gaussian(rnd, n * n, 1);
    double[] b = TestData.gaussian(rnd, n * m, 1);
    double dt = 0.3;
    double[] eA = new double[n * n];
    double[] eB = new double[n * m];
    double[] pow = new double[n * n]; // Δ^k A^k / k!
    for (int i = 0; i < n; i++) {
      pow[i * n + i] = 1;
    }
    for (int k = 0; k < 60; k++) {
      for (int i = 0; i < n * n; i++) {
        eA[i] += pow[i];
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < m; j++) {
          double sum = 0;
          for (int l = 0; l < n; l++) {
            sum += pow[i * n + l] * b[l * m + j];
          }
          eB[i * m + j] += sum * dt / (k + 1);
        }
      }
      double[] next = new double[n * n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          double sum = 0;
          for (int l = 0; l < n; l++) {
            sum += pow[i * n + l] * a[l * n + j];
          }
          next[i * n + j] = sum * dt / (k + 1);
        }
      }
      pow = next;
    }
    double[] abar = new double[n * n];
    double[] bbar = new double[n * m];
    Discretize.dense(Discretization.ZOH, dt, a, n, b, m, abar, bbar);
    assertClose("ZOH Abar", eA, abar, Tolerances.F64_LONG);
    assertClose("ZOH Bbar", eB, bbar, Tolerances.F64_LONG);
    Discretize.dense(Discretization.MAMBA, dt, a, n, b, m, abar, bbar);
    assertClose("MAMBA Abar", eA, abar, Tolerances.F64_LONG);
    double[] dtB = b.clone();
    for (int i = 0; i < dtB.length; i++) {
      dtB[i] *= dt;
    }
    assertClose("MAMBA Bbar", dtB, bbar, Tolerances.F64);
  }

  @Test
  void denseBilinearSatisfiesItsDefiningEquations() {
    // (I - ΔA/2) Ā = I + ΔA/2 and (I - ΔA/2) B̄ = ΔB, checked by multiplying back.
    SplittableRandom rnd = new SplittableRandom(28);
    int n = 5;
    int m = 3;
    double[] a = TestData.gaussian(rnd, n * n, 1);
    double[] b = TestData.gaussian(rnd, n * m, 1);
    double dt = 0.4;
    double[] abar = new double[n * n];
    double[] bbar = new double[n * m];
    Discretize.dense(Discretization.BILINEAR, dt, a, n, b, m, abar, bbar);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n + m; j++) {
        double lhs = 0;
        for (int l = 0; l < n; l++) {
          double left = (i == l ? 1 : 0) - dt / 2 * a[i * n + l];
          lhs += left * (j < n ? abar[l * n + j] : bbar[l * m + j - n]);
        }
        double rhs = j < n ? (i == j ? 1 : 0) + dt / 2 * a[i * n + j] : dt * b[i * m + j - n];
        assertClose("row " + i + " col " + j, rhs, lhs, Tolerances.F64);
      }
    }
    // And the dense MAMBA Ā is plain expm(ΔA).
    double[] scaled = a.clone();
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= dt;
    }
    Discretize.dense(Discretization.MAMBA, dt, a, n, b, m, abar, bbar);
    assertClose("MAMBA Abar", Expm.expm(scaled, n), abar, Tolerances.F64);
  }

  private static void assertNames(String name, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(name + ":"), "expected a message naming " + name + ", got: "
        + e.getMessage());
  }

  @Test
  void badInputsNameTheArgument() {
    double[] one = {-1};
    double[] o1 = new double[1];
    double[] o2 = new double[1];
    double[] bad = {Double.NaN, Double.NEGATIVE_INFINITY, -1, 0, Double.POSITIVE_INFINITY};
    for (double dt : bad) {
      assertNames("dt", () -> Discretize.diagonal(Discretization.ZOH, dt, one, null, one, null, o1, null, o2, null));
      assertNames("dt", () -> Discretize.dense(Discretization.BILINEAR, dt, one, 1, one, 1, o1, o2));
    }
    Discretization z = Discretization.ZOH;
    assertNames("method", () -> Discretize.diagonal(null, 1, one, null, one, null, o1, null, o2, null));
    assertNames("aRe", () -> Discretize.diagonal(z, 1, new double[] {Double.NaN}, null, one, null, o1, null, o2, null));
    assertNames("aIm", () -> Discretize.diagonal(z, 1, one, new double[2], one, null, o1, o1, o2, o2));
    assertNames("aIm", () -> Discretize.diagonal(z, 1, one, new double[] {Double.POSITIVE_INFINITY}, one, null,
        o1, o1, o2, o2));
    assertNames("bRe", () -> Discretize.diagonal(z, 1, one, null, new double[2], null, o1, null, o2, null));
    assertNames("bIm", () -> Discretize.diagonal(z, 1, one, null, one, new double[] {Double.NaN}, o1, null, o2, o2));
    assertNames("abarRe", () -> Discretize.diagonal(z, 1, one, null, one, null, null, null, o2, null));
    assertNames("abarIm", () -> Discretize.diagonal(z, 1, one, one, one, null, o1, null, o2, o2));
    assertNames("bbarIm", () -> Discretize.diagonal(z, 1, one, null, one, one, o1, null, o2, null));
    assertNames("bbarRe", () -> Discretize.diagonal(z, 1, one, null, one, null, o1, null, new double[3], null));
    assertNames("aRe", () -> Discretize.diagonal(Discretization.BILINEAR, 1, new double[] {2}, null, one, null,
        o1, null, o2, null));

    double[] a2 = {-1, 0, 0, -1};
    double[] b2 = {1, 1};
    double[] ab = new double[4];
    double[] bb = new double[2];
    assertNames("A", () -> Discretize.dense(z, 1, new double[3], 2, b2, 1, ab, bb));
    assertNames("A", () -> Discretize.dense(z, 1, new double[] {Double.NaN, 0, 0, 0}, 2, b2, 1, ab, bb));
    assertNames("B", () -> Discretize.dense(z, 1, a2, 2, new double[3], 1, ab, bb));
    assertNames("B", () -> Discretize.dense(z, 1, a2, 2, new double[] {1, Double.NaN}, 1, ab, bb));
    assertNames("abar", () -> Discretize.dense(z, 1, a2, 2, b2, 1, new double[3], bb));
    assertNames("bbar", () -> Discretize.dense(z, 1, a2, 2, b2, 1, ab, new double[4]));
    assertNames("n", () -> Discretize.dense(z, 1, a2, 0, b2, 1, ab, bb));
    assertNames("I - dt*A/2", () -> Discretize.dense(Discretization.BILINEAR, 1, new double[] {2, 0, 0, 2}, 2,
        b2, 1, ab, bb));
  }
}
