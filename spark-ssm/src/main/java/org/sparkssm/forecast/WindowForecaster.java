package org.sparkssm.forecast;

import java.io.Serializable;

/**
 * A forecaster of the next H values of one series from the last {@link #rowsRead} values: what a
 * Spark task broadcasts and calls once per window, whether it is a closed-form
 * {@link LinearForecaster} or a trained network ({@link org.sparkssm.train.TrainedForecaster} of
 * one channel).
 */
public interface WindowForecaster extends Serializable {
  /** The past values a window reads. */
  int rowsRead();

  /** H. */
  int horizon();

  /** A predictor for one thread: it owns its scratch, so a task allocates once, not per window. */
  Predictor predictor();

  /** Forecasts window after window. */
  @FunctionalInterface
  interface Predictor {
    /**
     * Writes the H forecasts following {@code window[off .. off + rowsRead)} to
     * {@code out[outOff .. outOff + H)}.
     *
     * @param phase the position of the window's first value on the series' time axis (its step
     *     number, or its grid time divided by the step): the phase of a learned periodic component
     */
    void predict(double[] window, int off, long phase, double[] out, int outOff);

    /**
     * {@link #predict} of {@code count} windows: window j is {@code windows[off + j · stride ..]}
     * with phase {@code phases[j]}, its forecasts go to {@code out[outOff + j · outStride ..]}. The
     * same values as one window at a time; a predictor may share the weights' passes through the
     * cache across the block.
     */
    default void predictBlock(double[] windows, int off, int stride, int count, long[] phases, double[] out,
        int outOff, int outStride) {
      for (int j = 0; j < count; j++) {
        predict(windows, off + j * stride, phases[j], out, outOff + j * outStride);
      }
    }
  }
}
