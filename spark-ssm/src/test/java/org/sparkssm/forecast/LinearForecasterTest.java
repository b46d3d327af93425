package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link LinearForecaster} against its formula written out:
 * <ul>
 *   <li>{@link LinearForecaster#predict}: {@code level + b_c + Σ_i x_i β_ic} by a plain loop, with
 *       x from the featurization itself (for LegT, LegS and the long memory: the features are
 *       tested in their own classes), and for linear and nlinear from the window directly;</li>
 *   <li>{@link LinearForecaster#accumulate}: a {@link RidgeStats} filled by a hand loop over every
 *       stride-1 window, one {@link RidgeStats#add} per window with targets minus the level.</li>
 * </ul>
 * Tolerance {@link Tolerances#F64}: the same float64 sums in a different order.
 */
class LinearForecasterTest {

  private static void assertFailsNaming(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"),
        "expected the message to name '" + argument + "', got: " + e.getMessage());
  }

  private static RidgeSolution randomWeights(SplittableRandom rnd, int f, int h) {
    return RidgeSolution.of(f, h, TestData.gaussian(rnd, f * h, 0.5), TestData.gaussian(rnd, h, 1.0), 0.1);
  }

  /** The forecaster's output at a nonzero offset, with a dirty workspace. */
  private static double[] predict(LinearForecaster model, double[] series, int off) {
    double[] out = new double[2 + model.horizon()];
    double[] work = new double[model.workspaceSize() + 3];
    Arrays.fill(work, Double.NaN);
    model.predict(series, off, out, 2, work);
    return Arrays.copyOfRange(out, 2, out.length);
  }

  @Test
  void predictIsTheLevelPlusTheWeightedFeaturesPlusTheIntercept() {
    SplittableRandom rnd = new SplittableRandom(501);
    int lookback = 9;
    WindowFeatures[] models = {
        LinearWindowFeatures.legt(lookback, 5),
        LinearWindowFeatures.legs(lookback, 4),
        LinearWindowFeatures.concat("mix", LinearWindowFeatures.nlinear(lookback),
            LinearWindowFeatures.s4d(lookback, 4, new double[] {0.05, 0.5})),
        LongMemoryFeatures.of(lookback, 3, 6),
    };
    for (WindowFeatures f : models) {
      for (int h : new int[] {1, 4}) {
        RidgeSolution w = randomWeights(rnd, f.featureCount(), h);
        LinearForecaster model = LinearForecaster.of(f, w);
        assertSame(f, model.features());
        assertSame(w, model.weights());
        assertEquals(f.rowsRead(), model.rowsRead());
        assertEquals(h, model.horizon());
        assertEquals(f.featureCount(), model.workspaceSize());
        int off = rnd.nextInt(4);
        double[] series = TestData.gaussian(rnd, off + f.rowsRead() + 2, 1.0);
        double[] x = new double[f.featureCount()];
        f.features(series, off, x, 0);
        double level = series[off + f.rowsRead() - 1];
        double[] beta = w.beta();
        double[] b = w.intercept();
        double[] expected = new double[h];
        for (int c = 0; c < h; c++) {
          double s = level + b[c];
          for (int i = 0; i < x.length; i++) {
            s += x[i] * beta[i * h + c];
          }
          expected[c] = s;
        }
        assertClose(f.name() + " H=" + h, expected, predict(model, series, off), Tolerances.F64);
      }
    }
  }

  @Test
  void linearAndNlinearPredictionsFollowFromTheWindowAlone() {
    SplittableRandom rnd = new SplittableRandom(502);
    int lookback = 6;
    int h = 3;
    double[] series = TestData.gaussian(rnd, lookback + 1, 1.0);
    int off = 1;
    double last = series[off + lookback - 1];

    RidgeSolution wl = randomWeights(rnd, lookback, h);
    double[] expected = new double[h];
    for (int c = 0; c < h; c++) {
      expected[c] = wl.intercept()[c];
      for (int k = 0; k < lookback; k++) {
        expected[c] += series[off + k] * wl.beta()[k * h + c];
      }
    }
    assertClose("linear", expected, predict(LinearForecaster.of(LinearWindowFeatures.linear(lookback), wl), series,
        off), Tolerances.F64);

    RidgeSolution wn = randomWeights(rnd, lookback - 1, h);
    for (int c = 0; c < h; c++) {
      expected[c] = last + wn.intercept()[c];
      for (int k = 0; k < lookback - 1; k++) {
        expected[c] += (series[off + k] - last) * wn.beta()[k * h + c];
      }
    }
    assertClose("nlinear", expected, predict(LinearForecaster.of(LinearWindowFeatures.nlinear(lookback), wn),
        series, off), Tolerances.F64);
  }

  @Test
  void theNaiveForecastRepeatsTheLastValue() {
    SplittableRandom rnd = new SplittableRandom(503);
    LinearForecaster naive = LinearForecaster.naive(5, 4);
    assertEquals(5, naive.rowsRead());
    assertEquals(4, naive.horizon());
    assertEquals(0, naive.weights().features());
    double[] series = TestData.gaussian(rnd, 8, 1.0);
    double[] expected = new double[4];
    Arrays.fill(expected, series[2 + 4]);
    assertClose("naive", expected, predict(naive, series, 2), Tolerances.F64);
  }

  @Test
  void accumulateAddsEveryStrideOneWindowWithTargetsMinusTheLevel() {
    SplittableRandom rnd = new SplittableRandom(504);
    WindowFeatures[] models = {
        LinearWindowFeatures.nlinear(5),
        LinearWindowFeatures.linear(4),
        LinearWindowFeatures.legt(7, 4),
        LongMemoryFeatures.of(3, 4, 5),
    };
    for (WindowFeatures f : models) {
      int l = f.rowsRead();
      for (int h : new int[] {1, 3}) {
        // Lengths from "one short of a window" to more than two blocks of windows.
        for (int len : new int[] {0, l + h - 1, l + h, l + h + 1, l + h + 150}) {
          int off = rnd.nextInt(5);
          double[] series = TestData.gaussian(rnd, off + len + rnd.nextInt(3), 1.0);
          // Both start from the same earlier samples: accumulate adds to what is there.
          RidgeStats got = new RidgeStats(f.featureCount(), h);
          RidgeStats expected = new RidgeStats(f.featureCount(), h);
          for (int i = 0; i < 3; i++) {
            double[] x = TestData.gaussian(rnd, f.featureCount(), 1.0);
            double[] y = TestData.gaussian(rnd, h, 1.0);
            got.add(x, 0, y, 0);
            expected.add(x, 0, y, 0);
          }
          long windows = LinearForecaster.accumulate(f, series, off, len, h, got);

          int count = Math.max(0, len - l - h + 1);
          double[] x = new double[f.featureCount()];
          double[] y = new double[h];
          for (int i = 0; i < count; i++) {
            f.features(series, off + i, x, 0);
            double level = f.level(series, off + i);
            for (int c = 0; c < h; c++) {
              y[c] = series[off + i + l + c] - level;
            }
            expected.add(x, 0, y, 0);
          }
          String what = f.name() + " L=" + l + " H=" + h + " len=" + len;
          assertEquals(count, windows, what + ": windows");
          assertEquals(3 + count, got.count(), what + ": count");
          assertClose(what + ": X'X", expected.gram(), got.gram(), Tolerances.F64);
          assertClose(what + ": sum x", expected.sumX(), got.sumX(), Tolerances.F64);
          assertClose(what + ": sum y", expected.sumY(), got.sumY(), Tolerances.F64);
          assertClose(what + ": X'Y", expected.crossXY(), got.crossXY(), Tolerances.F64);
          assertClose(what + ": sum y^2", expected.sumYY(), got.sumYY(), Tolerances.F64);
        }
      }
    }
  }

  @Test
  void badArgumentsFailNamingTheArgument() {
    WindowFeatures legt = LinearWindowFeatures.legt(6, 3);
    assertFailsNaming("weights", () -> LinearForecaster.of(legt, RidgeSolution.of(4, 2, new double[8],
        new double[2], 0)));
    assertFailsNaming("weights", () -> LinearForecaster.of(legt, null));
    assertFailsNaming("features", () -> LinearForecaster.of(null, RidgeSolution.of(3, 1, new double[3],
        new double[1], 0)));
    assertFailsNaming("horizon (H)", () -> LinearForecaster.naive(5, 0));
    assertFailsNaming("lookback (L)", () -> LinearForecaster.naive(0, 2));

    assertFailsNaming("stats", () -> LinearForecaster.accumulate(legt, new double[20], 0, 20, 2,
        new RidgeStats(3, 3)));
    assertFailsNaming("stats", () -> LinearForecaster.accumulate(legt, new double[20], 0, 20, 2,
        new RidgeStats(4, 2)));
    assertFailsNaming("stats", () -> LinearForecaster.accumulate(legt, new double[20], 0, 20, 2, null));
    assertFailsNaming("series", () -> LinearForecaster.accumulate(legt, new double[20], 5, 16, 2,
        new RidgeStats(3, 2)));
    assertFailsNaming("series", () -> LinearForecaster.accumulate(legt, null, 0, 0, 2, new RidgeStats(3, 2)));
    assertFailsNaming("features", () -> LinearForecaster.accumulate(null, new double[20], 0, 20, 2,
        new RidgeStats(3, 2)));

    assertFailsNaming("features (F)", () -> RidgeSolution.of(-1, 2, new double[0], new double[2], 0));
    assertFailsNaming("outputs (H)", () -> RidgeSolution.of(2, 0, new double[0], new double[0], 0));
    assertFailsNaming("beta", () -> RidgeSolution.of(2, 2, new double[3], new double[2], 0));
    assertFailsNaming("beta", () -> RidgeSolution.of(1, 1, new double[] {Double.NaN}, new double[1], 0));
    assertFailsNaming("intercept", () -> RidgeSolution.of(1, 2, new double[2], new double[1], 0));
  }

  @Test
  void weightsAreCopiedInAndOut() {
    double[] beta = {1, 2};
    double[] b = {3};
    RidgeSolution w = RidgeSolution.of(2, 1, beta, b, 0.25);
    beta[0] = 100;
    b[0] = 100;
    w.beta()[1] = 100;
    w.intercept()[0] = 100;
    assertEquals(1.0, w.beta()[0]);
    assertEquals(2.0, w.beta()[1]);
    assertEquals(3.0, w.intercept()[0]);
    assertEquals(0.25, w.lambdaRel());
  }
}
