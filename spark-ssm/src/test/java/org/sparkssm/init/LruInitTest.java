package org.sparkssm.init;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.Tolerances;

class LruInitTest {

  @Test
  void eigenvaluesLieOnTheRingWithBoundedPhases() {
    double rMin = 0.4;
    double rMax = 0.99;
    double maxPhase = Math.PI / 10;
    int n = 256;
    LruInit p = LruInit.ring(n, 8, rMin, rMax, maxPhase, 41);
    double[] re = p.lambdaRe();
    double[] im = p.lambdaIm();
    double[] theta = p.thetaLog();
    double[] gamma = p.gammaLog();
    double meanMod2 = 0;
    for (int j = 0; j < n; j++) {
      double mod = Math.hypot(re[j], im[j]);
      assertTrue(mod >= rMin * (1 - 1e-12) && mod <= rMax * (1 + 1e-12), "|λ| = " + mod);
      double phase = Math.exp(theta[j]);
      assertTrue(phase >= 0 && phase <= maxPhase * (1 + 1e-12), "phase " + phase);
      // maxPhase < π, so atan2 sees the same angle.
      assertClose("arg λ", phase, Math.atan2(im[j], re[j]), Tolerances.F64);
      assertClose("γ² = 1 - |λ|²", 1 - mod * mod, Math.exp(2 * gamma[j]), Tolerances.F64);
      meanMod2 += mod * mod / n;
    }
    // |λ|² is uniform on [rMin², rMax²]: its mean is the midpoint (256 samples, sd ≈ 0.011).
    double mid = (rMin * rMin + rMax * rMax) / 2;
    assertTrue(Math.abs(meanMod2 - mid) < 0.05, "mean |λ|² " + meanMod2 + " vs " + mid);
  }

  @Test
  void fullPhaseRangeAndZeroInnerRadius() {
    LruInit p = LruInit.ring(64, 2, 0.0, 0.5, 2 * Math.PI, 42);
    double[] theta = p.thetaLog();
    double[] nu = p.nuLog();
    for (int j = 0; j < 64; j++) {
      assertTrue(Double.isFinite(theta[j]) && Double.isFinite(nu[j]));
      double phase = Math.exp(theta[j]);
      assertTrue(phase >= 0 && phase <= 2 * Math.PI * (1 + 1e-12), "phase " + phase);
      assertTrue(Math.exp(-Math.exp(nu[j])) <= 0.5 * (1 + 1e-12));
    }
  }

  @Test
  void shapesScalesAndNormalization() {
    int n = 64;
    int h = 32;
    LruInit p = LruInit.ring(n, h, 0.9, 0.999, 2 * Math.PI, 43);
    assertEquals(n, p.n());
    assertEquals(h, p.h());
    double[] br = p.bRe();
    double[] bi = p.bIm();
    assertEquals(n * h, br.length);
    assertEquals(h * n, p.cRe().length);
    assertEquals(h * n, p.cIm().length);
    assertEquals(h, p.d().length);
    // Var(Re B) = 1/(2H), Var(Re C) = 1/N: sample variances over 2048 draws within 10%.
    assertClose("Var Re B", 1.0 / (2 * h), variance(br), Tolerances.SAMPLE_STATISTIC);
    assertClose("Var Im B", 1.0 / (2 * h), variance(bi), Tolerances.SAMPLE_STATISTIC);
    assertClose("Var Re C", 1.0 / n, variance(p.cRe()), Tolerances.SAMPLE_STATISTIC);
    double[] nr = p.normalizedBRe();
    double[] ni = p.normalizedBIm();
    double[] g = p.gammaLog();
    for (int j = 0; j < n; j++) {
      for (int k = 0; k < h; k++) {
        assertClose("γ B re", Math.exp(g[j]) * br[j * h + k], nr[j * h + k], Tolerances.F64);
        assertClose("γ B im", Math.exp(g[j]) * bi[j * h + k], ni[j * h + k], Tolerances.F64);
      }
    }
  }

  private static double variance(double[] x) {
    double mean = 0;
    for (double v : x) {
      mean += v / x.length;
    }
    double var = 0;
    for (double v : x) {
      var += (v - mean) * (v - mean) / x.length;
    }
    return var;
  }

  @Test
  void deterministicForASeed() {
    LruInit a = LruInit.ring(16, 4, 0.5, 0.95, Math.PI, 7);
    LruInit b = LruInit.ring(16, 4, 0.5, 0.95, Math.PI, 7);
    LruInit c = LruInit.ring(16, 4, 0.5, 0.95, Math.PI, 8);
    assertArrayEquals(a.nuLog(), b.nuLog());
    assertArrayEquals(a.thetaLog(), b.thetaLog());
    assertArrayEquals(a.gammaLog(), b.gammaLog());
    assertArrayEquals(a.bRe(), b.bRe());
    assertArrayEquals(a.bIm(), b.bIm());
    assertArrayEquals(a.cRe(), b.cRe());
    assertArrayEquals(a.cIm(), b.cIm());
    assertArrayEquals(a.d(), b.d());
    assertFalse(Arrays.equals(a.nuLog(), c.nuLog()));
    assertFalse(Arrays.equals(a.thetaLog(), c.thetaLog()));
    assertFalse(Arrays.equals(a.bRe(), c.bRe()));
    assertFalse(Arrays.equals(a.cRe(), c.cRe()));
  }

  private static void assertNames(String name, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(name + ":"), "expected " + name + ", got: " + e.getMessage());
  }

  @Test
  void badArgumentsNameTheArgument() {
    assertNames("n", () -> LruInit.ring(0, 1, 0.1, 0.9, 1, 1));
    assertNames("h", () -> LruInit.ring(1, 0, 0.1, 0.9, 1, 1));
    assertNames("rMin", () -> LruInit.ring(1, 1, -0.1, 0.9, 1, 1));
    assertNames("rMin", () -> LruInit.ring(1, 1, Double.NaN, 0.9, 1, 1));
    assertNames("rMax", () -> LruInit.ring(1, 1, 0.1, 1.0, 1, 1));
    assertNames("rMax", () -> LruInit.ring(1, 1, 0.5, 0.4, 1, 1));
    assertNames("maxPhase", () -> LruInit.ring(1, 1, 0.1, 0.9, 0, 1));
    assertNames("maxPhase", () -> LruInit.ring(1, 1, 0.1, 0.9, Double.POSITIVE_INFINITY, 1));
  }
}
