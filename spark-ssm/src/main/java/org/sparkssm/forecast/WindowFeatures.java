package org.sparkssm.forecast;

import java.io.Serializable;

/**
 * A featurization of one lookback window of one channel (the channel-independent setting of
 * LTSF-Linear): {@code F} numbers from the window's {@code L} values. A forecaster predicts
 * {@code level + βᵀ features + b} for the next H values, so every implementation fixes two
 * things: the level that targets are measured from, and the features.
 *
 * <p>Instances are immutable and hold no per-call state, so one instance (a Spark broadcast)
 * serves every task thread of an executor; callers own all output arrays. Windows are read as
 * {@code window[off .. off+L)}, oldest value first.
 */
public interface WindowFeatures extends Serializable {

  /** The model's registered name, e.g. {@code "nlinear"} or {@code "legt"}. */
  String name();

  /**
   * The number of past values a window of the features reads: L for most models, more for a
   * model with a long memory ({@code ssm} reads 4 L). Not L itself, which a model is named with.
   */
  int rowsRead();

  /** F: the number of features written by {@link #features}. */
  int featureCount();

  /**
   * The value targets are measured from and predictions are added to: the window's last value
   * for level-subtracting models (NLinear and the SSM memories), 0 otherwise. Subtracting it
   * makes the regression invariant to the series' current level, which is what lets one linear
   * map serve windows from every part of a drifting series (NLinear's point).
   */
  double level(double[] window, int off);

  /**
   * Feature counts k &lt; F whose first k features alone are a model worth trying: the fit also
   * solves each such nested model and keeps whichever validates best (see
   * {@link RidgeStats#select(RidgeStats, RidgeStats, double[], int...)}). None by default.
   */
  default int[] nestedFeatureCounts() {
    return new int[0];
  }

  /** Writes the F features of {@code window[off .. off+L)} to {@code out[outOff .. outOff+F)}. */
  void features(double[] window, int off, double[] out, int outOff);
}
