package org.sparkssm.train;

import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.nn.InstanceNorm;
import org.sparkssm.nn.Linear;
import org.sparkssm.nn.ParameterLayout;

/**
 * The smallest trained forecaster, and the trainer's test bed: each channel's instance-normalized
 * lookback mapped to its horizon by one shared {@code Linear(L → H)} (RLinear without the affine
 * RevIN weights). Tensor {@code head.weight (H, L)}, {@code head.bias (H)}.
 */
public final class LinearNet implements WindowModel {
  private final int lookback;
  private final int horizon;
  private final int channels;
  private final ParameterLayout layout = new ParameterLayout();
  private final Linear head;
  private final InstanceNorm norm = InstanceNorm.standard();

  public LinearNet(int lookback, int horizon, int channels) {
    this.lookback = Checks.positive("lookback", lookback);
    this.horizon = Checks.positive("horizon", horizon);
    this.channels = Checks.positive("channels", channels);
    this.head = new Linear(layout, "head", lookback, horizon, true);
    layout.freeze();
  }

  @Override
  public String describe() {
    return "linear(L=" + lookback + ", H=" + horizon + ")";
  }

  @Override
  public ParameterLayout layout() {
    return layout;
  }

  @Override
  public int lookback() {
    return lookback;
  }

  @Override
  public int horizon() {
    return horizon;
  }

  @Override
  public int channels() {
    return channels;
  }

  @Override
  public void init(double[] w, long seed) {
    head.init(w, new SplittableRandom(seed));
  }

  private static final class Work implements Workspace {
    final double[] xn; // (B, L, C) normalized
    final double[] stats; // (B, 2C)
    final double[] tokens; // (B, C, L)
    final double[] out; // (B, C, H)
    final double[] f; // (B, H, C)
    final double[] dTokens;
    final double[] df;
    final double[] dStats;

    Work(int batch, int L, int H, int C) {
      xn = new double[batch * L * C];
      stats = new double[batch * 2 * C];
      tokens = new double[batch * C * L];
      out = new double[batch * C * H];
      f = new double[batch * H * C];
      dTokens = new double[batch * C * L];
      df = new double[batch * H * C];
      dStats = new double[2 * C];
    }
  }

  @Override
  public Workspace workspace(int maxBatch) {
    return new Work(maxBatch, lookback, horizon, channels);
  }

  @Override
  public void forward(double[] w, double[] x, int batch, double[] pred, Workspace workspace, long[] dropoutSeeds) {
    Work ws = (Work) workspace;
    int L = lookback;
    int H = horizon;
    int C = channels;
    for (int b = 0; b < batch; b++) {
      norm.normalize(x, b * L * C, L, C, ws.xn, b * L * C, ws.stats, b * 2 * C);
      org.sparkssm.nn.Tensors.transpose(ws.xn, b * L * C, L, C, ws.tokens, b * C * L);
    }
    head.forward(w, ws.tokens, 0, batch * C, ws.out, 0);
    for (int b = 0; b < batch; b++) {
      org.sparkssm.nn.Tensors.transpose(ws.out, b * C * H, C, H, ws.f, b * H * C);
      InstanceNorm.denormalize(ws.f, b * H * C, H, C, ws.stats, b * 2 * C, pred, b * H * C);
    }
  }

  @Override
  public void backward(double[] w, double[] gw, double[] dPred, int batch, Workspace workspace) {
    Work ws = (Work) workspace;
    int L = lookback;
    int H = horizon;
    int C = channels;
    double[] dOut = ws.out; // reused: the forward's output is not needed any more
    for (int b = 0; b < batch; b++) {
      InstanceNorm.backwardDenormalize(ws.f, b * H * C, dPred, b * H * C, H, C, ws.stats, b * 2 * C, ws.df, b * H * C,
          ws.dStats, 0);
      org.sparkssm.nn.Tensors.transpose(ws.df, b * H * C, H, C, dOut, b * C * H);
    }
    // The input is data: no gradient flows into the windows, so dx is not computed.
    head.backward(w, gw, ws.tokens, 0, dOut, 0, batch * C, null, 0);
  }
}
