package org.sparkssm.nn;

import org.sparkssm.Checks;
import org.sparkssm.scan.FloatMath;
import org.sparkssm.scan.VectorSupport;

/**
 * The trainable Mamba S6 selective scan: the forward of {@link org.sparkssm.scan.SelectiveScan}
 * (always gated, with D-skip and Δ bias through softplus, as {@code mamba_simple.Mamba} calls it)
 * and its backward pass. Per channel d, state n and step t:
 *
 * <pre>
 *   Δ_t  = softplus(δ_t + bias_d)                Ā_t = exp(Δ_t A_{d,n})
 *   h_t  = Ā_t h_{t-1} + Δ_t B_{t,n} u_t         y0_t = Σ_n C_{t,n} h_t + D_d u_t        y_t = y0_t · silu(z_t)
 * </pre>
 *
 * Backward, with the adjoint {@code g_t = ∂L/∂h_t = dy0_t C_t + Ā_{t+1} g_{t+1}} run from the last
 * step down:
 *
 * <pre>
 *   dy0 = dy · silu(z)        dz = dy · y0 · silu'(z)       gD += dy0 u      gC_t += Σ_d dy0 h_t
 *   gĀ_t = g_t h_{t-1}        gΔ_t = Σ_n (gĀ_t Ā_t A_n + g_t B_t u_t)        gA_n += Σ_t gĀ_t Ā_t Δ_t
 *   gB_t += Σ_d g_t Δ_t u_t   du_t = dy0 D + Δ_t Σ_n g_t B_t                  dδ = gΔ · softplus'(δ + bias)   gbias += dδ
 * </pre>
 *
 * and, for Mamba's {@code A = -exp(A_log)}, {@code gA_log = gA · A} ({@link #accumulateALogGradient}).
 *
 * <h2>Memory: states only at chunk boundaries</h2>
 * Keeping every {@code h_t} would cost {@code L × D × N} doubles per sequence. As the CUDA backward
 * of mamba_ssm does, the forward keeps the state only where a chunk of {@code chunk} steps starts;
 * the backward walks the chunks in reverse, recomputes one chunk's states (and Ā, one exp per
 * (t, d, n)) from its saved start state into a chunk-sized workspace, runs the adjoint down through
 * it and carries {@code g} into the chunk before. Memory is {@code O(chunks × D × N + chunk × D × N)},
 * work is one extra forward. The recomputation repeats the forward's arithmetic operation for
 * operation, so the result does not depend on the chunk size. That is why the forward is this
 * class's own rather than {@link org.sparkssm.scan.SelectiveScan#scan} (which it equals to rounding,
 * as the tests check): the recomputed states are then the forward's bit for bit, and no
 * {@code SelectiveScan.Params} is built from the changing weights at every call.
 *
 * <h2>Layout</h2>
 * (see {@link org.sparkssm}) The SSM parameters are one vector {@code p} of {@link #paramSize()}:
 * {@code A} ({@code D×N}, {@code [d * N + n]}), then the D-skip ({@code D}), then the Δ bias
 * ({@code D}); their gradients {@code gp} have the same layout. The sequences live in a {@link Tape}:
 * {@code batch} sequences of {@code len} steps, time-major, {@code u[(b * len + t) * D + d]},
 * {@code B[((b * len + t) * G + g) * N + n]}; channel d reads group {@code g(d) = d / (D / G)}.
 * Each sequence starts from the zero state (Mamba's); {@link #forwardSteps} and
 * {@link #backwardSteps} take any state for a piece of a sequence.
 *
 * <h2>Speed</h2>
 * With {@link VectorSupport#ENABLED} and groups of at least one vector of channels, the forward,
 * the recomputation and the adjoint run on the Vector API (package-private
 * {@code SelectiveScanGradVector}: lanes over channels, every (n, d) array as {@code [n * D + d]}
 * inside, converted at the step methods' boundary); otherwise in the scalar loops here. Both are
 * checked against central differences and against each other.
 *
 * <h2>Float32</h2>
 * A scan made with {@code float32 = true} computes in float32 behind the same double interface:
 * every call rounds the inputs it reads (u, δ, B, C, z, and dy in the backward) and the parameters
 * (A, D-skip, Δ bias) to float once into its tape's float32 scratch, runs the forward, the
 * recomputation and the adjoint in float32 (state, Ā, every sum; {@code exp}, softplus, σ and SiLU
 * are {@link FloatMath}'s, FMAs only, so results do not depend on the JIT), and widens the
 * outputs into the tape's double arrays. gA, gD and gbias add up in float32 over at most one chunk
 * of steps and then into the double {@code gp}, so long sequences do not drift. The saved chunk
 * states and the carried adjoint are float32; {@link #forwardSteps} and {@link #backwardSteps}
 * round the caller's state and adjoint on the way in (exactly, when they came out of an earlier
 * call) and widen them on the way out, so pieces still equal the one-shot scan. The scalar path is
 * package-private {@code SelectiveScanGrad32}, the Vector API path {@code SelectiveScanGradVector32}
 * (twice the lanes of float64), which gives its bits except in the sums over channels (dB, dC).
 * Against the float64 scan the difference is float32 rounding, a few 1e-6 of the result's RMS
 * ({@code SelectiveScanGrad32Test}).
 *
 * <p>A tape works only with a scan of its precision: a float32 scan's tape carries the float32
 * scratch, a float64 scan's does not; a call with a tape of the other precision throws.
 *
 * <p>Immutable: threads share one instance, each with its own {@link Tape}.
 */
