package org.sparkssm.nn;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * The trainable mixer of {@code mamba_ssm.modules.mamba_simple.Mamba} (no norm, no residual: the
 * caller adds those), on {@code batch} sequences of {@code len} steps, time-major
 * {@code [(b * len + t) * C + c]}:
 *
 * <pre>
 *   x, z   = in_proj(u)                   (len, 2 d_inner) split per row: x first, then z
 *   u'     = silu(conv1d(x))              depthwise causal, width d_conv, with bias
 *   δ, B, C = x_proj(u')                  (len, dt_rank + 2N) split per row
 *   δ      = dt_proj.weight · δ           (len, d_inner); dt_proj.bias is the scan's Δ bias
 *   y      = selective_scan(u', δ, A = -exp(A_log), B, C, D, z, bias, softplus)   ({@link SelectiveScanGrad})
 *   out    = out_proj(y)                  (len, d_model)
 * </pre>
 *
 * Tensors, relative to the prefix, with mamba_ssm's names, shapes and order (its {@code state_dict}
 * lists the module's own parameters before its submodules'), so weights move between this block and
 * PyTorch unchanged: {@code A_log (d_inner, N)}, {@code D (d_inner)}, {@code in_proj.weight
 * (2 d_inner, d_model)} [{@code in_proj.bias}], {@code conv1d.weight (d_inner, 1, d_conv)},
 * {@code conv1d.bias (d_inner)}, {@code x_proj.weight (dt_rank + 2N, d_inner)},
 * {@code dt_proj.weight (d_inner, dt_rank)}, {@code dt_proj.bias (d_inner)},
 * {@code out_proj.weight (d_model, d_inner)} [{@code out_proj.bias}]; the bracketed ones only with
 * {@code bias} (mamba_ssm's {@code bias=True}, default false).
 *
 * <p>The projections whose output rows are split (in_proj, x_proj) run as one product per part, on
 * the part's rows of the weight, so each part lands contiguous in its own buffer without a copy.
 * Activations live in a {@link Cache}; the block holds only shapes and offsets, so threads share
 * it and the weights, each with its own cache and gradient buffer.
 *
 * <p>Precision: a cache computes in float64 unless {@link Cache#computeIn} says otherwise. In the
 * float32 modes every projection (in_proj, x_proj, dt_proj, out_proj, forward and backward) runs
 * in float32 ({@link Products}); in {@link Precision#FLOAT32} the selective scan and its backward
 * too ({@link SelectiveScanGrad} in float32), in {@link Precision#FLOAT32_STATE64} the scan stays
 * float64. The weights, their gradients, the conv, SiLU and the block's input and output stay
 * float64.
 */
public final class MambaBlock {
  /** mamba_ssm's defaults for the Δ bias initialization. */
  static final double DT_MIN = 0.001;
  static final double DT_MAX = 0.1;
  static final double DT_FLOOR = 1e-4;

  private final int dModel;
  private final int dInner;
  private final int dState;
  private final int dtRank;
  private final int aLog; // (d_inner, N)
  private final int dSkip; // (d_inner)
  private final int inW; // (2 d_inner, d_model)
  private final int inB; // (2 d_inner) or -1
  private final DepthwiseConv1d conv;
  private final int xW; // (dt_rank + 2N, d_inner)
  private final int dtW; // (d_inner, dt_rank)
  private final int dtB; // (d_inner)
  private final Linear outProj;
  private final SelectiveScanGrad scan;
  private final SelectiveScanGrad scan32; // the same scan in float32

  /** A block without projection biases (mamba_ssm's default {@code bias=False}). */
  public MambaBlock(ParameterLayout layout, String prefix, int dModel, int dInner, int dState, int dtRank, int dConv,
      int chunk) {
    this(layout, prefix, dModel, dInner, dState, dtRank, dConv, chunk, false);
  }

  /**
   * Reserves the block's tensors under {@code prefix} (e.g. {@code "layers.0.mixer."}).
   *
   * @param dInner the scan's channels ({@code expand · d_model} in mamba_ssm)
   * @param dState N
   * @param dtRank the rank of Δ's projection (mamba_ssm: {@code ⌈d_model / 16⌉})
   * @param dConv the convolution width
   * @param chunk steps between the states the scan keeps for the backward ({@link SelectiveScanGrad})
   * @param bias whether in_proj and out_proj have biases
   */
  public MambaBlock(ParameterLayout layout, String prefix, int dModel, int dInner, int dState, int dtRank, int dConv,
      int chunk, boolean bias) {
    Checks.notNull("layout", layout);
    Checks.notNull("prefix", prefix);
    this.dModel = Checks.positive(prefix + " d_model", dModel);
    this.dInner = Checks.positive(prefix + " d_inner", dInner);
    this.dState = Checks.positive(prefix + " d_state", dState);
    this.dtRank = Checks.positive(prefix + " dt_rank", dtRank);
    Checks.positive(prefix + " d_conv", dConv);
    this.scan = new SelectiveScanGrad(dInner, dState, 1, chunk);
    this.scan32 = new SelectiveScanGrad(dInner, dState, 1, chunk, true);
    this.aLog = layout.add(prefix + "A_log", dInner, dState);
    this.dSkip = layout.add(prefix + "D", dInner);
    this.inW = layout.add(prefix + "in_proj.weight", 2 * dInner, dModel);
    this.inB = bias ? layout.add(prefix + "in_proj.bias", 2 * dInner) : -1;
    this.conv = new DepthwiseConv1d(layout, prefix + "conv1d", dInner, dConv);
    this.xW = layout.add(prefix + "x_proj.weight", dtRank + 2 * dState, dInner);
    this.dtW = layout.add(prefix + "dt_proj.weight", dInner, dtRank);
    this.dtB = layout.add(prefix + "dt_proj.bias", dInner);
    this.outProj = new Linear(layout, prefix + "out_proj", dInner, dModel, bias);
  }

  public int dModel() {
    return dModel;
  }

  public int dInner() {
    return dInner;
  }

  public int dState() {
    return dState;
  }

  public int dtRank() {
    return dtRank;
  }

  public int dConv() {
    return conv.width();
  }

  /** The scan's chunk: steps between saved states. */
  public int chunk() {
    return scan.chunk();
  }

  /**
   * mamba_ssm's initialization: projections and conv as PyTorch's defaults (uniform
   * {@code ±1/sqrt(fan_in)}); {@code dt_proj.weight} uniform {@code ±dt_rank^-1/2};
   * {@code dt_proj.bias = softplus⁻¹(dt)} with dt log-uniform in {@code [0.001, 0.1]} (floor 1e-4),
   * so Δ starts in that range; {@code A_log[d, n] = log(n + 1)} (S4D-real); {@code D = 1}.
   */
  public void init(double[] w, SplittableRandom rnd) {
    Checks.notNull("w", w);
    Checks.notNull("rnd", rnd);
    for (int d = 0; d < dInner; d++) {
      for (int n = 0; n < dState; n++) {
        w[aLog + d * dState + n] = Math.log(n + 1);
      }
    }
    Init.fill(w, dSkip, dInner, 1.0);
    double inBound = 1.0 / Math.sqrt(dModel);
    Init.uniform(w, inW, 2 * dInner * dModel, inBound, rnd);
    if (inB >= 0) {
      Init.uniform(w, inB, 2 * dInner, inBound, rnd);
    }
    conv.init(w, rnd);
    Init.uniform(w, xW, (dtRank + 2 * dState) * dInner, 1.0 / Math.sqrt(dInner), rnd);
    Init.uniform(w, dtW, dInner * dtRank, 1.0 / Math.sqrt(dtRank), rnd);
    double logMin = Math.log(DT_MIN);
    double logMax = Math.log(DT_MAX);
    for (int d = 0; d < dInner; d++) {
      double dt = Math.max(DT_FLOOR, Math.exp(logMin + rnd.nextDouble() * (logMax - logMin)));
      w[dtB + d] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹(dt) = log(e^dt - 1)
    }
    outProj.init(w, rnd);
  }

  /** Activations of one forward, kept for the backward, and the backward's scratch; for up to batch × len. */
  public Cache newCache(int batch, int len) {
    return new Cache(this, batch, len);
  }

  /** Everything the backward needs (including a copy of the input), allocated once per (batch, len). */
  public static final class Cache {
    final MambaBlock block;
    final int maxBatch;
    final int maxLen;
    final double[] x; // (rows, d_model): the input
    final double[] xs; // (rows, d_inner): the conv's input (in_proj's x half)
    final double[] conv; // (rows, d_inner): the conv's output before silu
    final double[] dlow; // (rows, dt_rank): Δ's low-rank part of x_proj
    final double[] p; // the scan's parameters: A = -exp(A_log), D, Δ bias
    final double[] gp; // their gradients
    final double[] dDlow; // (rows, dt_rank)
    final double[] dxs; // (rows, d_inner)
    SelectiveScanGrad.Tape tape; // u' = silu(conv), δ, B, C, z, y and their gradients
    SelectiveScanGrad cpuScan; // the block's scan in the cache's precision
    TapeScan scanner; // cpuScan, or its device twin
    Products products = Products.FLOAT64;
    Precision precision = Precision.FLOAT64;

    Cache(MambaBlock m, int batch, int len) {
      Checks.positive("batch", batch);
      Checks.positive("len", len);
      long rows = (long) batch * len;
      if (rows * Math.max(2 * m.dInner, m.dModel) > Integer.MAX_VALUE - 8) {
        Checks.fail("batch: expected batch × len × width <= %d, got %d × %d", Integer.MAX_VALUE - 8, batch, len);
      }
      int r = (int) rows;
      this.block = m;
      this.maxBatch = batch;
      this.maxLen = len;
      x = new double[r * m.dModel];
      xs = new double[r * m.dInner];
      conv = new double[r * m.dInner];
      dlow = new double[r * m.dtRank];
      p = new double[m.scan.paramSize()];
      gp = new double[m.scan.paramSize()];
      dDlow = new double[r * m.dtRank];
      dxs = new double[r * m.dInner];
      tape = m.scan.newTape(batch, len);
      cpuScan = m.scan;
      scanner = m.scan;
    }

    /**
     * Computes in {@code p} from now on (see the class comment; the default is float64). Call it
     * before {@link #runOn}: a device's scan computes in its own precision.
     */
    public void computeIn(Precision p) {
      Checks.notNull("precision", p);
      products = Products.of(p);
      precision = p;
      SelectiveScanGrad s = p == Precision.FLOAT32 ? block.scan32 : block.scan;
      if (s != cpuScan) {
        tape = s.newTape(maxBatch, maxLen); // a float32 tape also holds the scan's float32 copies
        cpuScan = s;
      }
      scanner = s;
    }

    /** The precision it computes in. */
    public Precision precision() {
      return precision;
    }

    /** The block's selective scan runs on {@code device} where it gives a twin, else on the CPU. */
    public void runOn(LayerDevice device) {
      TapeScan twin = device.selectiveScan(cpuScan);
      scanner = twin == null ? cpuScan : twin;
    }

    public int maxBatch() {
      return maxBatch;
    }

    public int maxLen() {
      return maxLen;
    }
  }

  private void checkCache(Cache c, int batch, int len) {
    Checks.notNull("cache", c);
    Checks.positive("batch", batch);
    Checks.positive("len", len);
    if (c.block != this) {
      Checks.fail("cache: expected one made by this block's newCache");
    }
    if (batch > c.maxBatch || len > c.maxLen) {
      Checks.fail("cache: expected one for at least batch %d × len %d, got %d × %d", batch, len, c.maxBatch,
          c.maxLen);
    }
  }

  /**
   * Writes {@code out} ({@code batch × len × d_model} from {@code outOff}, overwritten) from x (same
   * shape from {@code xOff}) and keeps what the backward needs in the cache. {@code out} may be
   * the region of x: the input is copied first.
   */
  public void forward(double[] w, double[] x, int xOff, int batch, int len, double[] out, int outOff, Cache c) {
    checkCache(c, batch, len);
    Checks.notNull("w", w);
    long n = (long) batch * len * dModel;
    Checks.range("x", x, xOff, n);
    Checks.range("out", out, outOff, n);
    System.arraycopy(x, xOff, c.x, 0, (int) n);
    forwardCached(w, batch, len, out, outOff, c);
  }

  /** The forward from the input already in {@code c.x} (a caller in this package writes it there). */
  void forwardCached(double[] w, int batch, int len, double[] out, int outOff, Cache c) {
    final int rows = batch * len;
    final int di = dInner;
    final int N = dState;
    final int R = dtRank;
    final SelectiveScanGrad.Tape tape = c.tape;
    final Products products = c.products;
    // in_proj, one half at a time: x (rows 0..di-1 of the weight) and z (rows di..2di-1).
    products.xWt(c.x, 0, rows, dModel, w, inW, di, c.xs, 0);
    products.xWt(c.x, 0, rows, dModel, w, inW + di * dModel, di, tape.z, 0);
    if (inB >= 0) {
      addBias(c.xs, rows, di, w, inB);
      addBias(tape.z, rows, di, w, inB + di);
    }
    conv.forward(w, c.xs, 0, batch, len, c.conv, 0);
    Nonlinearity.SILU.forward(c.conv, 0, tape.u, 0, rows * di);
    // x_proj, one part at a time: Δ's low rank, B, C.
    products.xWt(tape.u, 0, rows, di, w, xW, R, c.dlow, 0);
    products.xWt(tape.u, 0, rows, di, w, xW + R * di, N, tape.B, 0);
    products.xWt(tape.u, 0, rows, di, w, xW + (R + N) * di, N, tape.C, 0);
    // dt_proj without its bias: the scan adds the bias before softplus (mamba_ssm's delta_bias).
    products.xWt(c.dlow, 0, rows, R, w, dtW, di, tape.delta, 0);
    SelectiveScanGrad.aFromALog(w, aLog, di * N, c.p, scan.aOffset()); // p's layout is the same in both scans
    System.arraycopy(w, dSkip, c.p, scan.dSkipOffset(), di);
    System.arraycopy(w, dtB, c.p, scan.deltaBiasOffset(), di);
    c.scanner.forward(c.p, 0, tape, batch, len);
    outProj.forward(w, tape.y, 0, rows, out, outOff, products);
  }

  /**
   * The backward of the last forward on this cache: accumulates every parameter gradient into
   * {@code gw} and writes (overwrites) {@code dx} ({@code batch × len × d_model} from {@code dxOff}).
   * {@code dx} may be the region of {@code dout}: dout is read only before dx is written.
   */
  public void backward(double[] w, double[] gw, double[] dout, int doutOff, int batch, int len, double[] dx, int dxOff,
      Cache c) {
    checkCache(c, batch, len);
    Checks.notNull("w", w);
    Checks.notNull("gw", gw);
    if (gw.length != w.length) {
      Checks.fail("gw: expected the length of w, %d, got %d", w.length, gw.length);
    }
    long n = (long) batch * len * dModel;
    Checks.range("dout", dout, doutOff, n);
    Checks.range("dx", dx, dxOff, n);
    final int rows = batch * len;
    final int di = dInner;
    final int N = dState;
    final int R = dtRank;
    final SelectiveScanGrad.Tape tape = c.tape;
    final Products products = c.products;
    outProj.backward(w, gw, tape.y, 0, dout, doutOff, rows, tape.dy, 0, products);
    java.util.Arrays.fill(c.gp, 0.0);
    c.scanner.backward(c.p, 0, c.gp, 0, tape, batch, len);
    SelectiveScanGrad.accumulateALogGradient(c.gp, scan.aOffset(), c.p, scan.aOffset(), di * N, gw, aLog);
    Tensors.addInto(gw, dSkip, c.gp, scan.dSkipOffset(), di);
    Tensors.addInto(gw, dtB, c.gp, scan.deltaBiasOffset(), di);
    // dt_proj: δ = dlow · Wᵀ.
    products.accumulateDyTx(tape.dDelta, 0, rows, di, c.dlow, 0, R, gw, dtW);
    products.dyW(tape.dDelta, 0, rows, di, w, dtW, R, c.dDlow, 0);
    // x_proj, per part; the input gradient adds onto the scan's du (the same u').
    products.accumulateDyTx(c.dDlow, 0, rows, R, tape.u, 0, di, gw, xW);
    products.accumulateDyTx(tape.dB, 0, rows, N, tape.u, 0, di, gw, xW + R * di);
    products.accumulateDyTx(tape.dC, 0, rows, N, tape.u, 0, di, gw, xW + (R + N) * di);
    double[] du = tape.du;
    products.accumulateDyW(c.dDlow, 0, rows, R, w, xW, di, du, 0);
    products.accumulateDyW(tape.dB, 0, rows, N, w, xW + R * di, di, du, 0);
    products.accumulateDyW(tape.dC, 0, rows, N, w, xW + (R + N) * di, di, du, 0);
    // u' = silu(conv): du becomes the conv's output gradient, in place.
    Nonlinearity.SILU.backward(c.conv, 0, du, 0, du, 0, rows * di);
    conv.backward(w, gw, c.xs, 0, du, 0, batch, len, c.dxs, 0);
    // in_proj, per half: x from rows 0..di-1 of the weight, z from rows di..2di-1.
    products.accumulateDyTx(c.dxs, 0, rows, di, c.x, 0, dModel, gw, inW);
    products.accumulateDyTx(tape.dz, 0, rows, di, c.x, 0, dModel, gw, inW + di * dModel);
    if (inB >= 0) {
      sumRows(c.dxs, rows, di, gw, inB);
      sumRows(tape.dz, rows, di, gw, inB + di);
    }
    products.dyW(c.dxs, 0, rows, di, w, inW, dModel, dx, dxOff);
    products.accumulateDyW(tape.dz, 0, rows, di, w, inW + di * dModel, dModel, dx, dxOff);
  }

  /** {@code y[r, o] += b[o]}. */
  private static void addBias(double[] y, int rows, int out, double[] w, int b) {
    for (int r = 0; r < rows; r++) {
      int yr = r * out;
      for (int o = 0; o < out; o++) {
        y[yr + o] += w[b + o];
      }
    }
  }

  /** {@code g[o] += Σ_r dy[r, o]}: a bias's gradient. */
  private static void sumRows(double[] dy, int rows, int out, double[] g, int gOff) {
    for (int r = 0; r < rows; r++) {
      int yr = r * out;
      for (int o = 0; o < out; o++) {
        g[gOff + o] += dy[yr + o];
      }
    }
  }
}
