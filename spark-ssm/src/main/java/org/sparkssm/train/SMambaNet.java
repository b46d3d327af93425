package org.sparkssm.train;

import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.nn.BidirectionalMamba;
import org.sparkssm.nn.Dropout;
import org.sparkssm.nn.Linear;
import org.sparkssm.nn.Nonlinearity;
import org.sparkssm.nn.Norm;
import org.sparkssm.nn.Precision;
import org.sparkssm.nn.Products;
import org.sparkssm.nn.Tensors;

/**
 * Variate-token Mamba (S-Mamba, Wang et al. 2024; the idea Bi-Mamba+ refines): each channel's
 * instance-normalized lookback becomes one token, and Mamba scans across the channel tokens in both
 * directions, so the model learns how channels inform each other:
 *
 * <pre>
 *   x̃ = instance_norm(x)                                   (L, C)
 *   E = dropout(embedding(x̃ᵀ))                             (C, d_model)   Linear(L → d_model) per channel
 *   per layer:  E = norm1(E + dropout(mamba(E) + flip(mamba_r(flip(E)))))
 *               E = norm2(E + dropout(ffn2(dropout(gelu(ffn1(E))))))
 *   ŷ = denorm(projector(norm(E))ᵀ)                         (H, C)         Linear(d_model → H)
 * </pre>
 *
 * Mamba blocks as S-Mamba configures them: expand 1 (d_inner = d_model), d_conv 2,
 * dt_rank = ⌈d_model / 16⌉. Tensor names follow S-Mamba's modules ({@code layers.i.mamba.in_proj.weight},
 * {@code layers.i.mamba_r...}, {@code layers.i.ffn1.weight}, {@code norm.weight}, {@code projector.weight}).
 * S-Mamba also appends the calendar features as extra tokens; this network reads the values only,
 * and can learn a periodic component instead ({@link ChannelFrame}'s cycle).
 */
public final class SMambaNet extends FramedNet {
  private static final int D_CONV = 2;
  private static final int SCAN_CHUNK = 64;

  private final int dModel;
  private final int dFf;
  private final int dState;
  private final Linear embedding;
  private final BidirectionalMamba[] mamba;
  private final Norm[] norm1;
  private final Linear[] ffn1;
  private final Linear[] ffn2;
  private final Norm[] norm2;
  private final Norm norm;
  private final Linear projector;
  private final Dropout dropout;

  public SMambaNet(int lookback, int horizon, int channels, int dModel, int layers, int dState, int dFf,
      double dropout, int period, LinearForecaster ridge) {
    super(lookback, horizon, channels, period, ridge);
    this.dModel = Checks.positive("d_model", dModel);
    this.dFf = Checks.positive("d_ff", dFf);
    this.dState = Checks.positive("d_state", dState);
    Checks.positive("layers", layers);
    this.dropout = new Dropout(dropout);
    int dtRank = (dModel + 15) / 16;
    embedding = new Linear(layout, "embedding", lookback, dModel, true);
    mamba = new BidirectionalMamba[layers];
    norm1 = new Norm[layers];
    ffn1 = new Linear[layers];
    ffn2 = new Linear[layers];
    norm2 = new Norm[layers];
    for (int i = 0; i < layers; i++) {
      String p = "layers." + i + ".";
      mamba[i] = new BidirectionalMamba(layout, p + "mamba.", p + "mamba_r.", dModel, dModel, dState, dtRank, D_CONV,
          SCAN_CHUNK);
      norm1[i] = Norm.layerNorm(layout, p + "norm1", dModel, 1e-5);
      ffn1[i] = new Linear(layout, p + "ffn1", dModel, dFf, true);
      ffn2[i] = new Linear(layout, p + "ffn2", dFf, dModel, true);
      norm2[i] = Norm.layerNorm(layout, p + "norm2", dModel, 1e-5);
    }
    norm = Norm.layerNorm(layout, "norm", dModel, 1e-5);
    projector = new Linear(layout, "projector", dModel, horizon, true);
    layout.freeze();
  }

  @Override
  public String describe() {
    return String.format(java.util.Locale.ROOT, "smamba(L=%d, H=%d, C=%d, d_model=%d, layers=%d, d_state=%d, d_ff=%d, "
        + "dropout=%s, %s)", lookback, horizon, channels, dModel, mamba.length, dState, dFf, dropout.p(), frameSettings());
  }

  @Override
  public void init(double[] w, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    frame.init(w);
    embedding.init(w, rnd);
    for (int i = 0; i < mamba.length; i++) {
      mamba[i].init(w, rnd);
      norm1[i].init(w);
      ffn1[i].init(w, rnd);
      ffn2[i].init(w, rnd);
      norm2[i].init(w);
    }
    norm.init(w);
    projector.init(w, rnd);
    zeroHeadUnderSkip(w, projector);
  }