public final class SelectiveScanGrad implements TapeScan {
  private final int channels; // D
  private final int stateSize; // N
  private final int groups; // G
  private final int chunk;
  private final boolean float32; // compute in float32 (SelectiveScanGrad32 / SelectiveScanGradVector32)
  private final boolean vector; // the Vector API path: every (n, d) array inside is [n * D + d]

  /**
   * @param channels D
   * @param stateSize N
   * @param groups G, a divisor of D (1 for Mamba)
   * @param chunk steps between saved states; also the longest piece {@link #backwardSteps} takes
   */
  public SelectiveScanGrad(int channels, int stateSize, int groups, int chunk) {
    this(channels, stateSize, groups, chunk, false, true);
  }

  /**
   * @param channels D
   * @param stateSize N
   * @param groups G, a divisor of D (1 for Mamba)
   * @param chunk steps between saved states; also the longest piece {@link #backwardSteps} takes
   * @param float32 compute in float32 (see the class comment); false: float64, as the 4-argument constructor
   */
  public SelectiveScanGrad(int channels, int stateSize, int groups, int chunk, boolean float32) {
    this(channels, stateSize, groups, chunk, float32, true);
  }

  /** With {@code allowVector = false}, always the scalar path of the precision (for tests comparing the two). */
  SelectiveScanGrad(int channels, int stateSize, int groups, int chunk, boolean float32, boolean allowVector) {
    this.channels = Checks.positive("D", channels);
    this.stateSize = Checks.positive("N", stateSize);
    this.groups = Checks.positive("G", groups);
    this.chunk = Checks.chunkSize("chunk", chunk);
    if (channels % groups != 0) {
      Checks.fail("G: expected a divisor of D = %d, got %d", channels, groups);
    }
    if ((long) channels * stateSize * chunk > Integer.MAX_VALUE - 8) {
      Checks.fail("chunk: expected D*N*chunk <= %d, got %d*%d*%d", Integer.MAX_VALUE - 8, channels, stateSize, chunk);
    }
    this.float32 = float32;
    this.vector = allowVector && VectorSupport.ENABLED && (float32
        ? SelectiveScanGradVector32.fillsVector(channels / groups)
        : SelectiveScanGradVector.fillsVector(channels / groups));
  }

  /** Whether this scan computes in float32 (its tapes carry float32 scratch; see the class comment). */
  public boolean float32() {
    return float32;
  }

  /** Whether this scan runs on the Vector API. */
  boolean vectorized() {
    return vector;
  }

  public int channels() {
    return channels;
  }

  public int stateSize() {
    return stateSize;
  }

  public int groups() {
    return groups;
  }

  public int chunk() {
    return chunk;
  }

  /** Length of the parameter vector {@code p}: {@code D·N + 2D} (A, D-skip, Δ bias). */
  public int paramSize() {
    return channels * stateSize + 2 * channels;
  }

  /** Offset of A ({@code D×N}) in {@code p}: 0. */
  public int aOffset() {
    return 0;
  }

  /** Offset of the D-skip ({@code D}) in {@code p}. */
  public int dSkipOffset() {
    return channels * stateSize;
  }

  /** Offset of the Δ bias ({@code D}) in {@code p}. */
  public int deltaBiasOffset() {
    return channels * stateSize + channels;
  }

  /**
   * A tape for up to {@code batch} sequences of up to {@code len} steps (allocated once, reused),
   * for scans of this one's shape, chunk and precision.
   */
  public Tape newTape(int batch, int len) {
    return new Tape(this, batch, len);
  }

