package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;

/**
 * Both paths of the linear features' map ({@link FeatureMapVector}, the Vector API kernel, and
 * {@link LinearWindowFeatures#applyScalar}) against a naive float64 loop
 * {@code Σ_k M[r, k] w[k] − level · Σ_k M[r, k]}, over lengths below, at and past a vector and
 * the four-vector step, with offsets into a longer series. The paths sum in different orders, so
 * they agree to rounding: within 1e-13 of {@code Σ_k |M[r, k] w[k]| + |level · (M 1)[r]|} (any
 * order's rounding is bounded by about L · ε = 3e-14 of it at L = 129).
 */
class FeatureMapTest {
  private static final double RELATIVE = 1e-13;

  @Test
  void bothPathsEqualTheNaiveSums() {
    SplittableRandom random = new SplittableRandom(20261206);
    for (int len : new int[] {1, 3, 4, 7, 8, 9, 31, 32, 33, 64, 100, 129}) {
      int rows = 1 + random.nextInt(6);
      double[] map = gaussian(random, rows * len);
      double[] rowSums = new double[rows];
      for (int r = 0; r < rows; r++) {
        for (int k = 0; k < len; k++) {
          rowSums[r] += map[r * len + k];
        }
      }
      int off = random.nextInt(7);
      double[] w = gaussian(random, off + len + 5);
      double level = w[off + len - 1];
      double[] scalar = new double[rows + 2];
      LinearWindowFeatures.applyScalar(map, rows, len, rowSums, w, off, level, scalar, 1);
      check("scalar", map, rows, len, rowSums, w, off, level, scalar, 1);
      if (VectorSupport.ENABLED) {
        double[] vector = new double[rows + 3];
        FeatureMapVector.apply(map, rows, len, rowSums, w, off, level, vector, 2);
        check("vector", map, rows, len, rowSums, w, off, level, vector, 2);
      }
    }
  }

  private static void check(String path, double[] map, int rows, int len, double[] rowSums, double[] w, int off,
      double level, double[] out, int outOff) {
    for (int r = 0; r < rows; r++) {
      double sum = 0;
      double scale = 0;
      for (int k = 0; k < len; k++) {
        double p = map[r * len + k] * w[off + k];
        sum += p;
        scale += Math.abs(p);
      }
      sum -= level * rowSums[r];
      scale += Math.abs(level * rowSums[r]);
      assertEquals(sum, out[outOff + r], RELATIVE * scale, path + " row " + r + " of L = " + len);
    }
  }

  private static double[] gaussian(SplittableRandom random, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = random.nextGaussian();
    }
    return v;
  }
}
