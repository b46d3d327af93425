package org.sparkssm.train;

import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.nn.Dropout;
import org.sparkssm.nn.Linear;
import org.sparkssm.nn.Nonlinearity;
import org.sparkssm.nn.Norm;
import org.sparkssm.nn.Precision;
import org.sparkssm.nn.Products;
import org.sparkssm.nn.S4dLayer;
import org.sparkssm.nn.Tensors;

/**
 * Deep S4D over time, channel-independent (each channel's window is its own sequence, the weights
 * shared, as PatchTST and LTSF-Linear treat channels): a stack of pre-norm residual S4D blocks
 * with GELU and a GLU output map (the S4 repository's sequence-model block), then a per-step
 * decoder and a linear map over time to the horizon, plus a linear skip from the normalized window
 * (so the network starts as, and can fall back to, RLinear):
 *
 * <pre>
 *   u = instance_norm(x)ᵀ                                  (C, L) per window
 *   E = encoder(u)                                          (C, L, d_model)   Linear(1 → d_model) per step
 *   per layer:  E = E + dropout(glu(out(dropout(gelu(s4d(norm(E)))))))      out: Linear(d_model → 2 d_model)
 *   ŷ = denorm((time_head(decoder(norm(E))) + skip(u))ᵀ)     (H, C)            decoder: d_model → 1; time_head, skip: L → H
 * </pre>
 *
 * S4D layers have {@code d_state} complex modes per channel (S4D-Lin init, trainable Δ).
 *
 * <p>Precision ({@link #computeIn}): in both float32 modes the linear layers run in float32
 * ({@link Products}) and so do the S4D layers' convolutions and their correlations
 * ({@link S4dLayer.Cache#computeIn}: the layers run in convolution mode and keep no state, so
 * FLOAT32 and FLOAT32_STATE64 are the same here); the S4D kernel and its chain to the parameters,
 * the norms, GELU, GLU, the residual stream and the weights and gradients stay float64.
 */
public final class S4dNet extends FramedNet {
  private static final int SCAN_CHUNK = 32;

  private final int dModel;
  private final int dState;
  private final Linear encoder;
  private final Norm[] norms;
  private final S4dLayer[] s4d;
  private final Linear[] out;
  private final Norm norm;
  private final Linear decoder;
  private final Linear timeHead;
  private final Linear skip;
  private final Dropout dropout;

  public S4dNet(int lookback, int horizon, int channels, int dModel, int layers, int dState, int dFf,
      double dropout, int period, LinearForecaster ridge) {
    super(lookback, horizon, channels, period, ridge);
    this.dModel = Checks.positive("d_model", dModel);
    this.dState = Checks.positive("d_state", dState);
    Checks.positive("layers", layers);
    Checks.positive("d_ff", dFf); // the GLU's width is 2 d_model; d_ff is accepted for a uniform grid
    this.dropout = new Dropout(dropout);
    encoder = new Linear(layout, "encoder", 1, dModel, true);
    norms = new Norm[layers];
    s4d = new S4dLayer[layers];
    out = new Linear[layers];
    for (int i = 0; i < layers; i++) {
      String p = "layers." + i + ".";
      norms[i] = Norm.layerNorm(layout, p + "norm", dModel, 1e-5);
      // Convolution mode: at L ~ 10^2 one kernel per call and a direct convolution cost far less than the
      // recurrence and its adjoint (same layer, same parameters, equal results; S4dLayerTest).
      s4d[i] = new S4dLayer(layout, p + "s4d", dModel, dState, SCAN_CHUNK, S4dLayer.Mode.CONVOLUTION);
      out[i] = new Linear(layout, p + "out", dModel, 2 * dModel, true);
    }
    norm = Norm.layerNorm(layout, "norm", dModel, 1e-5);
    decoder = new Linear(layout, "decoder", dModel, 1, true);
    timeHead = new Linear(layout, "time_head", lookback, horizon, true);
    skip = new Linear(layout, "skip", lookback, horizon, false);
    layout.freeze();
  }

  @Override
  public String describe() {
    return String.format(java.util.Locale.ROOT, "s4dnet(L=%d, H=%d, C=%d, d_model=%d, layers=%d, d_state=%d, dropout=%s, %s)",
        lookback, horizon, channels, dModel, s4d.length, dState, dropout.p(), frameSettings());
  }