  /**
   * The scan's sequences, their gradients, the saved chunk-start states and the backward's
   * workspace, for up to {@code batch × len} steps. The caller writes the inputs ({@link #u},
   * {@link #delta}, {@link #B}, {@link #C}, {@link #z}) and, before the backward, {@link #dy}; a
   * call with {@code batch' <= batch}, {@code len' <= len} packs its sequences densely with
   * {@code len'}. A float32 scan's tape also holds the float32 copies and workspace it computes in
   * (allocated here, reused by every call); it works only with float32 scans, and a float64 tape
   * only with float64 scans.
   */
  public static final class Tape {
    final int maxBatch;
    final int maxLen;
    final SelectiveScanGrad scan; // the scan that made it: its shape and chunk size the arrays
    /** Input, {@code (b, t, D)}. */
    public final double[] u;
    /** Raw step sizes before bias and softplus, {@code (b, t, D)}. */
    public final double[] delta;
    /** Input-dependent B, {@code (b, t, G, N)}. */
    public final double[] B;
    /** Input-dependent C, {@code (b, t, G, N)}. */
    public final double[] C;
    /** Gate, {@code (b, t, D)}. */
    public final double[] z;
    /** Output of the forward, {@code (b, t, D)}. */
    public final double[] y;
    /** Gradient of the output, written by the caller before the backward. */
    public final double[] dy;
    /** Gradients the backward writes (overwrites): of u, δ, z {@code (b, t, D)} and B, C {@code (b, t, G, N)}. */
    public final double[] du;
    public final double[] dDelta;
    public final double[] dz;
    public final double[] dB;
    public final double[] dC;
    final double[] states; // (b, chunk index, D, N): the state before each chunk
    final double[] h; // (D, N): the running state of the forward
    final double[] gh; // (D, N): the carried adjoint of the backward
    final double[] hs; // (chunk, D, N): the chunk's recomputed states h_t
    final double[] abar; // (chunk, D, N): the chunk's Ā_t
    final double[] dt; // (chunk, D): Δ_t
    final double[] dsp; // (chunk, D): softplus'(δ_t + bias)
    final double[] aT; // (N, D): A transposed, for the vector path (else empty)
    final double[] gAT; // (N, D): gA transposed, for the vector path (else empty)
    final double[] bLanes; // (N, lanes): per-lane partial sums of gB, for the vector path (else empty)
    final double[] cLanes; // (N, lanes): of gC
    final SelectiveScanGrad32.Work f32; // a float32 scan's scratch; null on a float64 tape

    Tape(SelectiveScanGrad s, int batch, int len) {
      Checks.positive("batch", batch);
      Checks.positive("len", len);
      long steps = (long) batch * len;
      int D = s.channels;
      int gn = s.groups * s.stateSize;
      int dn = D * s.stateSize;
      long chunks = (long) batch * ((len + s.chunk - 1) / s.chunk);
      if (steps * Math.max(D, gn) > Integer.MAX_VALUE - 8 || chunks * dn > Integer.MAX_VALUE - 8) {
        Checks.fail("batch: expected a tape of at most %d doubles per array, got batch %d × len %d", Integer.MAX_VALUE - 8,
            batch, len);
      }
      this.maxBatch = batch;
      this.maxLen = len;
      this.scan = s;
      int sd = (int) steps * D;
      int sg = (int) steps * gn;
      int work = Math.min(s.chunk, len);
      boolean f64 = !s.float32; // the float64 workspace; a float32 tape has its own in f32
      u = new double[sd];
      delta = new double[sd];
      z = new double[sd];
      y = new double[sd];
      dy = new double[sd];
      du = new double[sd];
      dDelta = new double[sd];
      dz = new double[sd];
      B = new double[sg];
      C = new double[sg];
      dB = new double[sg];
      dC = new double[sg];
      states = new double[f64 ? (int) chunks * dn : 0];
      h = new double[f64 ? dn : 0];
      gh = new double[f64 ? dn : 0];
      hs = new double[f64 ? work * dn : 0];
      abar = new double[f64 ? work * dn : 0];
      dt = new double[f64 ? work * D : 0];
      dsp = new double[f64 ? work * D : 0];
      boolean v64 = f64 && VectorSupport.ENABLED; // any float64 scan of this shape may use the tape
      int lanes = v64 ? SelectiveScanGradVector.lanes() : 0;
      aT = new double[v64 ? dn : 0];
      gAT = new double[v64 ? dn : 0];
      bLanes = new double[s.stateSize * lanes];
      cLanes = new double[s.stateSize * lanes];
      f32 = f64 ? null : new SelectiveScanGrad32.Work(D, s.stateSize, s.groups, s.chunk, batch, len,
          VectorSupport.ENABLED ? SelectiveScanGradVector32.lanes() : 0);
    }

    /** Whether this tape is a float32 scan's (see {@link SelectiveScanGrad#float32()}). */
    public boolean float32() {
      return f32 != null;
    }

    public int maxBatch() {
      return maxBatch;
    }

    public int maxLen() {
      return maxLen;
    }
  }

  private boolean sameShape(SelectiveScanGrad o) {
    return o.channels == channels && o.stateSize == stateSize && o.groups == groups && o.chunk == chunk;
  }

  private static String precision(boolean float32) {
    return float32 ? "float32" : "float64";
  }

