package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;

/**
 * A block of forecasts {@code out += X β}: the Vector API kernel ({@link ProjectionVector}) equals
 * the scalar path ({@link LinearForecaster#projectScalar}) bit for bit (both one fused
 * multiply-add per feature, ascending), and both a naive float64 sum within 1e-13 of
 * {@code |out| + Σ_i |x_i β_ic|}, over block sizes and horizons at every tile edge; and a
 * forecaster's block of windows equals its windows one by one, bit for bit.
 */
class ProjectionTest {
  private static final double RELATIVE = 1e-13;

  @Test
  void bothPathsAreTheSameBitsAndEqualTheNaiveSums() {
    SplittableRandom random = new SplittableRandom(20261207);
    for (int count : new int[] {1, 2, 3, 4, 5, 8, 9}) {
      for (int h : new int[] {1, 7, 8, 9, 16, 17, 24, 33}) {
        int f = 1 + random.nextInt(40);
        int xOff = random.nextInt(4);
        int outOff = random.nextInt(4);
        double[] x = gaussian(random, xOff + count * f + 2);
        double[] beta = gaussian(random, f * h);
        double[] out0 = gaussian(random, outOff + count * h + 3);
        double[] scalar = out0.clone();
        LinearForecaster.projectScalar(x, xOff, count, f, beta, h, 0, h, scalar, outOff);
        String where = "count " + count + ", F " + f + ", H " + h;
        for (int j = 0; j < count; j++) {
          for (int c = 0; c < h; c++) {
            double sum = out0[outOff + j * h + c];
            double scale = Math.abs(sum);
            for (int i = 0; i < f; i++) {
              double p = x[xOff + j * f + i] * beta[i * h + c];
              sum += p;
              scale += Math.abs(p);
            }
            assertEquals(sum, scalar[outOff + j * h + c], RELATIVE * scale, where + " [" + j + ", " + c + "]");
          }
        }
        if (VectorSupport.ENABLED) {
          double[] vector = out0.clone();
          ProjectionVector.project(x, xOff, count, f, beta, h, vector, outOff);
          assertArrayEquals(scalar, vector, 0.0, where + ": vector vs scalar");
        }
      }
    }
  }

  @Test
  void aBlockOfWindowsIsTheirForecastsOneByOne() {
    SplittableRandom random = new SplittableRandom(7);
    int h = 19;
    for (String model : new String[] {"nlinear", "legt", "ssm"}) {
      WindowFeatures features = ForecastModels.features(model, 24);
      int f = features.featureCount();
      LinearForecaster m = LinearForecaster.of(features,
          RidgeSolution.of(f, h, gaussian(random, f * h), gaussian(random, h), 1e-3));
      int count = 11;
      double[] series = gaussian(random, features.rowsRead() + count + 5);
      double[] block = new double[count * h];
      WindowForecaster.Predictor p = m.predictor();
      p.predictBlock(series, 2, 1, count, new long[count], block, 0, h);
      double[] one = new double[h];
      for (int j = 0; j < count; j++) {
        p.predict(series, 2 + j, 0, one, 0);
        assertArrayEquals(one, java.util.Arrays.copyOfRange(block, j * h, (j + 1) * h), 0.0, model + " window " + j);
      }
      double[] strided = new double[count * (h + 2)];
      p.predictBlock(series, 2, 1, count, new long[count], strided, 0, h + 2); // another output stride
      for (int j = 0; j < count; j++) {
        assertArrayEquals(java.util.Arrays.copyOfRange(block, j * h, (j + 1) * h),
            java.util.Arrays.copyOfRange(strided, j * (h + 2), j * (h + 2) + h), 0.0, model + " strided " + j);
      }
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
