package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;

/**
 * Both paths of the ridge statistics' rank-k update ({@link RankUpdateVector}, the register-tiled
 * Vector API kernel, and {@link RidgeStats#crossScalar}) against a naive float64 triple loop
 * {@code Σ_r x_ri x_rj}, {@code Σ_r x_ri y_rc}, over sizes that exercise every tile edge: F and H
 * below, at and past the 4 × 2·LANES tile, offsets into larger arrays, and C already holding
 * sums. The paths sum in different orders, so they agree to rounding: the tolerance is
 * 1e-12 relative to Σ_r |x_ri · b_rj| (the rounding of any summation order is bounded by
 * rows · ε times it).
 */
class RankUpdateTest {
  private static final double RELATIVE = 1e-12;

  @Test
  void bothPathsEqualTheNaiveSums() {
    SplittableRandom random = new SplittableRandom(20261201);
    int[] sizes = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 40};
    for (int f : sizes) {
      for (int h : new int[] {1, 3, 8, 9, 24}) {
        int rows = 1 + random.nextInt(64);
        int xOff = random.nextInt(5);
        int yOff = random.nextInt(5);
        double[] x = gaussian(random, xOff + rows * f + 3);
        double[] y = gaussian(random, yOff + rows * h + 2);
        double[] xtx0 = gaussian(random, f * f);
        double[] xty0 = gaussian(random, f * h);

        double[] xtxScalar = xtx0.clone();
        double[] xtyScalar = xty0.clone();
        RidgeStats.crossScalar(x, xOff, y, yOff, rows, f, h, xtxScalar, xtyScalar);
        check("scalar", f, h, rows, x, xOff, y, yOff, xtx0, xty0, xtxScalar, xtyScalar);

        if (VectorSupport.ENABLED) {
          double[] xtxVector = xtx0.clone();
          double[] xtyVector = xty0.clone();
          RankUpdateVector.addAtB(x, xOff, f, x, xOff, f, rows, xtxVector, f, f, f, true);
          RankUpdateVector.addAtB(x, xOff, f, y, yOff, h, rows, xtyVector, h, f, h, false);
          check("vector", f, h, rows, x, xOff, y, yOff, xtx0, xty0, xtxVector, xtyVector);
        }
      }
    }
  }

  @Test
  void theVectorPathRunsInTheTestJvm() {
    // Surefire passes --add-modules=jdk.incubator.vector (ssm.jvm.flags): without it the test
    // above would check the scalar path only.
    assertTrue(VectorSupport.ENABLED, "the Vector API path is enabled in tests");
  }

  private static void check(String path, int f, int h, int rows, double[] x, int xOff, double[] y, int yOff,
      double[] xtx0, double[] xty0, double[] xtx, double[] xty) {
    for (int i = 0; i < f; i++) {
      for (int j = i; j < f; j++) {
        double sum = xtx0[i * f + j];
        double scale = Math.abs(sum);
        for (int r = 0; r < rows; r++) {
          double p = x[xOff + r * f + i] * x[xOff + r * f + j];
          sum += p;
          scale += Math.abs(p);
        }
        String where = String.format("%s XᵀX[%d][%d] (F=%d, rows=%d)", path, i, j, f, rows);
        assertEquals(sum, xtx[i * f + j], RELATIVE * scale, where);
      }
      for (int c = 0; c < h; c++) {
        double sum = xty0[i * h + c];
        double scale = Math.abs(sum);
        for (int r = 0; r < rows; r++) {
          double p = x[xOff + r * f + i] * y[yOff + r * h + c];
          sum += p;
          scale += Math.abs(p);
        }
        String where = String.format("%s XᵀY[%d][%d] (F=%d, H=%d, rows=%d)", path, i, c, f, h, rows);
        assertEquals(sum, xty[i * h + c], RELATIVE * scale, where);
      }
    }
  }

  private static double[] gaussian(SplittableRandom random, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      // Box-Muller from two uniforms: SplittableRandom has no nextGaussian on Java 17.
      v[i] = Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }
    return v;
  }
}
