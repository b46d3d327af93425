package org.sparkssm.train;

import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.nn.ParameterLayout;

/**
 * What the forecasting networks share: their shape (L, H, C), their parameter layout and the
 * {@link ChannelFrame} at both ends (instance norm, the optional cycle, the optional linear skip),
 * whose tensors come first in the layout.
 */
abstract class FramedNet implements WindowModel {
  final int lookback;
  final int horizon;
  final int channels;
  final ParameterLayout layout = new ParameterLayout();
  final ChannelFrame frame;

  FramedNet(int lookback, int horizon, int channels, int period, LinearForecaster ridge) {
    this.lookback = Checks.positive("lookback", lookback);
    this.horizon = Checks.positive("horizon", horizon);
    this.channels = Checks.positive("channels", channels);
    Checks.nonNegative("cycle period", period);
    this.frame = new ChannelFrame(layout, lookback, horizon, channels, period, ridge);
  }

  /** The frame's settings as {@link #describe()} ends them. */
  String frameSettings() {
    return "cycle=" + frame.period() + ", skip=" + (frame.hasSkip() ? "nlinear" : "none");
  }

  /**
   * With a linear skip, the output maps start at zero, so the untrained network is exactly the
   * closed-form forecaster and training learns its residual from there (the trainer's epoch 0
   * keeps it when no epoch does better on validation). Without a skip, nothing changes.
   */
  void zeroHeadUnderSkip(double[] w, org.sparkssm.nn.Linear... heads) {
    if (frame.hasSkip()) {
      for (int i = 0; i < heads.length; i++) {
        heads[i].zero(w);
      }
    }
  }

  /** Dropout in place over each window's rows, its mask seeded by the window's seed and the site; training only. */
  static void dropWindows(org.sparkssm.nn.Dropout dropout, long[] seeds, int site, double[] x, double[] mask,
      int batch, int perWindow) {
    if (seeds == null || !dropout.active()) {
      return;
    }
    for (int b = 0; b < batch; b++) {
      dropout.forward(Trainer.mix(seeds[b], site), x, b * perWindow, perWindow, x, b * perWindow, mask,
          b * perWindow);
    }
  }

  /** The backward of {@link #dropWindows} in place; nothing unless the forward ran in training mode. */
  static void undropWindows(org.sparkssm.nn.Dropout dropout, boolean training, double[] g, double[] mask, int n) {
    if (training && dropout.active()) {
      org.sparkssm.nn.Dropout.backward(mask, 0, g, 0, n, g, 0);
    }
  }

  @Override
  public final ParameterLayout layout() {
    return layout;
  }

  @Override
  public final int lookback() {
    return lookback;
  }

  @Override
  public final int horizon() {
    return horizon;
  }

  @Override
  public final int channels() {
    return channels;
  }
}
