package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A forecaster's block of windows ({@link LinearForecaster#predictBlock}, one product {@code X β}
 * for the block) against its windows one by one, bit for bit, at block sizes around the 4-row
 * register tile, and one window against a naive float64 sum {@code level + b + Σ_i x_i β_i} within
 * 1e-13 of {@code |level + b| + Σ_i |x_i β_i|}.
 */
class PredictBlockTest {
  @Test
  void aBlockOfWindowsIsTheirForecastsOneByOne() {
    SplittableRandom random = new SplittableRandom(7);
    int h = 19;
    for (String model : new String[] {"nlinear", "legt", "ssm"}) {
      WindowFeatures features = ForecastModels.features(model, 24);
      int f = features.featureCount();
      double[] beta = gaussian(random, f * h);
      double[] intercept = gaussian(random, h);
      LinearForecaster m = LinearForecaster.of(features, RidgeSolution.of(f, h, beta, intercept, 1e-3));
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
      double[] x = new double[f];
      for (int j = 0; j < count; j++) {
        features.features(series, 2 + j, x, 0);
        double level = features.level(series, 2 + j);
        for (int c = 0; c < h; c++) {
          double sum = level + intercept[c];
          double scale = Math.abs(sum);
          for (int i = 0; i < f; i++) {
            sum += x[i] * beta[i * h + c];
            scale += Math.abs(x[i] * beta[i * h + c]);
          }
          assertEquals(sum, block[j * h + c], 1e-13 * scale, model + " window " + j + " step " + c);
        }
      }
      for (int size = 1; size <= 9; size++) { // whole tiles of 4 windows and the rows after them
        double[] part = new double[size * h];
        p.predictBlock(series, 2, 1, size, new long[size], part, 0, h);
        assertArrayEquals(java.util.Arrays.copyOfRange(block, 0, size * h), part, 0.0, model + " block of " + size);
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