  @Override
  public void init(double[] w, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    frame.init(w);
    encoder.init(w, rnd);
    for (int i = 0; i < s4d.length; i++) {
      norms[i].init(w);
      s4d[i].init(w, rnd);
      out[i].init(w, rnd);
    }
    norm.init(w);
    decoder.init(w, rnd);
    timeHead.init(w, rnd);
    skip.init(w, rnd);
    zeroHeadUnderSkip(w, timeHead, skip);
  }

  /** Activations of one forward. Sequences: {@code seqs = batch × C}, steps {@code seqs × L}. */
  private final class Work implements Workspace {
    final ChannelFrame.Work frame;
    final double[] u; // (seqs, L)
    final double[] du; // (seqs, L)
    final double[][] e; // per layer: its input (steps, dm); e[layers] is the last output
    final double[][] z; // norm(e)
    final double[][] zStats;
    final S4dLayer.Cache[] cache;
    Products products = Products.FLOAT64; // the linear layers' precision ({@link #computeIn})
    final double[][] s; // s4d output (steps, dm)
    final double[][] a; // gelu(s), dropout applied
    final double[][] aMask;
    final double[][] o; // out(a) (steps, 2 dm)
    final double[][] gMask; // dropout after the GLU (steps, dm)
    final double[] n; // norm(e_last)
    final double[] nStats;
    final double[] dec; // (seqs, L)
    final double[] y; // (seqs, H)
    final double[] g1; // (steps, dm)
    final double[] g2;
    final double[] g3;
    final double[] go; // (steps, 2 dm)
    final double[] gy; // (seqs, H)
    final double[] gDec; // (seqs, L)
    boolean training;

    Work(int batch) {
      int seqs = batch * channels;
      int steps = seqs * lookback;
      int layers = s4d.length;
      frame = S4dNet.this.frame.work(batch);
      u = new double[steps];
      du = new double[steps];
      e = new double[layers + 1][steps * dModel];
      z = new double[layers][steps * dModel];
      zStats = new double[layers][steps * 2];
      cache = new S4dLayer.Cache[layers];
      s = new double[layers][steps * dModel];
      a = new double[layers][steps * dModel];
      aMask = new double[layers][steps * dModel];
      o = new double[layers][steps * 2 * dModel];
      gMask = new double[layers][steps * dModel];
      for (int i = 0; i < layers; i++) {
        cache[i] = s4d[i].newCache(seqs, lookback);
      }
      n = new double[steps * dModel];
      nStats = new double[steps * 2];
      dec = new double[steps];
      y = new double[seqs * horizon];
      g1 = new double[steps * dModel];
      g2 = new double[steps * dModel];
      g3 = new double[steps * dModel];
      go = new double[steps * 2 * dModel];
      gy = new double[seqs * horizon];
      gDec = new double[steps];
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
    for (int i = 0; i < work.cache.length; i++) {
      work.cache[i].computeIn(precision);
    }
  }

  @Override
  public void runOn(Workspace ws, org.sparkssm.nn.LayerDevice device) {
    S4dLayer.Cache[] caches = ((Work) ws).cache;
    for (int i = 0; i < caches.length; i++) {
      caches[i].runOn(device);
    }
  }

  @Override
  public void forward(double[] w, double[] x, long[] rows, int batch, double[] pred, Workspace workspace,
      long[] seeds) {
    Work ws = (Work) workspace;
    final int L = lookback;
    final int C = channels;
    final int H = horizon;
    final int seqs = batch * C;
    final int steps = seqs * L;
    final int dm = dModel;
    frame.in(w, x, rows, batch, ws.u, ws.frame);
    encoder.forward(w, ws.u, 0, steps, ws.e[0], 0, ws.products);
    for (int i = 0; i < s4d.length; i++) {
      norms[i].forward(w, ws.e[i], 0, steps, ws.z[i], 0, ws.zStats[i], 0);
      s4d[i].forward(w, ws.z[i], 0, seqs, L, ws.s[i], 0, ws.cache[i]);
      Nonlinearity.GELU.forward(ws.s[i], 0, ws.a[i], 0, steps * dm);
      dropWindows(dropout, seeds, 2 * i, ws.a[i], ws.aMask[i], batch, C * L * dm);
      out[i].forward(w, ws.a[i], 0, steps, ws.o[i], 0, ws.products);
      double[] next = ws.e[i + 1];
      double[] prev = ws.e[i];
      double[] o = ws.o[i];
      for (int r = 0; r < steps; r++) {
        for (int h = 0; h < dm; h++) {
          next[r * dm + h] = o[r * 2 * dm + h] * sigmoid(o[r * 2 * dm + dm + h]); // GLU
        }
      }
      dropWindows(dropout, seeds, 2 * i + 1, next, ws.gMask[i], batch, C * L * dm);
      Tensors.addInto(next, 0, prev, 0, steps * dm);
    }
    double[] last = ws.e[s4d.length];
    norm.forward(w, last, 0, steps, ws.n, 0, ws.nStats, 0);
    decoder.forward(w, ws.n, 0, steps, ws.dec, 0, ws.products);
    timeHead.forward(w, ws.dec, 0, seqs, ws.y, 0, ws.products);
    double[] skipped = ws.gy; // scratch: the skip path's output, added to y
    skip.forward(w, ws.u, 0, seqs, skipped, 0, ws.products);
    Tensors.addInto(ws.y, 0, skipped, 0, seqs * H);
    frame.out(w, ws.y, batch, pred, ws.frame);
    ws.training = seeds != null;
  }

