package org.sparkssm.init;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class S4dInitTest {

  @Test
  void linValues() {
    DiagonalSystem s = S4dInit.lin(8);
    assertEquals(4, s.modes());
    assertClose("Re", new double[] {-0.5, -0.5, -0.5, -0.5}, s.aRe(), Tolerances.F64);
    assertClose("Im", new double[] {0, Math.PI, 2 * Math.PI, 3 * Math.PI}, s.aIm(), Tolerances.F64);
    assertClose("b", new double[] {1, 1, 1, 1}, s.bRe(), Tolerances.F64);
    assertClose("Im b", new double[4], s.bIm(), Tolerances.F64);
    assertFalse(s.hasEigenvectors());
    assertNull(s.vRe());
  }

  @Test
  void invValues() {
    // a_j = -1/2 + i (N/π)(N/(2j+1) - 1) for N = 8: (8/π)·{7, 5/3, 3/5, 1/7}.
    DiagonalSystem s = S4dInit.inv(8);
    double c = 8 / Math.PI;
    assertClose("Im", new double[] {c * 7, c * 5.0 / 3, c * 3.0 / 5, c / 7}, s.aIm(), Tolerances.F64);
    assertClose("Re", new double[] {-0.5, -0.5, -0.5, -0.5}, s.aRe(), Tolerances.F64);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> S4dInit.inv(7));
    assertTrue(e.getMessage().startsWith("n:"), e.getMessage());
  }

  /** S = A_LegS + P Pᵀ, P_n = sqrt(n + 1/2), built here from the written-out LegS formula. */
  private static double[] normalLegS(int n) {
    double[] s = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        double a = i > k ? -Math.sqrt(2 * i + 1) * Math.sqrt(2 * k + 1) : i == k ? -(i + 1) : 0;
        s[i * n + k] = a + Math.sqrt(i + 0.5) * Math.sqrt(k + 0.5);
      }
    }
    return s;
  }

  @Test
  void legSEigenpairsOfTheNormalPart() {
    int n = 16;
    int m = n / 2;
    DiagonalSystem d = S4dInit.legS(n);
    assertEquals(m, d.modes());
    assertTrue(d.hasEigenvectors());
    double[] s = normalLegS(n);
    double[] lr = d.aRe();
    double[] li = d.aIm();
    double[] vr = d.vRe();
    double[] vi = d.vIm();
    for (int j = 0; j < m; j++) {
      assertClose("Re λ_" + j, -0.5, lr[j], Tolerances.F64);
      assertTrue(li[j] > 0, "Im λ > 0");
      if (j > 0) {
        assertTrue(li[j] > li[j - 1] + 1e-6, "distinct, ascending Im λ");
      }
      double[] svr = new double[n];
      double[] svi = new double[n];
      double[] lvr = new double[n];
      double[] lvi = new double[n];
      for (int i = 0; i < n; i++) {
        for (int k = 0; k < n; k++) {
          svr[i] += s[i * n + k] * vr[k * m + j];
          svi[i] += s[i * n + k] * vi[k * m + j];
        }
        lvr[i] = lr[j] * vr[i * m + j] - li[j] * vi[i * m + j];
        lvi[i] = lr[j] * vi[i * m + j] + li[j] * vr[i * m + j];
      }
      assertClose("Re S v = λ v, mode " + j, lvr, svr, Tolerances.F64_LONG);
      assertClose("Im S v = λ v, mode " + j, lvi, svi, Tolerances.F64_LONG);
    }
    // Columns of V are orthonormal: V^H V = I.
    for (int j = 0; j < m; j++) {
      for (int k = 0; k < m; k++) {
        double re = 0;
        double im = 0;
        for (int i = 0; i < n; i++) {
          re += vr[i * m + j] * vr[i * m + k] + vi[i * m + j] * vi[i * m + k];
          im += vr[i * m + j] * vi[i * m + k] - vi[i * m + j] * vr[i * m + k];
        }
        assertClose("(V^H V)[" + j + "," + k + "] re", j == k ? 1 : 0, re, Tolerances.F64_LONG);
        assertClose("(V^H V)[" + j + "," + k + "] im", 0, im, Tolerances.F64_LONG);
      }
    }
  }

  @Test
  void legSDiagonalImpulseResponseEqualsDenseNormalSystem() {
    // Both ZOH-discretized at Δ = 0.05: the dense kernel K_k = C Ā^k B̄ of (S, B_LegS, C) must equal
    // 2 Re Σ_j C̃_j Ā_j^k B̄_j of the diagonal system (λ, b̃ = V^H B, C̃ = C V).
    int n = 12;
    int m = n / 2;
    int len = 80;
    double dt = 0.05;
    double[] c = TestData.gaussian(new SplittableRandom(31), n, 1);
    double[] b = Hippo.legS(n).B();
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    Discretize.dense(Discretization.ZOH, dt, normalLegS(n), n, b, 1, abar, bbar);
    double[] dense = new double[len];
    double[] x = bbar.clone();
    for (int k = 0; k < len; k++) {
      double y = 0;
      for (int i = 0; i < n; i++) {
        y += c[i] * x[i];
      }
      dense[k] = y;
      double[] nx = new double[n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          nx[i] += abar[i * n + j] * x[j];
        }
      }
      x = nx;
    }

    DiagonalSystem d = S4dInit.legS(n);
    double[] ar = new double[m];
    double[] ai = new double[m];
    double[] br = new double[m];
    double[] bi = new double[m];
    Discretize.diagonal(Discretization.ZOH, dt, d.aRe(), d.aIm(), d.bRe(), d.bIm(), ar, ai, br, bi);
    double[] vr = d.vRe();
    double[] vi = d.vIm();
    double[] ctr = new double[m];
    double[] cti = new double[m];
    for (int j = 0; j < m; j++) {
      for (int i = 0; i < n; i++) {
        ctr[j] += c[i] * vr[i * m + j];
        cti[j] += c[i] * vi[i * m + j];
      }
    }
    double[] diag = new double[len];
    double[] pr = new double[m];
    double[] pi = new double[m];
    for (int j = 0; j < m; j++) {
      pr[j] = br[j];
      pi[j] = bi[j];
    }
    for (int k = 0; k < len; k++) {
      double y = 0;
      for (int j = 0; j < m; j++) {
        y += 2 * (ctr[j] * pr[j] - cti[j] * pi[j]);
        double t = pr[j] * ar[j] - pi[j] * ai[j];
        pi[j] = pr[j] * ai[j] + pi[j] * ar[j];
        pr[j] = t;
      }
      diag[k] = y;
    }
    assertClose("impulse response", dense, diag, Tolerances.F64_LONG);
  }
}
