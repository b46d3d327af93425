package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import org.junit.jupiter.api.Test;

/** {@link VectorMath} against {@code Math.exp} and {@code Math.log1p}: within 2 ulp, special values exact. */
class VectorMathTest {
  private static final int LANES = DoubleVector.SPECIES_PREFERRED.length();

  private static double[] apply(boolean exp, double[] x) {
    double[] out = new double[x.length];
    for (int i = 0; i + LANES <= x.length; i += LANES) {
      DoubleVector v = DoubleVector.fromArray(DoubleVector.SPECIES_PREFERRED, x, i);
      (exp ? VectorMath.exp(v) : VectorMath.log1p(v)).intoArray(out, i);
    }
    return out;
  }

  private static void within2Ulp(double expected, double got, double x) {
    if (Double.isNaN(expected) || Double.isInfinite(expected) || expected == 0) {
      assertEquals(expected, got, 0.0, "x = " + x);
      return;
    }
    double ulps = Math.abs(got - expected) / Math.ulp(expected);
    assertTrue(ulps <= 2, "x = " + x + ": " + got + " vs " + expected + " (" + ulps + " ulp)");
  }

  @Test
  void expIsWithinTwoUlpOverTheDoubleRangeAndSpecialValuesAreExact() {
    SplittableRandom rnd = new SplittableRandom(1);
    int n = 64 * 1024;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      // Mostly where the scans live (decays e^{Δa} with Δa in [-50, 0], gates), plus the whole range.
      x[i] = i % 4 == 0 ? rnd.nextDouble(-745, 709.7) : rnd.nextDouble(-50, 20);
    }
    double[] special = {0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 709.78, 709.79, 800, -745.1, -746, -1e4,
        Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NaN, Math.log(2), -708.4, -720};
    System.arraycopy(special, 0, x, 0, special.length);
    double[] got = apply(true, x);
    for (int i = 0; i < n; i++) {
      double e = Math.exp(x[i]);
      if (e < Double.MIN_NORMAL && e > 0) { // gradual underflow: one extra rounding, within one subnormal step
        assertEquals(e, got[i], Double.MIN_VALUE * 2, "x = " + x[i]);
      } else {
        within2Ulp(e, got[i], x[i]);
      }
    }
  }

  @Test
  void log1pIsWithinTwoUlpForTheSoftplusRange() {
    SplittableRandom rnd = new SplittableRandom(2);
    int n = 64 * 1024;
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = Math.exp(rnd.nextDouble(-745, 20)); // softplus reads log1p(e^x) for x ≤ 20
    }
    double[] special = {0.0, -0.0, 1e-320, 1e-17, 1e-8, 0.5, 1.0, Math.sqrt(2) - 1, 3.0, 1e300,
        Double.POSITIVE_INFINITY, Double.NaN, -1.0, -0.5, -2.0};
    System.arraycopy(special, 0, x, 0, special.length);
    double[] got = apply(false, x);
    for (int i = 0; i < n; i++) {
      within2Ulp(Math.log1p(x[i]), got[i], x[i]);
    }
  }
}
