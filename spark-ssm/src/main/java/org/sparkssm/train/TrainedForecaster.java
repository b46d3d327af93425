package org.sparkssm.train;

import org.sparkssm.Checks;

/**
 * A trained network with its weights, ready to forecast a window of a multichannel series (the
 * value {@link LtsfTraining#run} hands back, so a job can plot or score what it picked).
 *
 * @param model the network
 * @param weights its flat weights, in {@link WindowModel#layout()}
 */
public record TrainedForecaster(WindowModel model, double[] weights) {
  public TrainedForecaster {
    Checks.notNull("model", model);
    Checks.notNull("weights", weights);
    if (weights.length != model.layout().size()) {
      Checks.fail("weights: expected %d values for %s, got %d", model.layout().size(), model.describe(),
          weights.length);
    }
  }

  /**
   * The forecast of rows {@code [start + L, start + L + H)} of every channel from rows
   * {@code [start, start + L)}: {@code out[channel][step]}.
   *
   * @param series the channels on the scale the model was trained on, {@code series[c][row]}
   */
  public double[][] forecast(double[][] series, int start) {
    int L = model.lookback();
    int H = model.horizon();
    int C = model.channels();
    if (series.length != C) {
      Checks.fail("series: expected %d channels for %s, got %d", C, model.describe(), series.length);
    }
    double[] x = new double[L * C];
    for (int c = 0; c < C; c++) {
      if (start < 0 || start + L > series[c].length) {
        Checks.fail("start: expected 0 <= start <= %d for a lookback of %d, got %d", series[c].length - L, L, start);
      }
      for (int t = 0; t < L; t++) {
        x[t * C + c] = series[c][start + t];
      }
    }
    double[] pred = new double[H * C];
    model.forward(weights, x, new long[] {start}, 1, pred, model.workspace(1), null);
    double[][] out = new double[C][H];
    for (int c = 0; c < C; c++) {
      for (int t = 0; t < H; t++) {
        out[c][t] = pred[t * C + c];
      }
    }
    return out;
  }
}
