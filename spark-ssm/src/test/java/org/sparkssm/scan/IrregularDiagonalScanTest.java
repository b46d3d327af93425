package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class IrregularDiagonalScanTest {

  static ContinuousDiagonalSsm randomSystem(SplittableRandom rnd, int dim, int n, boolean complex, Discretization rule) {
    int size = dim * n;
    return ContinuousDiagonalSsm.of(dim, n, rule, TestData.uniform(rnd, size, -2.0, -0.05),
        complex ? TestData.uniform(rnd, size, -3.0, 3.0) : null, TestData.gaussian(rnd, size, 1.0),
        complex ? TestData.gaussian(rnd, size, 1.0) : null, TestData.gaussian(rnd, size, 1.0),
        complex ? TestData.gaussian(rnd, size, 1.0) : null, TestData.gaussian(rnd, dim, 1.0));
  }

  @Test
  void constantStepEqualsTheFixedStepScan() {
    for (Discretization rule : Discretization.values()) {
      for (boolean complex : new boolean[] {false, true}) {
        SplittableRandom rnd = new SplittableRandom(rule.ordinal() * 2 + (complex ? 1 : 0));
        ContinuousDiagonalSsm m = randomSystem(rnd, 3, 6, complex, rule);
        int length = 97;
        double[] dt = new double[length];
        java.util.Arrays.fill(dt, 0.37);
        double[] u = TestData.gaussian(rnd, length * 3, 1.0);
        double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
        double[] y = new double[u.length];
        double[] h = h0.clone();
        IrregularDiagonalScan.scan(m, dt, 0, u, 0, y, 0, length, h);
        double[] yFixed = new double[u.length];
        double[] hFixed = h0.clone();
        DiagonalScan.scan(m.discretize(0.37), u, 0, yFixed, 0, length, hFixed);
        assertClose(rule + " complex=" + complex + " y", yFixed, y, Tolerances.F64);
        assertClose(rule + " complex=" + complex + " h", hFixed, h, Tolerances.F64);
      }
    }
  }

  @Test
  void variableStepsMatchAPerStepZohReference() {
    SplittableRandom rnd = new SplittableRandom(17);
    int dim = 2;
    int n = 5;
    int length = 150;
    ContinuousDiagonalSsm m = randomSystem(rnd, dim, n, true, Discretization.ZOH);
    double[] dt = TestData.uniform(rnd, length, 0.01, 3.0);
    double[] u = TestData.gaussian(rnd, length * dim, 1.0);
    double[] y = new double[u.length];
    double[] h = new double[m.stateSize()];
    IrregularDiagonalScan.scan(m, dt, 0, u, 0, y, 0, length, h);

    // Reference: x(t + Δ) = e^{aΔ} x(t) + (e^{aΔ} - 1)/a · b u (input held over the gap), complex arithmetic spelled out.
    int size = dim * n;
    double[] xr = new double[size];
    double[] xi = new double[size];
    for (int t = 0; t < length; t++) {
      for (int d = 0; d < dim; d++) {
        double out = m.dSkip[d] * u[t * dim + d];
        for (int k = 0; k < n; k++) {
          int i = d * n + k;
          double ar = m.aRe[i] * dt[t];
          double ai = m.aIm[i] * dt[t];
          double er = Math.exp(ar) * Math.cos(ai);
          double ei = Math.exp(ar) * Math.sin(ai);
          // (e - 1) / a
          double den = m.aRe[i] * m.aRe[i] + m.aIm[i] * m.aIm[i];
          double qr = ((er - 1) * m.aRe[i] + ei * m.aIm[i]) / den;
          double qi = (ei * m.aRe[i] - (er - 1) * m.aIm[i]) / den;
          double bur = (qr * m.bRe[i] - qi * m.bIm[i]) * u[t * dim + d];
          double bui = (qr * m.bIm[i] + qi * m.bRe[i]) * u[t * dim + d];
          double nr = er * xr[i] - ei * xi[i] + bur;
          double ni = er * xi[i] + ei * xr[i] + bui;
          xr[i] = nr;
          xi[i] = ni;
          out += m.cRe[i] * nr - m.cIm[i] * ni;
        }
        assertClose("y[" + t + "," + d + "]", out, y[t * dim + d], Tolerances.F64_LONG);
      }
    }
  }

  @Test
  void stateDecaysOverRealElapsedTimeHoweverTheGapsAreSplit() {
    // With zero input a real mode decays by exp(a · elapsed): three gaps summing to 1 equal one gap of 1.
    ContinuousDiagonalSsm m = ContinuousDiagonalSsm.of(1, 2, Discretization.ZOH, new double[] {-0.5, -2.0}, null,
        new double[] {1, 1}, null, new double[] {1, 1}, null, null);
    double[] h1 = {1.0, 3.0};
    IrregularDiagonalScan.scan(m, new double[] {0.3, 0.2, 0.5}, 0, new double[3], 0, new double[3], 0, 3, h1);
    double[] h2 = {1.0, 3.0};
    IrregularDiagonalScan.scan(m, new double[] {1.0}, 0, new double[1], 0, new double[1], 0, 1, h2);
    assertClose("split gaps", new double[] {Math.exp(-0.5), 3 * Math.exp(-2.0)}, h1, Tolerances.F64);
    assertClose("one gap", h2, h1, Tolerances.F64);
  }

  @Test
  void chunkedEqualsOneShot() {
    SplittableRandom rnd = new SplittableRandom(23);
    ContinuousDiagonalSsm m = randomSystem(rnd, 2, 4, true, Discretization.BILINEAR);
    int length = 211;
    double[] dt = TestData.uniform(rnd, length, 0.1, 2.0);
    double[] u = TestData.gaussian(rnd, length * 2, 1.0);
    double[] yOne = new double[u.length];
    double[] hOne = new double[m.stateSize()];
    IrregularDiagonalScan.scan(m, dt, 0, u, 0, yOne, 0, length, hOne);
    for (int[] cuts : new int[][] {TestData.randomCuts(rnd, length, 15), TestData.fixedCuts(length, 1),
        TestData.fixedCuts(length, 13), TestData.fixedCuts(length, length + 1)}) {
      double[] y = new double[u.length];
      double[] h = new double[m.stateSize()];
      for (int p = 0; p + 1 < cuts.length; p++) {
        IrregularDiagonalScan.scan(m, dt, cuts[p], u, cuts[p] * 2, y, cuts[p] * 2, cuts[p + 1] - cuts[p], h);
      }
      assertClose("chunked y", yOne, y, Tolerances.CHUNKED);
      assertClose("chunked h", hOne, h, Tolerances.CHUNKED);
    }
  }

  @Test
  void badStepsAndUnstableSystemsAreRejected() {
    ContinuousDiagonalSsm m = ContinuousDiagonalSsm.of(1, 1, Discretization.ZOH, new double[] {-1}, null,
        new double[] {1}, null, new double[] {1}, null, null);
    for (double bad : new double[] {Double.NaN, -0.5, 0.0, Double.POSITIVE_INFINITY}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> IrregularDiagonalScan.scan(m, new double[] {1.0, bad}, 0, new double[2], 0, new double[2], 0, 2, new double[1]));
      assertTrue(e.getMessage().startsWith("dt:") && e.getMessage().contains("step 1"), e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.discretize(-1));
    assertTrue(e.getMessage().startsWith("dt:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ContinuousDiagonalSsm.of(1, 2, Discretization.ZOH,
        new double[] {-1, 0.0}, null, new double[2], null, new double[2], null, null));
    assertTrue(e.getMessage().contains("Re(A)") && e.getMessage().contains("stable") && e.getMessage().contains("index 1"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ContinuousDiagonalSsm.of(1, 1, Discretization.ZOH,
        new double[] {-1}, null, new double[1], new double[1], new double[1], null, null));
    assertTrue(e.getMessage().startsWith("Im(B)"), e.getMessage());
  }
}
