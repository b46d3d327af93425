package org.sparkssm.train;

import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.nn.CycleQueue;
import org.sparkssm.nn.InstanceNorm;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.nn.Tensors;

/**
 * The two ends every forecasting network here shares, written once: a window {@code (L, C)} is
 * instance-normalized, has its cycle removed when a period is set ({@link CycleQueue}) and becomes
 * one row of L values per channel ({@code tokens (B·C, L)}); the network's rows of H values per
 * channel ({@code (B·C, H)}) get the cycle back and are denormalized into the forecast
 * {@code (B, H, C)}: {@code ŷ = f σ + base}, where the base is the window's mean μ, or, with a
 * linear skip, the closed-form forecaster's prediction (then the network learns the residual of
 * the ridge forecast, on the window's scale; the skip is fixed, not trained). The backward runs the same steps in reverse; the gradient reaching the
 * tokens matters only to the cycle (the window itself is data).
 */
final class ChannelFrame {
  private final int lookback;
  private final int horizon;
  private final int channels;
  private final CycleQueue cycle; // null: none
  private final LinearForecaster skip; // null: the base is the mean
  private final InstanceNorm norm = InstanceNorm.standard();

  ChannelFrame(ParameterLayout layout, int lookback, int horizon, int channels, int period, LinearForecaster skip) {
    this.lookback = lookback;
    this.horizon = horizon;
    this.channels = channels;
    this.cycle = period > 0 ? new CycleQueue(layout, "cycle", period, channels) : null;
    if (skip != null && (skip.rowsRead() != lookback || skip.horizon() != horizon)) {
      org.sparkssm.Checks.fail("linear skip: expected L=%d rows read, H=%d, got %d rows read, H=%d", lookback, horizon, skip.rowsRead(),
          skip.horizon());
    }
    this.skip = skip;
  }

  /** Whether the forecast adds onto a linear skip. */
  boolean hasSkip() {
    return skip != null;
  }

  /** Zeros the cycle (when there is one). */
  void init(double[] w) {
    if (cycle != null) {
      cycle.init(w);
    }
  }

  /** Whether the tokens' gradient is needed ({@link #backwardTokens} does something). */
  boolean needsTokenGradient() {
    return cycle != null;
  }

  int period() {
    return cycle == null ? 0 : cycle.period();
  }

  /** Per-thread buffers of both ends. */
  static final class Work {
    final double[] xn; // (B, L, C)
    final double[] stats; // (B, 2C)
    final double[] f; // (B, H, C): the network's output with the cycle, before denormalization
    final double[] gf; // (B, H, C)
    final long[] rows; // each window's first row
    final double[] base; // (B, H, C): the linear skip's forecast (unused without a skip)
    final double[] dStats; // (2C) scratch: the statistics' gradient, not needed
    final double[] column; // (L) one channel's window
    final double[] forecast; // (H)
    final double[] skipWork;

    Work(int batch, int L, int H, int C, int skipWork) {
      xn = new double[batch * L * C];
      stats = new double[batch * 2 * C];
      f = new double[batch * H * C];
      gf = new double[batch * H * C];
      rows = new long[batch];
      base = new double[batch * H * C];
      dStats = new double[2 * C];
      column = new double[L];
      forecast = new double[H];
      this.skipWork = new double[skipWork];
    }
  }

  Work work(int batch) {
    return new Work(batch, lookback, horizon, channels, skip == null ? 0 : skip.workspaceSize());
  }

  /** Windows {@code x (B, L, C)} to {@code tokens (B·C, L)}. */
  void in(double[] w, double[] x, long[] rows, int batch, double[] tokens, Work ws) {
    int L = lookback;
    int C = channels;
    for (int b = 0; b < batch; b++) {
      norm.normalize(x, b * L * C, L, C, ws.xn, b * L * C, ws.stats, b * 2 * C);
      int H = horizon;
      for (int c = 0; skip != null && c < C; c++) {
        for (int t = 0; t < L; t++) {
          ws.column[t] = x[(b * L + t) * C + c];
        }
        skip.predict(ws.column, 0, ws.forecast, 0, ws.skipWork);
        for (int k = 0; k < H; k++) {
          ws.base[(b * H + k) * C + c] = ws.forecast[k];
        }
      }
      if (cycle != null) {
        ws.rows[b] = rows[b];
        cycle.apply(w, -1.0, ws.xn, b * L * C, L, rows[b]);
      }
      Tensors.transpose(ws.xn, b * L * C, L, C, tokens, b * C * L);
    }
  }

  /** The network's {@code out (B·C, H)} to the forecast {@code pred (B, H, C)}. */
  void out(double[] w, double[] out, int batch, double[] pred, Work ws) {
    int L = lookback;
    int H = horizon;
    int C = channels;
    for (int b = 0; b < batch; b++) {
      Tensors.transpose(out, b * C * H, C, H, ws.f, b * H * C);
      if (cycle != null) {
        cycle.apply(w, 1.0, ws.f, b * H * C, H, ws.rows[b] + L);
      }
      InstanceNorm.denormalize(ws.f, b * H * C, H, C, ws.stats, b * 2 * C, skip == null ? null : ws.base, b * H * C,
          pred, b * H * C);
    }
  }

  /** From the forecast's gradient to the network output's {@code dOut (B·C, H)}; accumulates the cycle's gradient. */
  void backwardOut(double[] gw, double[] dPred, int batch, double[] dOut, Work ws) {
    int L = lookback;
    int H = horizon;
    int C = channels;
    for (int b = 0; b < batch; b++) {
      // df = dŷ σ; the statistics' and the skip's gradients (dStats) reach only the window, which is data.
      InstanceNorm.backwardDenormalize(ws.f, b * H * C, dPred, b * H * C, H, C, ws.stats, b * 2 * C, ws.gf, b * H * C,
          ws.dStats, 0);
      if (cycle != null) {
        cycle.backward(gw, 1.0, ws.gf, b * H * C, H, ws.rows[b] + L);
      }
      Tensors.transpose(ws.gf, b * H * C, H, C, dOut, b * C * H);
    }
  }

  /** The cycle's gradient from the tokens' gradient {@code dTokens (B·C, L)}; nothing without a cycle. */
  void backwardTokens(double[] gw, double[] dTokens, int batch, Work ws) {
    if (cycle == null) {
      return;
    }
    int L = lookback;
    int C = channels;
    for (int b = 0; b < batch; b++) {
      Tensors.transpose(dTokens, b * C * L, C, L, ws.xn, b * L * C); // xn is free after the forward
      cycle.backward(gw, -1.0, ws.xn, b * L * C, L, ws.rows[b]);
    }
  }
}