  /** Activations of one forward, kept for the backward. Token rows: {@code rows = batch × C}. */
  private final class Work implements Workspace {
    final ChannelFrame.Work frame;
    final double[] tokens; // (rows, L)
    final double[] dTokens; // (rows, L)
    final double[] embedMask; // (rows, dm)
    final double[][] in; // per layer: its input E (rows, dm)
    final BidirectionalMamba.Cache[] mambaCache;
    final double[][] mixed; // per layer: mamba output (rows, dm), dropout applied in place
    final double[][] mixMask;
    final double[][] r1; // per layer: E + mixed, the input of norm1
    final double[][] n1; // norm1 output
    final double[][] n1Stats;
    final double[][] h; // ffn1 output before gelu (rows, dFf)
    final double[][] a; // gelu(h) after dropout
    final double[][] aMask;
    final double[][] f; // ffn2 output after dropout (rows, dm)
    final double[][] fMask;
    final double[][] r2; // n1 + f
    final double[][] n2Stats;
    final double[] last; // the last layer's output (rows, dm)
    final double[] normed; // norm(last)
    final double[] normStats;
    final double[] proj; // (rows, H)
    // backward scratch
    final double[] g1; // (rows, dm)
    final double[] g2; // (rows, dm)
    final double[] g3; // (rows, dm)
    final double[] gh; // (rows, dFf)
    final double[] gProj; // (rows, H)
    boolean training; // the last forward ran with dropout: its masks apply to the backward
    Products products = Products.FLOAT64; // the linear layers' precision ({@link #computeIn})

    Work(int batch) {
      int rows = batch * channels;
      int n = mamba.length;
      frame = SMambaNet.this.frame.work(batch);
      tokens = new double[rows * lookback];
      dTokens = new double[rows * lookback];
      embedMask = new double[rows * dModel];
      in = new double[n][rows * dModel];
      mambaCache = new BidirectionalMamba.Cache[n];
      mixed = new double[n][rows * dModel];
      mixMask = new double[n][rows * dModel];
      r1 = new double[n][rows * dModel];
      n1 = new double[n][rows * dModel];
      n1Stats = new double[n][rows * 2];
      h = new double[n][rows * dFf];
      a = new double[n][rows * dFf];
      aMask = new double[n][rows * dFf];
      f = new double[n][rows * dModel];
      fMask = new double[n][rows * dModel];
      r2 = new double[n][rows * dModel];
      n2Stats = new double[n][rows * 2];
      for (int i = 0; i < n; i++) {
        mambaCache[i] = mamba[i].newCache(batch, channels);
      }
      last = new double[rows * dModel];
      normed = new double[rows * dModel];
      normStats = new double[rows * 2];
      proj = new double[rows * horizon];
      g1 = new double[rows * dModel];
      g2 = new double[rows * dModel];
      g3 = new double[rows * dModel];
      gh = new double[rows * dFf];
      gProj = new double[rows * horizon];
    }
  }

  @Override
  public Workspace workspace(int maxBatch) {
    return new Work(Checks.positive("batch", maxBatch));
  }

  @Override
  public void computeIn(Workspace ws, Precision precision) {
    Work work = (Work) ws;
    work.products = Products.of(precision);
    for (int i = 0; i < work.mambaCache.length; i++) {
      work.mambaCache[i].computeIn(precision);
    }
  }

  @Override
  public void runOn(Workspace ws, org.sparkssm.nn.LayerDevice device) {
    BidirectionalMamba.Cache[] caches = ((Work) ws).mambaCache;
    for (int i = 0; i < caches.length; i++) {
      caches[i].runOn(device);
    }
  }

