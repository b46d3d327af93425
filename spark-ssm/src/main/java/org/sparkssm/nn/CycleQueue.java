package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * CycleNet's residual cycle (Lin et al. 2024, "CycleNet: Enhancing Time Series Forecasting through
 * Modeling Periodic Patterns"): a learnable queue {@code Q} of one period ({@code W × C}, tensor
 * {@code <name>.data}) holding each channel's recurring pattern. The lookback has its cycle
 * removed before the network, {@code x'[t, c] = x[t, c] - Q[(s + t) mod W, c]}, and the forecast
 * gets it back, {@code ŷ[k, c] = y[k, c] + Q[(s + L + k) mod W, c]}, where {@code s} is the row of
 * the window's first value: the phase is the row index modulo the period, as in CycleNet (rows are
 * evenly spaced). Zero-initialized, so an untrained queue changes nothing.
 */
public final class CycleQueue {
  private final int period;
  private final int channels;
  private final int data;

  public CycleQueue(ParameterLayout layout, String name, int period, int channels) {
    this.period = Checks.positive(name + " period", period);
    this.channels = Checks.positive(name + " channels", channels);
    this.data = layout.add(name + ".data", period, channels);
  }

  /** Zeros: an untrained queue removes and adds nothing. */
  public void init(double[] w) {
    Init.fill(w, data, period * channels, 0.0);
  }

  public int period() {
    return period;
  }

  /** {@code x[t, c] += sign · Q[(row + t) mod W, c]} over {@code len} rows of C (time-major) from xOff. */
  public void apply(double[] w, double sign, double[] x, int xOff, int len, long row) {
    int C = channels;
    int p = (int) Math.floorMod(row, (long) period);
    for (int t = 0; t < len; t++) {
      int q = data + p * C;
      int xr = xOff + t * C;
      for (int c = 0; c < C; c++) {
        x[xr + c] += sign * w[q + c];
      }
      p = p + 1 == period ? 0 : p + 1;
    }
  }

  /** The backward of {@link #apply}: {@code gQ[(row + t) mod W, c] += sign · g[t, c]}. */
  public void backward(double[] gw, double sign, double[] g, int gOff, int len, long row) {
    int C = channels;
    int p = (int) Math.floorMod(row, (long) period);
    for (int t = 0; t < len; t++) {
      int q = data + p * C;
      int gr = gOff + t * C;
      for (int c = 0; c < C; c++) {
        gw[q + c] += sign * g[gr + c];
      }
      p = p + 1 == period ? 0 : p + 1;
    }
  }
}
