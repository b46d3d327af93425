package org.sparkssm.forecast;

import org.sparkssm.Checks;
import org.sparkssm.nn.MatMul;

/**
 * A fitted forecaster {@code ŷ_{t+1..t+H} = level + βᵀ features(window) + b}: a
 * {@link WindowFeatures} and the ridge weights fitted on its features. Immutable and
 * Serializable, so one broadcast instance serves every task; {@link #predict} writes into caller
 * arrays and takes a caller workspace, so a partition allocates once, not per window.
 *
 * <p>{@link #accumulate} is the matching training step: it turns every window of a series
 * segment into (features, targets − level) rows of a {@link RidgeStats}, which is what a Spark
 * task runs over its partition before the statistics are merged.
 */
public final class LinearForecaster implements WindowForecaster {
  private static final long serialVersionUID = 1L;

  private final WindowFeatures features;
  private final RidgeSolution weights;

  private LinearForecaster(WindowFeatures features, RidgeSolution weights) {
    this.features = features;
    this.weights = weights;
  }

  /**
   * @param features the featurization the weights were fitted on
   * @param weights F×H weights with F = {@code features.featureCount()}
   */
  public static LinearForecaster of(WindowFeatures features, RidgeSolution weights) {
    Checks.notNull("features", features);
    Checks.notNull("weights", weights);
    if (weights.features() != features.featureCount()) {
      Checks.fail("weights: expected F = %d features (%s), got F = %d", features.featureCount(), features.name(),
          weights.features());
    }
    return new LinearForecaster(features, weights);
  }

  /** The last-value forecast ("Repeat" in LTSF-Linear): nothing fitted, every step = the last value. */
  public static LinearForecaster naive(int lookback, int horizon) {
    Checks.positive("horizon (H)", horizon);
    return new LinearForecaster(LinearWindowFeatures.naive(lookback),
        new RidgeSolution(0, horizon, new double[0], new double[horizon], Double.NaN));
  }

  public WindowFeatures features() {
    return features;
  }

  public RidgeSolution weights() {
    return weights;
  }

  /** The past values a window reads ({@link WindowFeatures#rowsRead}: 4 L for {@code ssm}). */
  @Override
  public int rowsRead() {
    return features.rowsRead();
  }

  /** H. */
  @Override
  public int horizon() {
    return weights.outputs();
  }

  /**
   * {@link #predict} with its own workspace, grown to the largest block it is given (the phase is
   * not read: nothing here is periodic). A block's forecasts equal its windows' one by one, bit for
   * bit.
   */
  @Override
  public Predictor predictor() {
    return new Predictor() {
      private double[] work = new double[workspaceSize()];

      @Override
      public void predict(double[] window, int off, long phase, double[] out, int outOff) {
        LinearForecaster.this.predict(window, off, out, outOff, work);
      }

      @Override
      public void predictBlock(double[] windows, int off, int stride, int count, long[] phases, double[] out,
          int outOff, int outStride) {
        if (outStride != horizon()) {
          Predictor.super.predictBlock(windows, off, stride, count, phases, out, outOff, outStride);
          return;
        }
        if (work.length < count * workspaceSize()) {
          work = new double[count * workspaceSize()];
        }
        LinearForecaster.this.predictBlock(windows, off, stride, count, out, outOff, work);
      }
    };
  }

  /** The length {@link #predict}'s workspace needs (F). */
  public int workspaceSize() {
    return features.featureCount();
  }

  /**
   * Writes the H forecasts following {@code window[off .. off+L)} to {@code out[outOff .. outOff+H)}.
   *
   * @param work a workspace of at least {@link #workspaceSize()} doubles, overwritten
   */
  public void predict(double[] window, int off, double[] out, int outOff, double[] work) {
    assert off >= 0 && off + rowsRead() <= window.length : "window range";
    assert outOff >= 0 && outOff + horizon() <= out.length : "out range";
    assert work.length >= workspaceSize() : "workspace size";
    predictBlock(window, off, 0, 1, out, outOff, work);
  }

  /**
   * {@link #predict} of {@code count} windows at once, window j at {@code windows[off + j · stride]},
   * its forecasts at {@code out[outOff + j · H]}: one matrix product {@code X β} for the block
   * ({@link MatMul#accumulateDyW}'s register tiles), so β (F · H doubles, 1 MB for {@code ssm} at
   * L = H = 336) passes through the cache once per 4 windows, not once per window; the forecasts
   * have the bits of {@link #predict}'s.
   *
   * @param work a workspace of at least {@code count ·} {@link #workspaceSize()} doubles, overwritten
   */
  public void predictBlock(double[] windows, int off, int stride, int count, double[] out, int outOff,
      double[] work) {
    final int f = features.featureCount();
    final int h = weights.outputs();
    for (int j = 0; j < count; j++) {
      int w = off + j * stride;
      features.features(windows, w, work, j * f);
      double level = features.level(windows, w);
      int o = outOff + j * h;
      for (int c = 0; c < h; c++) {
        out[o + c] = level + weights.intercept[c];
      }
    }
    // out += X β (X: count × F, β: F × H), every element one fused multiply-add per feature in
    // ascending order on either path of MatMul, so a window's forecast has the same bits in any block.
    MatMul.accumulateDyW(work, 0, count, f, weights.beta, 0, h, out, outOff);
  }

  /**
   * Adds every window of {@code series[off .. off+len)} with stride 1 to {@code stats}: window i
   * is {@code series[off+i .. off+i+L)}, its targets the next H values minus the window's level,
   * for i = 0 … len − L − H. A segment shorter than L + H adds nothing.
   *
   * @return the number of windows added
   */
  public static long accumulate(WindowFeatures features, double[] series, int off, int len, int horizon,
      RidgeStats stats) {
    Checks.notNull("features", features);
    Checks.notNull("stats", stats);
    Checks.range("series", series, off, len);
    int l = features.rowsRead();
    int f = features.featureCount();
    if (stats.features() != f || stats.outputs() != horizon) {
      Checks.fail("stats: expected F = %d (%s) and H = %d, got F = %d, H = %d", f, features.name(), horizon,
          stats.features(), stats.outputs());
    }
    int windows = len - l - horizon + 1;
    if (windows <= 0) {
      return 0;
    }
    int block = RidgeStats.BLOCK;
    double[] x = new double[block * f];
    double[] y = new double[block * horizon];
    int rows = 0;
    for (int i = 0; i < windows; i++) {
      int w = off + i;
      features.features(series, w, x, rows * f);
      double level = features.level(series, w);
      int t = w + l;
      int yr = rows * horizon;
      for (int c = 0; c < horizon; c++) {
        y[yr + c] = series[t + c] - level;
      }
      if (++rows == block) {
        stats.addBlock(x, 0, y, 0, rows);
        rows = 0;
      }
    }
    if (rows > 0) {
      stats.addBlock(x, 0, y, 0, rows);
    }
    return windows;
  }
}