  @Override
  public void forward(double[] w, double[] x, long[] rowsOf, int batch, double[] pred, Workspace workspace,
      long[] seeds) {
    Work ws = (Work) workspace;
    final int L = lookback;
    final int C = channels;
    final int H = horizon;
    final int rows = batch * C;
    final int dm = dModel;
    frame.in(w, x, rowsOf, batch, ws.tokens, ws.frame);
    double[] e = mamba.length > 0 ? ws.in[0] : ws.last;
    embedding.forward(w, ws.tokens, 0, rows, e, 0, ws.products);
    dropWindows(dropout, seeds, 0, e, ws.embedMask, batch, C * dm);
    for (int i = 0; i < mamba.length; i++) {
      double[] next = i + 1 < mamba.length ? ws.in[i + 1] : ws.last;
      double[] cur = ws.in[i];
      mamba[i].forward(w, cur, 0, batch, C, ws.mixed[i], 0, ws.mambaCache[i]);
      dropWindows(dropout, seeds, 1 + 4 * i, ws.mixed[i], ws.mixMask[i], batch, C * dm);
      Tensors.add(cur, 0, ws.mixed[i], 0, ws.r1[i], 0, rows * dm);
      norm1[i].forward(w, ws.r1[i], 0, rows, ws.n1[i], 0, ws.n1Stats[i], 0);
      ffn1[i].forward(w, ws.n1[i], 0, rows, ws.h[i], 0, ws.products);
      Nonlinearity.GELU.forward(ws.h[i], 0, ws.a[i], 0, rows * dFf);
      dropWindows(dropout, seeds, 2 + 4 * i, ws.a[i], ws.aMask[i], batch, C * dFf);
      ffn2[i].forward(w, ws.a[i], 0, rows, ws.f[i], 0, ws.products);
      dropWindows(dropout, seeds, 3 + 4 * i, ws.f[i], ws.fMask[i], batch, C * dm);
      Tensors.add(ws.n1[i], 0, ws.f[i], 0, ws.r2[i], 0, rows * dm);
      norm2[i].forward(w, ws.r2[i], 0, rows, next, 0, ws.n2Stats[i], 0);
    }
    norm.forward(w, ws.last, 0, rows, ws.normed, 0, ws.normStats, 0);
    projector.forward(w, ws.normed, 0, rows, ws.proj, 0, ws.products);
    frame.out(w, ws.proj, batch, pred, ws.frame);
    ws.training = seeds != null;
  }

  @Override
  public void backward(double[] w, double[] gw, double[] dPred, int batch, Workspace workspace) {
    Work ws = (Work) workspace;
    final int C = channels;
    final int H = horizon;
    final int rows = batch * C;
    final int dm = dModel;
    boolean mode = ws.training;
    frame.backwardOut(gw, dPred, batch, ws.gProj, ws.frame);
    projector.backward(w, gw, ws.normed, 0, ws.gProj, 0, rows, ws.g1, 0, ws.products);
    norm.backward(w, gw, ws.last, 0, ws.normStats, 0, ws.g1, 0, rows, ws.g2, 0);
    double[] g = ws.g2; // gradient of the current layer's output
    double[] spare = ws.g1;
    for (int i = mamba.length - 1; i >= 0; i--) {
      // E_out = norm2(r2), r2 = n1 + f
      norm2[i].backward(w, gw, ws.r2[i], 0, ws.n2Stats[i], 0, g, 0, rows, spare, 0); // spare = d r2
      double[] dr2 = spare;
      // f = drop(ffn2(a)); d n1 gets d r2 directly (residual) plus the FFN path.
      System.arraycopy(dr2, 0, ws.g3, 0, rows * dm); // g3 = d f (before undrop)
      undropWindows(dropout, mode, ws.g3, ws.fMask[i], rows * dm);
      ffn2[i].backward(w, gw, ws.a[i], 0, ws.g3, 0, rows, ws.gh, 0, ws.products);
      undropWindows(dropout, mode, ws.gh, ws.aMask[i], rows * dFf);
      Nonlinearity.GELU.backward(ws.h[i], 0, ws.gh, 0, ws.gh, 0, rows * dFf);
      ffn1[i].backward(w, gw, ws.n1[i], 0, ws.gh, 0, rows, g, 0, ws.products); // g = d n1 via FFN
      Tensors.addInto(g, 0, dr2, 0, rows * dm); // + residual
      // n1 = norm1(r1), r1 = E + mixed
      norm1[i].backward(w, gw, ws.r1[i], 0, ws.n1Stats[i], 0, g, 0, rows, spare, 0); // spare = d r1
      System.arraycopy(spare, 0, ws.g3, 0, rows * dm);
      undropWindows(dropout, mode, ws.g3, ws.mixMask[i], rows * dm);
      mamba[i].backward(w, gw, ws.g3, 0, batch, C, g, 0, ws.mambaCache[i]); // g = d E via mamba
      Tensors.addInto(g, 0, spare, 0, rows * dm); // + residual
    }
    undropWindows(dropout, mode, g, ws.embedMask, rows * dm);
    // The windows are data: the tokens' gradient matters only to the cycle.
    boolean tokens = frame.needsTokenGradient();
    embedding.backward(w, gw, ws.tokens, 0, g, 0, rows, tokens ? ws.dTokens : null, 0, ws.products);
    frame.backwardTokens(gw, ws.dTokens, batch, ws.frame);
  }
}