  private int chunksOf(int len) {
    return (len + chunk - 1) / chunk;
  }

  private void checkCall(String pName, double[] p, int pOff, Tape tape, int batch, int len) {
    Checks.notNull("tape", tape);
    Checks.range(pName, p, pOff, paramSize());
    if (!sameShape(tape.scan)) {
      Checks.fail("tape: expected one made by this scan (D=%d, N=%d, chunk=%d)", channels, stateSize, chunk);
    }
    if (tape.float32() != float32) {
      Checks.fail("tape: expected a %s tape (a tape works only with a scan of its precision), got a %s one",
          precision(float32), precision(tape.float32()));
    }
    Checks.positive("batch", batch);
    Checks.positive("len", len);
    if (batch > tape.maxBatch || len > tape.maxLen) {
      Checks.fail("tape: expected one for at least batch %d × len %d, got %d × %d", batch, len, tape.maxBatch,
          tape.maxLen);
    }
  }

  /**
   * Scans {@code batch} sequences of {@code len} steps of the tape from the zero state: writes
   * {@code tape.y} and saves the state at every chunk start for {@link #backward}.
   *
   * @param p A, D-skip and Δ bias from {@code pOff} ({@link #paramSize()})
   */
  @Override
  public void forward(double[] p, int pOff, Tape tape, int batch, int len) {
    checkCall("p", p, pOff, tape, batch, len);
    if (float32) {
      forward32(p, pOff, tape, batch, len);
      return;
    }
    final int dn = channels * stateSize;
    final int chunks = chunksOf(len);
    double[] h = tape.h; // in the path's layout, as the saved states
    if (vector) {
      Tensors.transpose(p, pOff, channels, stateSize, tape.aT, 0);
    }
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(h, 0.0);
      for (int k = 0; k < chunks; k++) {
        System.arraycopy(h, 0, tape.states, (b * chunks + k) * dn, dn);
        int t0 = k * chunk;
        run(p, pOff, tape, len, b, t0, Math.min(len, t0 + chunk), h, 0);
      }
    }
  }

  /**
   * The backward of the last {@link #forward} on this tape: reads {@code tape.dy} and the inputs,
   * writes {@code tape.du, dDelta, dz, dB, dC} and accumulates {@code gA, gD, gbias} into
   * {@code gp} (the layout of p).
   */
  @Override
  public void backward(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int batch, int len) {
    checkCall("p", p, pOff, tape, batch, len);
    Checks.range("gp", gp, gpOff, paramSize());
    if (float32) {
      backward32(p, pOff, gp, gpOff, tape, batch, len);
      return;
    }
    final int dn = channels * stateSize;
    final int chunks = chunksOf(len);
    double[] gh = tape.gh; // in the path's layout
    if (vector) {
      Tensors.transpose(p, pOff, channels, stateSize, tape.aT, 0);
      java.util.Arrays.fill(tape.gAT, 0.0);
    }
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(gh, 0.0); // nothing depends on the state after the last step
      for (int k = chunks - 1; k >= 0; k--) {
        int t0 = k * chunk;
        runReverse(p, pOff, gp, gpOff, tape, len, b, t0, Math.min(len, t0 + chunk), tape.states,
            (b * chunks + k) * dn, gh, 0);
      }
    }
    if (vector) {
      addTransposed(tape.gAT, gp, gpOff);
    }
  }

  /**
   * Scans steps {@code [t0, t1)} of sequence {@code b} (of {@code len}) from the state in
   * {@code h[hOff ..]} ({@code D×N}, {@code [d * N + n]}), leaving the state after step
   * {@code t1 - 1} there; writes {@code tape.y} for those steps. Pieces scanned in order with the
   * same h equal one {@link #forward} of the sequence.
   */
  public void forwardSteps(double[] p, int pOff, Tape tape, int batch, int len, int b, int t0, int t1, double[] h,
      int hOff) {
    checkCall("p", p, pOff, tape, batch, len);
    checkPiece(b, batch, t0, t1, len, Integer.MAX_VALUE);
    Checks.range("h", h, hOff, (long) channels * stateSize);
    if (float32) {
      forwardSteps32(p, pOff, tape, len, b, t0, t1, h, hOff);
      return;
    }
    if (vector) {
      Tensors.transpose(p, pOff, channels, stateSize, tape.aT, 0);
      Tensors.transpose(h, hOff, channels, stateSize, tape.h, 0);
      run(p, pOff, tape, len, b, t0, t1, tape.h, 0);
      Tensors.transpose(tape.h, 0, stateSize, channels, h, hOff);
    } else {
      steps(p, pOff, tape, len, b, t0, t1, h, hOff);
    }
  }

  /**
   * The reverse of steps {@code [t0, t1)} of sequence {@code b} ({@code t1 - t0 <= chunk}): from the
   * state before them in {@code h0[h0Off ..]} and the carried adjoint {@code gh[ghOff ..]}
   * ({@code ∂L/∂h_{t1-1}} through the later steps; zero after the last step), it writes the tape's
   * input gradients of those steps, accumulates into {@code gp} and leaves {@code ∂L/∂h_{t0-1}} in
   * gh, the adjoint to carry into the piece before (at {@code t0 = 0}: the gradient of the initial
   * state). Pieces run from the last to the first equal one {@link #backward}.
   */
  public void backwardSteps(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int batch, int len, int b,
      int t0, int t1, double[] h0, int h0Off, double[] gh, int ghOff) {
    checkCall("p", p, pOff, tape, batch, len);
    Checks.range("gp", gp, gpOff, paramSize());
    checkPiece(b, batch, t0, t1, len, chunk);
    Checks.range("h0", h0, h0Off, (long) channels * stateSize);
    Checks.range("gh", gh, ghOff, (long) channels * stateSize);
    if (float32) {
      backwardSteps32(p, pOff, gp, gpOff, tape, len, b, t0, t1, h0, h0Off, gh, ghOff);
      return;
    }
    if (vector) {
      Tensors.transpose(p, pOff, channels, stateSize, tape.aT, 0);
      Tensors.transpose(h0, h0Off, channels, stateSize, tape.h, 0);
      Tensors.transpose(gh, ghOff, channels, stateSize, tape.gh, 0);
      java.util.Arrays.fill(tape.gAT, 0.0);
      runReverse(p, pOff, gp, gpOff, tape, len, b, t0, t1, tape.h, 0, tape.gh, 0);
      Tensors.transpose(tape.gh, 0, stateSize, channels, gh, ghOff);
      addTransposed(tape.gAT, gp, gpOff);
    } else {
      reverse(p, pOff, gp, gpOff, tape, len, b, t0, t1, h0, h0Off, gh, ghOff);
    }
  }

  // ---- float32: round into the tape's Work, run SelectiveScanGrad32 / SelectiveScanGradVector32, widen back ----

  private void forward32(double[] p, int pOff, Tape tape, int batch, int len) {
    final SelectiveScanGrad32.Work w = tape.f32;
    final int dn = channels * stateSize;
    final int chunks = chunksOf(len);
    final int steps = batch * len;
    roundParams(p, pOff, w);
    roundInputs(tape, 0, steps, false);
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(w.h, 0f);
      for (int k = 0; k < chunks; k++) {
        System.arraycopy(w.h, 0, w.states, (b * chunks + k) * dn, dn);
        int t0 = k * chunk;
        run32(w, len, b, t0, Math.min(len, t0 + chunk), w.h);
      }
    }
    FloatMath.toDouble(w.y, 0, tape.y, 0, steps * channels);
  }

  private void backward32(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int batch, int len) {
    final SelectiveScanGrad32.Work w = tape.f32;
    final int dn = channels * stateSize;
    final int chunks = chunksOf(len);
    final int steps = batch * len;
    roundParams(p, pOff, w);
    roundInputs(tape, 0, steps, true);
    for (int b = 0; b < batch; b++) {
      java.util.Arrays.fill(w.gh, 0f); // nothing depends on the state after the last step
      for (int k = chunks - 1; k >= 0; k--) {
        int t0 = k * chunk;
        runReverse32(w, len, b, t0, Math.min(len, t0 + chunk), w.states, (b * chunks + k) * dn);
        addParamGradients(w, gp, gpOff); // float32 within a chunk, float64 across chunks
      }
    }
    widenGradients(tape, 0, steps);
  }

  private void forwardSteps32(double[] p, int pOff, Tape tape, int len, int b, int t0, int t1, double[] h,
      int hOff) {
    final SelectiveScanGrad32.Work w = tape.f32;
    int first = b * len + t0;
    roundParams(p, pOff, w);
    roundInputs(tape, first, t1 - t0, false);
    roundState(h, hOff, w.h);
    run32(w, len, b, t0, t1, w.h);
    widenState(w.h, h, hOff);
    FloatMath.toDouble(w.y, first * channels, tape.y, first * channels, (t1 - t0) * channels);
  }

  private void backwardSteps32(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int len, int b, int t0,
      int t1, double[] h0, int h0Off, double[] gh, int ghOff) {
    final SelectiveScanGrad32.Work w = tape.f32;
    int first = b * len + t0;
    roundParams(p, pOff, w);
    roundInputs(tape, first, t1 - t0, true);
    roundState(h0, h0Off, w.h);
    roundState(gh, ghOff, w.gh);
    runReverse32(w, len, b, t0, t1, w.h, 0);
    widenState(w.gh, gh, ghOff);
    addParamGradients(w, gp, gpOff);
    widenGradients(tape, first, t1 - t0);
  }

  /**
   * A, D-skip and Δ bias rounded into the work (A in the path's layout), its float32 parameter
   * gradients zeroed, and the Δ below which the vector path's exp needs no clamps.
   */
  private void roundParams(double[] p, int pOff, SelectiveScanGrad32.Work w) {
    final int D = channels;
    final int N = stateSize;
    float maxAbsA = 0f;
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        float a = (float) p[pOff + d * N + n];
        w.a[vector ? n * D + d : d * N + n] = a;
        maxAbsA = Math.max(maxAbsA, Math.abs(a)); // NaN stays NaN
      }
    }
    // |Δ·A| <= (80 / |A|max)(1 + 2^-24) · |A| (1 + 2^-24) < 81, inside [EXP_LO, EXP_HI] = [-104, 89].
    // NaN (from a NaN A) fails every comparison: the clamped exp throughout.
    w.clampFree = Math.min(80f / maxAbsA, Float.MAX_VALUE);
    FloatMath.toFloat(p, pOff + D * N, w.dSkip, 0, D);
    FloatMath.toFloat(p, pOff + D * N + D, w.bias, 0, D);
    java.util.Arrays.fill(w.gA, 0f);
    java.util.Arrays.fill(w.gD, 0f);
    java.util.Arrays.fill(w.gBias, 0f);
  }

  /** The tape's inputs of {@code count} steps from step {@code first} (and dy for the backward) rounded into the work. */
  private void roundInputs(Tape tape, int first, int count, boolean backward) {
    final SelectiveScanGrad32.Work w = tape.f32;
    int sd = first * channels;
    int nd = count * channels;
    int gn = groups * stateSize;
    FloatMath.toFloat(tape.u, sd, w.u, sd, nd);
    FloatMath.toFloat(tape.delta, sd, w.delta, sd, nd);
    FloatMath.toFloat(tape.z, sd, w.z, sd, nd);
    FloatMath.toFloat(tape.B, first * gn, w.B, first * gn, count * gn);
    FloatMath.toFloat(tape.C, first * gn, w.C, first * gn, count * gn);
    if (backward) {
      FloatMath.toFloat(tape.dy, sd, w.dy, sd, nd);
    }
  }

  /** The backward's float32 results of {@code count} steps from step {@code first} widened into the tape. */
  private void widenGradients(Tape tape, int first, int count) {
    final SelectiveScanGrad32.Work w = tape.f32;
    int sd = first * channels;
    int nd = count * channels;
    int gn = groups * stateSize;
    FloatMath.toDouble(w.du, sd, tape.du, sd, nd);
    FloatMath.toDouble(w.dDelta, sd, tape.dDelta, sd, nd);
    FloatMath.toDouble(w.dz, sd, tape.dz, sd, nd);
    FloatMath.toDouble(w.dB, first * gn, tape.dB, first * gn, count * gn);
    FloatMath.toDouble(w.dC, first * gn, tape.dC, first * gn, count * gn);
  }

  /** {@code gp += } the work's gA (in p's layout), gD and gbias, which are then zeroed. */
  private void addParamGradients(SelectiveScanGrad32.Work w, double[] gp, int gpOff) {
    final int D = channels;
    final int N = stateSize;
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        gp[gpOff + d * N + n] += w.gA[vector ? n * D + d : d * N + n];
      }
      gp[gpOff + D * N + d] += w.gD[d];
      gp[gpOff + D * N + D + d] += w.gBias[d];
    }
    java.util.Arrays.fill(w.gA, 0f);
    java.util.Arrays.fill(w.gD, 0f);
    java.util.Arrays.fill(w.gBias, 0f);
  }

  /** A caller's state {@code [d * N + n]} rounded into {@code s} in the path's layout. */
  private void roundState(double[] h, int hOff, float[] s) {
    final int D = channels;
    final int N = stateSize;
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        s[vector ? n * D + d : d * N + n] = (float) h[hOff + d * N + n];
      }
    }
  }

  /** The path's state {@code s} widened into a caller's {@code [d * N + n]} (exact). */
  private void widenState(float[] s, double[] h, int hOff) {
    final int D = channels;
    final int N = stateSize;
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        h[hOff + d * N + n] = s[vector ? n * D + d : d * N + n];
      }
    }
  }

  /** The float32 forward steps on this scan's path; h in the path's layout. */
  private void run32(SelectiveScanGrad32.Work w, int len, int b, int t0, int t1, float[] h) {
    if (vector) {
      SelectiveScanGradVector32.steps(channels, stateSize, groups, w, len, b, t0, t1, h, 0);
    } else {
      SelectiveScanGrad32.steps(channels, stateSize, groups, w, len, b, t0, t1, h, 0);
    }
  }

  /** The float32 reverse steps on this scan's path; h0 and the work's gh in the path's layout. */
  private void runReverse32(SelectiveScanGrad32.Work w, int len, int b, int t0, int t1, float[] h0, int h0Off) {
    if (vector) {
      SelectiveScanGradVector32.reverse(channels, stateSize, groups, w, len, b, t0, t1, h0, h0Off);
    } else {
      SelectiveScanGrad32.reverse(channels, stateSize, groups, w, len, b, t0, t1, h0, h0Off);
    }
  }

  // ---- float64 ----

  /** The forward steps on this scan's path; h in the path's layout (the tape's aT set on the vector path). */
  private void run(double[] p, int pOff, Tape tape, int len, int b, int t0, int t1, double[] h, int hOff) {
    if (vector) {
      SelectiveScanGradVector.steps(channels, stateSize, groups, p, pOff, tape.aT, tape, len, b, t0, t1, h, hOff);
    } else {
      steps(p, pOff, tape, len, b, t0, t1, h, hOff);
    }
  }

  /** The reverse steps on this scan's path; h0, gh in the path's layout (vector: gA into the tape's gAT). */
  private void runReverse(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int len, int b, int t0, int t1,
      double[] h0, int h0Off, double[] gh, int ghOff) {
    if (vector) {
      SelectiveScanGradVector.reverse(channels, stateSize, groups, p, pOff, tape.aT, gp, gpOff, tape.gAT, tape, len, b,
          t0, t1, h0, h0Off, gh, ghOff);
    } else {
      reverse(p, pOff, gp, gpOff, tape, len, b, t0, t1, h0, h0Off, gh, ghOff);
    }
  }

  /** {@code gp[gpOff + d * N + n] += gAT[n * D + d]}: the vector path's gA into p's layout. */
  private void addTransposed(double[] gAT, double[] gp, int gpOff) {
    for (int d = 0; d < channels; d++) {
      for (int n = 0; n < stateSize; n++) {
        gp[gpOff + d * stateSize + n] += gAT[n * channels + d];
      }
    }
  }

  private static void checkPiece(int b, int batch, int t0, int t1, int len, int longest) {
    if (b < 0 || b >= batch) {
      Checks.fail("b: expected a sequence in [0, %d), got %d", batch, b);
    }
    if (t0 < 0 || t1 < t0 || t1 > len) {
      Checks.fail("t0, t1: expected 0 <= t0 <= t1 <= len = %d, got [%d, %d)", len, t0, t1);
    }
    if (t1 - t0 > longest) {
      Checks.fail("t1 - t0: expected at most chunk = %d steps, got %d", longest, t1 - t0);
    }
  }

  /** Δ from the biased raw value: softplus with torch's threshold 20 (as the inference scan). */
  private static double softplus(double x) {
    // log1p keeps softplus accurate for very negative inputs, where 1 + e^x rounds to 1.
    return x > 20.0 ? x : Math.log1p(Math.exp(x));
  }

  /** The forward over steps [t0, t1) of sequence b, state in h[hOff ..]; unchecked. */
  private void steps(double[] p, int pOff, Tape tape, int len, int b, int t0, int t1, double[] h, int hOff) {
    final int D = channels;
    final int N = stateSize;
    final int G = groups;
    final int perGroup = D / G;
    final int dSkip = pOff + D * N;
    final int bias = dSkip + D;
    final double[] u = tape.u;
    final double[] delta = tape.delta;
    final double[] z = tape.z;
    final double[] y = tape.y;
    final double[] Bm = tape.B;
    final double[] Cm = tape.C;
    for (int t = t0; t < t1; t++) {
      int row = (b * len + t) * D;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          double dt = softplus(delta[row + d] + p[bias + d]);
          double ut = u[row + d];
          double dtu = dt * ut; // Δ·u is shared by every n; B varies.
          int a = pOff + d * N;
          int hr = hOff + d * N;
          double acc = 0.0;
          for (int n = 0; n < N; n++) {
            double hn = Math.exp(dt * p[a + n]) * h[hr + n] + dtu * Bm[bc + n];
            h[hr + n] = hn;
            acc += Cm[bc + n] * hn;
          }
          acc += p[dSkip + d] * ut;
          y[row + d] = acc * Nonlinearity.silu(z[row + d]);
        }
      }
    }
  }

  /**
   * The backward of steps [t0, t1) of sequence b (at most chunk steps), from the state before
   * them in h0[h0Off ..] and the carried adjoint in gh[ghOff ..]; unchecked.
   */
  private void reverse(double[] p, int pOff, double[] gp, int gpOff, Tape tape, int len, int b, int t0, int t1,
      double[] h0, int h0Off, double[] gh, int ghOff) {
    final int D = channels;
    final int N = stateSize;
    final int G = groups;
    final int dn = D * N;
    final int perGroup = D / G;
    final int dSkip = D * N;
    final int bias = dSkip + D;
    final double[] u = tape.u;
    final double[] delta = tape.delta;
    final double[] z = tape.z;
    final double[] dy = tape.dy;
    final double[] Bm = tape.B;
    final double[] Cm = tape.C;
    final double[] du = tape.du;
    final double[] dDelta = tape.dDelta;
    final double[] dz = tape.dz;
    final double[] dB = tape.dB;
    final double[] dC = tape.dC;
    final double[] hs = tape.hs;
    final double[] abar = tape.abar;
    final double[] dts = tape.dt;
    final double[] dsp = tape.dsp;
    assert t1 - t0 <= chunk && hs.length >= (t1 - t0) * dn : "piece longer than the workspace";

    // 1. Recompute the piece's states and Ā from h0, exactly as the forward did.
    for (int t = t0; t < t1; t++) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          double x = delta[row + d] + p[pOff + bias + d];
          double dt = softplus(x);
          dts[tl * D + d] = dt;
          dsp[tl * D + d] = Nonlinearity.softplusDerivative(x);
          double dtu = dt * u[row + d];
          int a = pOff + d * N;
          double[] prev = tl == 0 ? h0 : hs;
          int pr = tl == 0 ? h0Off + d * N : ((tl - 1) * D + d) * N;
          int hr = (tl * D + d) * N;
          for (int n = 0; n < N; n++) {
            double ab = Math.exp(dt * p[a + n]);
            abar[hr + n] = ab;
            hs[hr + n] = ab * prev[pr + n] + dtu * Bm[bc + n];
          }
        }
      }
    }

    // 2. The adjoint, from the last step of the piece down; gh holds ∂L/∂h_t from the later steps.
    for (int t = t1 - 1; t >= t0; t--) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        for (int n = 0; n < N; n++) {
          dB[bc + n] = 0.0; // overwritten: the channels of the group add into them below
          dC[bc + n] = 0.0;
        }
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          double dyt = dy[row + d];
          double zt = z[row + d];
          double dy0 = dyt * Nonlinearity.silu(zt);
          double ut = u[row + d];
          double dt = dts[tl * D + d];
          double dtu = dt * ut;
          int a = pOff + d * N;
          int ga = gpOff + d * N;
          int gr = ghOff + d * N;
          int hr = (tl * D + d) * N;
          double[] prev = tl == 0 ? h0 : hs;
          int pr = tl == 0 ? h0Off + d * N : ((tl - 1) * D + d) * N;
          double y0 = 0.0;
          double gDelta = 0.0;
          double gBu = 0.0; // Σ_n g B
          for (int n = 0; n < N; n++) {
            double hn = hs[hr + n];
            double cn = Cm[bc + n];
            double bn = Bm[bc + n];
            double ab = abar[hr + n];
            double gn = gh[gr + n] + dy0 * cn; // g_t = dy0 C_t + Ā_{t+1} g_{t+1}
            y0 += cn * hn;
            dC[bc + n] += dy0 * hn;
            double gAbarAbar = gn * prev[pr + n] * ab; // gĀ_t Ā_t
            gDelta += gAbarAbar * p[a + n];
            gp[ga + n] += gAbarAbar * dt;
            dB[bc + n] += gn * dtu;
            gBu += gn * bn;
            gh[gr + n] = ab * gn; // ∂L/∂h_{t-1} through h_t
          }
          double dSkipD = p[pOff + dSkip + d];
          y0 += dSkipD * ut;
          dz[row + d] = dyt * y0 * Nonlinearity.siluDerivative(zt);
          gp[gpOff + dSkip + d] += dy0 * ut;
          du[row + d] = dy0 * dSkipD + dt * gBu;
          gDelta += gBu * ut; // Σ_n g B u
          double gd = gDelta * dsp[tl * D + d];
          dDelta[row + d] = gd;
          gp[gpOff + bias + d] += gd;
        }
      }
    }
  }

  /** {@code a[aOff + i] = -exp(aLog[aLogOff + i])} for {@code count} values: Mamba's A from its {@code A_log}. */
  public static void aFromALog(double[] aLog, int aLogOff, int count, double[] a, int aOff) {
    for (int i = 0; i < count; i++) {
      a[aOff + i] = -Math.exp(aLog[aLogOff + i]);
    }
  }

  /**
   * {@code gALog += gA · A} for {@code count} values: the chain rule through {@code A = -exp(A_log)},
   * whose derivative is A itself.
   */
  public static void accumulateALogGradient(double[] gA, int gAOff, double[] a, int aOff, int count, double[] gALog,
      int gALogOff) {
    for (int i = 0; i < count; i++) {
      gALog[gALogOff + i] += gA[gAOff + i] * a[aOff + i];
    }
  }
}
