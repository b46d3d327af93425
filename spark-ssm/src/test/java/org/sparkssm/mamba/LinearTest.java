package org.sparkssm.mamba;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The projections' kernel against a naive float64 loop, and independent of which rows share a call. */
class LinearTest {
  @Test
  void equalsTheNaiveProductForShapesWithRemainders() {
    SplittableRandom rnd = new SplittableRandom(11);
    int[][] shapes = {{1, 1, 1}, {4, 3, 8}, {5, 7, 13}, {9, 4, 33}, {256, 97, 64}, {3, 2, 7}};
    for (int[] shape : shapes) {
      int rows = shape[0];
      int out = shape[1];
      int in = shape[2];
      double[] x = new double[3 + rows * in];
      double[] w = new double[out * in];
      for (int i = 0; i < x.length; i++) {
        x[i] = rnd.nextGaussian();
      }
      for (int i = 0; i < w.length; i++) {
        w[i] = rnd.nextGaussian();
      }
      double[] y = new double[2 + rows * out];
      MambaModel.Linear.apply(x, 3, rows, in, w, out, y, 2);
      double[] scalar = new double[2 + rows * out];
      MambaModel.Linear.applyScalar(x, 3, rows, in, w, out, scalar, 2);
      for (int t = 0; t < rows; t++) {
        for (int o = 0; o < out; o++) {
          double naive = 0;
          double scale = 0;
          for (int i = 0; i < in; i++) {
            naive += x[3 + t * in + i] * w[o * in + i];
            scale += Math.abs(x[3 + t * in + i] * w[o * in + i]);
          }
          String at = java.util.Arrays.toString(shape) + " at " + t + "," + o;
          // Summation order differs from the naive loop: rounding relative to Σ|x w|.
          assertEquals(naive, y[2 + t * out + o], 1e-14 * in * scale + 1e-300, at);
          assertEquals(naive, scalar[2 + t * out + o], 1e-14 * in * scale + 1e-300, at);
        }
      }
      // Each row alone gives bit for bit what it gave inside the call.
      for (int t = 0; t < rows; t++) {
        double[] one = new double[out];
        MambaModel.Linear.apply(x, 3 + t * in, 1, in, w, out, one, 0);
        for (int o = 0; o < out; o++) {
          assertEquals(y[2 + t * out + o], one[o], 0.0, "row " + t + " alone, output " + o);
        }
      }
    }
  }
}
