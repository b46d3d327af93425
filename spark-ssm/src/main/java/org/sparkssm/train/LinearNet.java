package org.sparkssm.train;

import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.nn.Linear;
import org.sparkssm.nn.Precision;
import org.sparkssm.nn.Products;

/**
 * The smallest trained forecaster, and the trainer's test bed: each channel's instance-normalized
 * lookback mapped to its horizon by one shared {@code Linear(L → H)} (RLinear without the affine
 * RevIN weights; with a cycle period, CycleNet/Linear). Tensor {@code head.weight (H, L)},
 * {@code head.bias (H)}, and {@code cycle.data (W, C)} with a period W.
 */
public final class LinearNet extends FramedNet {
  private final Linear head;

  public LinearNet(int lookback, int horizon, int channels, int period, LinearForecaster ridge) {
    super(lookback, horizon, channels, period, ridge);
    this.head = new Linear(layout, "head", lookback, horizon, true);
    layout.freeze();
  }

  @Override
  public String describe() {
    return "rlinear(L=" + lookback + ", H=" + horizon + ", " + frameSettings() + ")";
  }

  @Override
  public void init(double[] w, long seed) {
    frame.init(w);
    head.init(w, new SplittableRandom(seed));
    zeroHeadUnderSkip(w, head);
  }

  private static final class Work implements Workspace {
    final ChannelFrame.Work frame;
    final double[] tokens; // (B·C, L)
    final double[] out; // (B·C, H), reused for its gradient in the backward
    Products products = Products.FLOAT64; // the linear layers' precision ({@link #computeIn})
    final double[] dTokens;

    Work(ChannelFrame frame, int batch, int L, int H, int C) {
      this.frame = frame.work(batch);
      tokens = new double[batch * C * L];
      out = new double[batch * C * H];
      dTokens = new double[batch * C * L];
    }
  }

  @Override
  public Workspace workspace(int maxBatch) {
    return new Work(frame, Checks.positive("batch", maxBatch), lookback, horizon, channels);
  }

  @Override
  public void computeIn(Workspace ws, Precision precision) {
    Work work = (Work) ws;
    work.products = Products.of(precision);
  }

  @Override
  public void forward(double[] w, double[] x, long[] rows, int batch, double[] pred, Workspace workspace,
      long[] dropoutSeeds) {
    Work ws = (Work) workspace;
    frame.in(w, x, rows, batch, ws.tokens, ws.frame);
    head.forward(w, ws.tokens, 0, batch * channels, ws.out, 0, ws.products);
    frame.out(w, ws.out, batch, pred, ws.frame);
  }

  @Override
  public void backward(double[] w, double[] gw, double[] dPred, int batch, Workspace workspace) {
    Work ws = (Work) workspace;
    double[] dOut = ws.out; // the forward's output is not needed any more
    frame.backwardOut(gw, dPred, batch, dOut, ws.frame);
    boolean tokens = frame.needsTokenGradient();
    head.backward(w, gw, ws.tokens, 0, dOut, 0, batch * channels, tokens ? ws.dTokens : null, 0, ws.products);
    frame.backwardTokens(gw, ws.dTokens, batch, ws.frame);
  }
}
