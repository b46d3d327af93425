package org.sparkssm.init;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import org.junit.jupiter.api.Test;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.testing.Tolerances;

class HippoTest {

  /** P_0..P_{n-1} at x by the three-term recurrence (n+1) P_{n+1} = (2n+1) x P_n - n P_{n-1}. */
  private static double[] legendre(int n, double x) {
    double[] p = new double[n];
    p[0] = 1;
    if (n > 1) {
      p[1] = x;
    }
    for (int k = 1; k + 1 < n; k++) {
      p[k + 1] = ((2 * k + 1) * x * p[k] - k * p[k - 1]) / (k + 1);
    }
    return p;
  }

  /** The cubic driving the LegT test, in the lag from the final time. */
  private static double poly(double x) {
    return 0.3 + 0.8 * x - 0.5 * x * x + 0.2 * x * x * x;
  }

  @Test
  void legTReconstructsTheLastWindowOfACubic() {
    // N = 16 and Δ = 1e-3 with ZOH and the input sampled at the step midpoint (second order in Δ):
    // a cubic window lies in the span of P_0..P_3, so the only errors are the O(Δ²) quadrature error
    // and the decayed transient from the zero initial state; after T = 6 windows both are far below
    // Tolerances.APPROX (the observed max error is 1.7e-5, at the newest end s = 0).
    // Sign convention, checked numerically: with the LMU matrices the newest input (lag s = 0) sits
    // at P_n(-1), i.e. u(t - s) ≈ Σ c_n P_n(2s - 1); P_n(1 - 2s) reconstructs the window reversed.
    int n = 16;
    double dt = 1e-3;
    int steps = 6000;
    double total = steps * dt;
    ContinuousSystem sys = Hippo.legT(n);
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    Discretize.dense(Discretization.ZOH, dt, sys.A(), n, sys.B(), 1, abar, bbar);
    double[] c = new double[n];
    double[] next = new double[n];
    for (int k = 1; k <= steps; k++) {
      double u = poly((k - 0.5) * dt - total);
      for (int i = 0; i < n; i++) {
        double s = bbar[i] * u;
        for (int j = 0; j < n; j++) {
          s += abar[i * n + j] * c[j];
        }
        next[i] = s;
      }
      double[] t = c;
      c = next;
      next = t;
    }
    int points = 101;
    double[] expected = new double[points];
    double[] got = new double[points];
    for (int q = 0; q < points; q++) {
      double lag = q / (points - 1.0);
      double[] p = legendre(n, 2 * lag - 1);
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += c[i] * p[i];
      }
      expected[q] = poly(-lag);
      got[q] = sum;
    }
    assertClose("u(t - s) from the LegT state", expected, got, Tolerances.APPROX);
  }

  @Test
  void legTSmallCase() {
    // N = 3 written out: A_ij = (2i+1) (-1 if i < j else (-1)^(i-j+1)), B_i = (2i+1)(-1)^i.
    ContinuousSystem s = Hippo.legT(3);
    double[] a = {
        -1, -1, -1,
        3, -3, -3,
        -5, 5, -5};
    assertClose("LegT A", a, s.A(), Tolerances.F64);
    assertClose("LegT B", new double[] {1, -3, 5}, s.B(), Tolerances.F64);
    assertEquals(3, s.n());
  }

  @Test
  void legSSmallCaseAndStructure() {
    ContinuousSystem s = Hippo.legS(3);
    double r3 = Math.sqrt(3);
    double r5 = Math.sqrt(5);
    double[] a = {
        -1, 0, 0,
        -r3, -2, 0,
        -r5, -r3 * r5, -3};
    assertClose("LegS A", a, s.A(), Tolerances.F64);
    assertClose("LegS B", new double[] {1, r3, r5}, s.B(), Tolerances.F64);
    // A + P Pᵀ with P = B / sqrt(2) has symmetric part -I/2 (what S4D-LegS diagonalizes).
    int n = 9;
    double[] big = Hippo.legS(n).A();
    double[] b = Hippo.legS(n).B();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double sym = big[i * n + j] + big[j * n + i] + b[i] * b[j];
        assertClose("sym(A + PPᵀ)[" + i + "," + j + "]", i == j ? -1 : 0, sym, Tolerances.F64);
      }
    }
  }

  @Test
  void fouTSmallCaseAndStructure() {
    ContinuousSystem s = Hippo.fouT(4);
    double r8 = 2 * Math.sqrt(2);
    double tp = 2 * Math.PI;
    double[] a = {
        -2, 0, -r8, 0,
        0, 0, 0, 0,
        -r8, 0, -4, -tp,
        0, 0, tp, 0};
    assertClose("FouT A", a, s.A(), Tolerances.F64);
    assertClose("FouT B", new double[] {2, 0, r8, 0}, s.B(), Tolerances.F64);
    // A + B Bᵀ / 2 is skew-symmetric with the frequency blocks 2πk on the (2k, 2k+1) pairs.
    int n = 10;
    double[] big = Hippo.fouT(n).A();
    double[] b = Hippo.fouT(n).B();
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double sk = big[i * n + j] + 0.5 * b[i] * b[j];
        double tr = big[j * n + i] + 0.5 * b[j] * b[i];
        assertClose("skew[" + i + "," + j + "]", 0, sk + tr, Tolerances.F64);
        double expected = 0;
        if (i % 2 == 0 && j == i + 1) {
          expected = -Math.PI * i;
        } else if (j % 2 == 0 && i == j + 1) {
          expected = Math.PI * j;
        }
        assertClose("J[" + i + "," + j + "]", expected, sk, Tolerances.F64);
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Hippo.fouT(5));
    assertTrue(e.getMessage().startsWith("n:"), e.getMessage());
  }

  @Test
  void accessorsReturnCopies() {
    ContinuousSystem s = Hippo.legS(4);
    s.A()[0] = 42;
    s.B()[0] = 42;
    assertEquals(-1, s.A()[0], 0.0);
    assertEquals(1, s.B()[0], 0.0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Hippo.legT(0));
    assertTrue(e.getMessage().startsWith("n:"), e.getMessage());
  }
}
