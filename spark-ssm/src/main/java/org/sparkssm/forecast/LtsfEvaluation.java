package org.sparkssm.forecast;

import java.io.IOException;
import java.nio.file.Path;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LtsfSplit.Part;

/**
 * The long-sequence forecasting protocol of LTSF-Linear / Time-Series-Library, driver-side and in
 * pure Java: the standard split ({@link LtsfSplit}), every column z-scored with train-row
 * statistics, the multivariate 'M' setting with channel-independent windows (each channel's
 * window is one sample), stride 1, and MSE / MAE on the normalized scale averaged over every
 * test window × horizon step × channel. A fitted model's weights come from the training
 * windows; its penalty λ_rel is picked on the validation windows from their sufficient
 * statistics ({@link RidgeStats#select}); the test split is touched once, to score.
 */
public final class LtsfEvaluation {
  private LtsfEvaluation() {}

  /** One evaluation: test scores, the penalty picked and the work done. */
  public record Result(String dataset, String model, int lookback, int horizon, int features, double mse,
      double mae, double lambdaRel, double validationMse, long trainWindows, long testWindows, double seconds) {}

  /** Reads {@code csv} and evaluates the named model (see {@link ForecastModels}). */
  public static Result evaluate(Path csv, String model, int lookback, int horizon) throws IOException {
    LtsfData data = LtsfData.read(csv);
    String file = csv.getFileName().toString();
    return evaluate(data, LtsfSplit.forFile(file, data.rows()), model, lookback, horizon);
  }

  /** Evaluates the named model on already-read data. */
  public static Result evaluate(LtsfData data, LtsfSplit split, String model, int lookback, int horizon) {
    WindowFeatures f = ForecastModels.features(model, lookback);
    return evaluate(data, split, f, ForecastModels.isFitted(model), horizon, RidgeStats.DEFAULT_LAMBDAS);
  }

  /**
   * Evaluates a featurization: fitted (ridge on train, λ_rel from {@code lambdaRels} on
   * validation) or, when {@code fit} is false, with zero weights (the level alone: the naive
   * forecast for level-subtracting features).
   */
  public static Result evaluate(LtsfData data, LtsfSplit split, WindowFeatures features, boolean fit, int horizon,
      double[] lambdaRels) {
    Checks.notNull("data", data);
    Checks.notNull("split", split);
    Checks.notNull("features", features);
    long start = System.nanoTime();
    int l = features.rowsRead();
    split.check(data.source(), data.rows(), l, horizon);
    double[][] z = data.standardized(split.trainEnd());
    LinearForecaster model;
    double lambda = Double.NaN;
    double valMse = Double.NaN;
    long trainWindows = 0;
    if (fit) {
      Fit f = fit(z, split, features, horizon, lambdaRels);
      model = f.model();
      lambda = f.lambdaRel();
      valMse = f.validationMse();
      trainWindows = f.trainWindows();
    } else {
      model = LinearForecaster.of(features,
          new RidgeSolution(features.featureCount(), horizon, new double[features.featureCount() * horizon],
              new double[horizon], Double.NaN));
    }
    double[] err = new double[2];
    long testWindows = score(model, z, split, err);
    long values = testWindows * horizon;
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Result(data.source(), features.name(), l, horizon, features.featureCount(), err[0] / values,
        err[1] / values, lambda, valMse, trainWindows, testWindows, seconds);
  }

  /** A fitted linear forecaster, its penalty and its validation MSE. */
  public record Fit(LinearForecaster model, double lambdaRel, double validationMse, long trainWindows) {}

  /**
   * Ridge on the training windows of the z-scored channels {@code z}, λ_rel picked on the
   * validation windows: the closed-form forecaster of {@link #evaluate}, also the linear skip a
   * trained network can learn the residual of.
   */
  public static Fit fit(double[][] z, LtsfSplit split, WindowFeatures features, int horizon, double[] lambdaRels) {
    RidgeStats train = statistics(z, split, Part.TRAIN, features, horizon);
    RidgeStats val = statistics(z, split, Part.VALIDATION, features, horizon);
    RidgeStats.Selection sel = RidgeStats.select(train, val, lambdaRels, features.nestedFeatureCounts());
    double lambda = sel.best().lambdaRel();
    double valMse = Double.NaN;
    for (int k = 0; k < sel.lambdaRels().length; k++) {
      if (sel.lambdaRels()[k] == lambda) {
        valMse = sel.validationMse()[k];
      }
    }
    return new Fit(LinearForecaster.of(features, sel.best()), lambda, valMse, train.count());
  }

  /** Sufficient statistics of every channel's windows in one part of the split. */
  static RidgeStats statistics(double[][] z, LtsfSplit split, Part part, WindowFeatures features, int horizon) {
    int l = features.rowsRead();
    RidgeStats stats = new RidgeStats(features.featureCount(), horizon);
    int from = split.from(part, l);
    int len = split.to(part) - from;
    for (int c = 0; c < z.length; c++) {
      LinearForecaster.accumulate(features, z[c], from, len, horizon, stats);
    }
    return stats;
  }

  /** Sums of squared and absolute test errors into err[0], err[1]; returns the window count. */
  private static long score(LinearForecaster model, double[][] z, LtsfSplit split, double[] err) {
    int l = model.rowsRead();
    int h = model.horizon();
    int from = split.from(Part.TEST, l);
    int windows = split.windows(Part.TEST, l, h);
    double[] work = new double[model.workspaceSize()];
    double[] pred = new double[h];
    double sse = 0;
    double sae = 0;
    for (int c = 0; c < z.length; c++) {
      double[] s = z[c];
      for (int i = 0; i < windows; i++) {
        int w = from + i;
        model.predict(s, w, pred, 0, work);
        int t = w + l;
        for (int k = 0; k < h; k++) {
          double e = pred[k] - s[t + k];
          sse += e * e;
          sae += Math.abs(e);
        }
      }
    }
    err[0] = sse;
    err[1] = sae;
    return (long) windows * z.length;
  }
}