  @Override
  public void backward(double[] w, double[] gw, double[] dPred, int batch, Workspace workspace) {
    Work ws = (Work) workspace;
    final int L = lookback;
    final int C = channels;
    final int H = horizon;
    final int seqs = batch * C;
    final int steps = seqs * L;
    final int dm = dModel;
    frame.backwardOut(gw, dPred, batch, ws.gy, ws.frame);
    boolean tokens = frame.needsTokenGradient();
    skip.backward(w, gw, ws.u, 0, ws.gy, 0, seqs, tokens ? ws.du : null, 0, ws.products);
    timeHead.backward(w, gw, ws.dec, 0, ws.gy, 0, seqs, ws.gDec, 0, ws.products);
    decoder.backward(w, gw, ws.n, 0, ws.gDec, 0, steps, ws.g1, 0, ws.products);
    double[] g = ws.g2; // gradient of the current layer's output
    norm.backward(w, gw, ws.e[s4d.length], 0, ws.nStats, 0, ws.g1, 0, steps, g, 0);
    for (int i = s4d.length - 1; i >= 0; i--) {
      // e[i+1] = e[i] + drop(glu(o)): the residual passes g through; the branch gets drop'(g).
      double[] gBranch = ws.g3;
      System.arraycopy(g, 0, gBranch, 0, steps * dm);
      undropWindows(dropout, ws.training, gBranch, ws.gMask[i], steps * dm);
      double[] o = ws.o[i];
      for (int r = 0; r < steps; r++) {
        for (int h = 0; h < dm; h++) {
          double a1 = o[r * 2 * dm + h];
          double sg = sigmoid(o[r * 2 * dm + dm + h]);
          double gg = gBranch[r * dm + h];
          ws.go[r * 2 * dm + h] = gg * sg;
          ws.go[r * 2 * dm + dm + h] = gg * a1 * sg * (1 - sg);
        }
      }
      out[i].backward(w, gw, ws.a[i], 0, ws.go, 0, steps, ws.g1, 0, ws.products);
      undropWindows(dropout, ws.training, ws.g1, ws.aMask[i], steps * dm);
      Nonlinearity.GELU.backward(ws.s[i], 0, ws.g1, 0, ws.g1, 0, steps * dm);
      s4d[i].backward(w, gw, ws.g1, 0, seqs, L, gBranch, 0, ws.cache[i]); // gBranch = d z
      norms[i].backward(w, gw, ws.e[i], 0, ws.zStats[i], 0, gBranch, 0, steps, ws.g1, 0);
      Tensors.addInto(g, 0, ws.g1, 0, steps * dm); // residual + branch
    }
    if (tokens) {
      // The window's gradient (two paths: the skip and the encoder) reaches the cycle only.
      encoder.backward(w, gw, ws.u, 0, g, 0, steps, ws.gDec, 0, ws.products);
      Tensors.addInto(ws.du, 0, ws.gDec, 0, steps);
    } else {
      encoder.backward(w, gw, ws.u, 0, g, 0, steps, null, 0, ws.products);
    }
    frame.backwardTokens(gw, ws.du, batch, ws.frame);
  }

  private static double sigmoid(double v) {
    return 1.0 / (1.0 + Math.exp(-v));
  }
}
