package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.state.Fingerprint;

/**
 * Mamba-2's SSD layer (state space duality), discrete form, computed with the chunked SSD
 * algorithm.
 *
 * <h2>Recurrence</h2>
 * Heads {@code H}, head dimension {@code P}, state size {@code N}, groups {@code G} ({@code H}
 * divisible by {@code G}; head {@code h} reads the B and C of group {@code g(h) = h / (H/G)}). Per
 * step {@code t} and head {@code h}, with a scalar {@code A_h < 0} per head:
 * <pre>
 *   Δ_t,h   = dt_t,h + dtBias_h              (dtBias optional)
 *   Δ_t,h   = softplus(Δ_t,h)                (when dtSoftplus; softplus(v) = log(1 + e^v))
 *   a_t,h   = exp(Δ_t,h · A_h)
 *   S_h     ← a_t,h · S_h + Δ_t,h · x_t,h ⊗ B_t,g        (P×N outer product)
 *   y_t,h,p = Σ_n C_t,g,n · S_h,p,n + Dskip_h · x_t,h,p  (Dskip optional)
 * </pre>
 * {@link org.sparkssm.scan.reference.SsdScanReference} computes exactly this, step by step.
 *
 * <h2>Chunked (SSD) algorithm</h2>
 * The sequence is split into blocks of {@code Q} steps (the last may be shorter). Let
 * {@code ℓ_k = Δ_k A_h} and, inside a block, the segment sum
 * {@code seg(i, j) = Σ_{k=j+1..i} ℓ_k} ({@code 0} for {@code i = j}). For a block with incoming state
 * {@code S_in}:
 * <ol>
 *   <li>diagonal block (quadratic, "attention" form):
 *       {@code Y_diag = (L ∘ C Bᵀ) (Δ ⊙ X)}, {@code L[i,j] = exp(seg(i, j))} for {@code i ≥ j}, else 0;</li>
 *   <li>the block's own contribution to its end state:
 *       {@code S_blk = Σ_j exp(seg(Q-1, j)) Δ_j x_j ⊗ B_j};</li>
 *   <li>inter-block state passing: {@code S_out = exp(seg(Q-1, -1)) S_in + S_blk}, starting from the
 *       caller's initial state;</li>
 *   <li>state to output: {@code Y_off[i] = exp(seg(i, -1)) · C_i S_in}.</li>
 * </ol>
 * {@code y = Y_diag + Y_off + Dskip ⊙ x} equals the recurrence for any {@code Q ≥ 1} and any length
 * (up to rounding). Every decay is the exponential of a running sum of {@code ℓ} accumulated
 * directly over the segment it spans, never a product of exponentials nor a difference of two
 * long prefix sums, so it neither drifts nor cancels. Work per block: {@code G Q² N} for
 * {@code C Bᵀ}, {@code H Q² P} for the diagonal block, {@code 2 H Q P N} for the state terms; the
 * per-call workspace is {@code (G + 1) Q'² + 3 Q' + Q' H + P} doubles with {@code Q' = min(Q, L)}.
 *
 * <h2>Memory layout</h2>
 * Time-major sequences, each from a caller-given offset: {@code x[(t*H + h)*P + p]},
 * {@code dt[t*H + h]}, {@code B[(t*G + g)*N + n]}, {@code C[(t*G + g)*N + n]}, {@code y} like
 * {@code x}. State {@code S[(h*P + p)*N + n]}, {@code H*P*N} doubles: the caller's initial state on
 * entry, the final state on return, so chunks scanned one after another with the same array equal
 * the one-shot scan.
 *
 * <h2>Float32</h2>
 * {@link #scan32} runs the same chunked algorithm on {@code float[]} sequences, with the state
 * carried in float32 ({@code float[]} state) or in float64 ({@code double[]} state, same layout);
 * see {@link SsdScan32} for what is rounded where and {@code SsdScan32Test} for the measured error.
 */
public final class SsdScan {
  private SsdScan() {}

  /**
   * The layer's shape and parameters, validated once. Immutable: arrays are copied in and out.
   */
  public static final class Params implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final int heads;
    private final int headDim;
    private final int stateSize;
    private final int groups;
    private final double[] a;
    private final double[] dSkip; // null: no feed-through
    private final double[] dtBias; // null: no bias
    private final boolean dtSoftplus;
    private transient volatile SsdScan32.Float32 float32; // built on first use by float32()

    private Params(int heads, int headDim, int stateSize, int groups, double[] a, double[] dSkip,
        double[] dtBias, boolean dtSoftplus) {
      this.heads = heads;
      this.headDim = headDim;
      this.stateSize = stateSize;
      this.groups = groups;
      this.a = a;
      this.dSkip = dSkip;
      this.dtBias = dtBias;
      this.dtSoftplus = dtSoftplus;
    }

    /**
     * Validated parameters.
     *
     * @param heads H ≥ 1
     * @param headDim P ≥ 1
     * @param stateSize N ≥ 1
     * @param groups G ≥ 1, dividing H
     * @param a A, length H, every value finite and {@code < 0} (see {@link SsdScan#aFromLog})
     * @param dSkip Dskip, length H, finite; null for none
     * @param dtBias added to dt before the softplus, length H, finite; null for none
     * @param dtSoftplus whether Δ = softplus(dt + dtBias) (else Δ = dt + dtBias, which must be ≥ 0)
     */
    public static Params of(int heads, int headDim, int stateSize, int groups, double[] a, double[] dSkip,
        double[] dtBias, boolean dtSoftplus) {
      Checks.positive("heads (H)", heads);
      Checks.positive("headDim (P)", headDim);
      Checks.positive("stateSize (N)", stateSize);
      Checks.positive("groups (G)", groups);
      if (heads % groups != 0) {
        Checks.fail("groups (G): expected a divisor of heads H = %d, got %d", heads, groups);
      }
      long size = (long) heads * headDim * stateSize;
      if (size > Integer.MAX_VALUE - 8) {
        Checks.fail("heads*headDim*stateSize (H*P*N): expected a state of at most %d doubles, got %d",
            Integer.MAX_VALUE - 8, size);
      }
      Checks.length("A", a, heads, "one per head, H = " + heads);
      Checks.allNegative("A", a);
      if (dSkip != null) {
        Checks.length("Dskip", dSkip, heads, "one per head, H = " + heads);
        Checks.allFinite("Dskip", dSkip);
      }
      if (dtBias != null) {
        Checks.length("dtBias", dtBias, heads, "one per head, H = " + heads);
        Checks.allFinite("dtBias", dtBias);
      }
      return new Params(heads, headDim, stateSize, groups, a.clone(),
          dSkip == null ? null : dSkip.clone(), dtBias == null ? null : dtBias.clone(), dtSoftplus);
    }

    /** H. */
    public int heads() {
      return heads;
    }

    /** P. */
    public int headDim() {
      return headDim;
    }

    /** N. */
    public int stateSize() {
      return stateSize;
    }

    /** G. */
    public int groups() {
      return groups;
    }

    /** The group whose B and C head {@code h} reads: {@code h / (H/G)}. */
    public int groupOf(int head) {
      return head / (heads / groups);
    }

    /** A copy of A (length H). */
    public double[] a() {
      return a.clone();
    }

    /** A copy of Dskip (length H), or null. */
    public double[] dSkip() {
      return dSkip == null ? null : dSkip.clone();
    }

    /** A copy of dtBias (length H), or null. */
    public double[] dtBias() {
      return dtBias == null ? null : dtBias.clone();
    }

    public boolean dtSoftplus() {
      return dtSoftplus;
    }

    /** Length of the state array: {@code H*P*N}. */
    public int stateLength() {
      return heads * headDim * stateSize;
    }

    /** The effective step Δ of head {@code h} for a raw {@code dt}: bias, then softplus if enabled. */
    public double delta(int head, double dt) {
      double v = dtBias == null ? dt : dt + dtBias[head];
      return dtSoftplus ? softplus(v) : v;
    }

    /** Fingerprint of the shape and every parameter, for {@link org.sparkssm.state.ScanState}. */
    public long fingerprint() {
      return new Fingerprint().add("SsdScan").add(heads).add(headDim).add(stateSize).add(groups)
          .add(a).add(dSkip).add(dtBias).add(dtSoftplus ? 1L : 0L).value();
    }

    /**
     * The float32 copies {@link SsdScan#scan32} reads, rounded once on first use and kept (transient:
     * a deserialized Params rounds again). Throws, naming A, if an element of A does not stay finite
     * and {@code < 0} in float32.
     */
    SsdScan32.Float32 float32() {
      SsdScan32.Float32 view = float32;
      if (view == null) {
        view = new SsdScan32.Float32(a, dSkip, dtBias, heads);
        float32 = view; // racing threads build equal copies; either may win
      }
      return view;
    }

    @Override
    public String toString() {
      return "SsdScan.Params(H=" + heads + ", P=" + headDim + ", N=" + stateSize + ", G=" + groups
          + ", Dskip=" + (dSkip != null) + ", dtBias=" + (dtBias != null) + ", softplus=" + dtSoftplus + ")";
    }
  }

  /** Mamba-2's parameterization {@code A_h = -exp(A_log_h)}: always negative. */
  public static double[] aFromLog(double[] aLog) {
    Checks.allFinite("aLog", aLog);
    double[] a = new double[aLog.length];
    for (int h = 0; h < aLog.length; h++) {
      a[h] = -Math.exp(aLog[h]);
    }
    return a;
  }

  /**
   * {@code log(1 + e^v)} without overflow: {@code max(v, 0) + log1p(e^{-|v|})}. Exact everywhere
   * (PyTorch switches to the identity above 20, a difference below 3e-9).
   */
  public static double softplus(double v) {
    return Math.max(v, 0.0) + Math.log1p(Math.exp(-Math.abs(v)));
  }

  /**
   * Scans {@code length} steps with the chunked SSD algorithm (see the class comment).
   *
   * @param params the layer
   * @param length L ≥ 0 (0 leaves everything unchanged)
   * @param blockLength Q ≥ 1, the SSD block length; any value gives the same result, it only moves
   *     work between the quadratic diagonal blocks ({@code Q²}) and state passing ({@code L/Q})
   * @param x input {@code [L][H][P]} from {@code xOff}
   * @param dt raw step {@code [L][H]} from {@code dtOff}; finite, and {@code dt + dtBias ≥ 0} unless softplus
   * @param B {@code [L][G][N]} from {@code bOff}
   * @param C {@code [L][G][N]} from {@code cOff}
   * @param y output {@code [L][H][P]} from {@code yOff}; must not overlap x, dt, B or C
   * @param state {@code [H][P][N]}: initial state in, final state out
   */
  public static void scan(Params params, int length, int blockLength, double[] x, int xOff, double[] dt,
      int dtOff, double[] B, int bOff, double[] C, int cOff, double[] y, int yOff, double[] state) {
    Checks.notNull("params", params);
    Checks.nonNegative("length", length);
    Checks.chunkSize("blockLength", blockLength);
    checkInputs(params, length, x, xOff, dt, dtOff, B, bOff);
    int groups = params.groups;
    int heads = params.heads;
    Checks.range("C", C, cOff, (long) length * groups * params.stateSize);
    Checks.range("y", y, yOff, (long) length * heads * params.headDim);
    Checks.length("state", state, params.stateLength(), "H*P*N = " + heads + "*" + params.headDim + "*"
        + params.stateSize);
    long yCount = (long) length * heads * params.headDim;
    noOverlap(y, yOff, yCount, "x", x, xOff, (long) length * heads * params.headDim);
    noOverlap(y, yOff, yCount, "dt", dt, dtOff, (long) length * heads);
    noOverlap(y, yOff, yCount, "B", B, bOff, (long) length * groups * params.stateSize);
    noOverlap(y, yOff, yCount, "C", C, cOff, (long) length * groups * params.stateSize);
    if (length == 0) {
      return;
    }
    int q = Math.min(blockLength, length);
    if ((long) (groups + 1) * q * q > Integer.MAX_VALUE - 8) {
      Checks.fail("blockLength: expected a block whose (G+1)*Q*Q = (%d+1)*%d*%d workspace fits an array, "
          + "use a smaller block", groups, q, q);
    }
    chunked(params, length, q, x, xOff, dt, dtOff, B, bOff, C, cOff, y, yOff, state);
  }

  /**
   * {@link #scan} in float32: the same chunked algorithm, arguments and layouts on {@code float[]}
   * sequences. Δ, the decays ({@link FloatMath#exp}), {@code C Bᵀ}, the diagonal block and the output
   * are float32 operations (fused multiply-adds in a fixed order), so the Vector API path and the
   * scalar path give the same bits. The state is carried in float32 here; see the {@code double[]}
   * overload for a float64 state. Chunks scanned one after another equal the one-shot scan to
   * float32 rounding, not bit for bit: the SSD blocks start where each call starts.
   *
   * @param ws reused arrays (grow-only), one per thread; nothing else is allocated
   * @throws IllegalArgumentException as {@link #scan}, and when A does not stay finite and {@code < 0}
   *     in float32 or a biased dt is not finite in float32
   */
  public static void scan32(Params params, int length, int blockLength, float[] x, int xOff, float[] dt, int dtOff,
      float[] B, int bOff, float[] C, int cOff, float[] y, int yOff, float[] state, Workspace32 ws) {
    checkInputs32(params, length, blockLength, x, xOff, dt, dtOff, B, bOff, C, cOff, y, yOff, ws);
    Checks.length("state", state, params.stateLength(), "H*P*N = " + params.heads + "*" + params.headDim + "*"
        + params.stateSize);
    if (length > 0) {
      SsdScan32.chunked(params, length, Math.min(blockLength, length), x, xOff, dt, dtOff, B, bOff, C, cOff, y, yOff,
          state, null, ws, VectorSupport.ENABLED);
    }
  }

  /**
   * {@link #scan32} with the state carried in float64 ({@code state} as in {@link #scan}): the
   * state terms (its contribution to y, its decay across a block and the block's update of it)
   * multiply and accumulate in float64 from the float32 inputs and coefficients; the rest is as in
   * the float32-state overload.
   */
  public static void scan32(Params params, int length, int blockLength, float[] x, int xOff, float[] dt, int dtOff,
      float[] B, int bOff, float[] C, int cOff, float[] y, int yOff, double[] state, Workspace32 ws) {
    checkInputs32(params, length, blockLength, x, xOff, dt, dtOff, B, bOff, C, cOff, y, yOff, ws);
    Checks.length("state", state, params.stateLength(), "H*P*N = " + params.heads + "*" + params.headDim + "*"
        + params.stateSize);
    if (length > 0) {
      SsdScan32.chunked(params, length, Math.min(blockLength, length), x, xOff, dt, dtOff, B, bOff, C, cOff, y, yOff,
          null, state, ws, VectorSupport.ENABLED);
    }
  }

  /**
   * The arrays {@link #scan32} works in, grown to the largest call seen and reused: a caller keeps
   * one per thread (not thread-safe). Contents are overwritten before use.
   */
  public static final class Workspace32 {
    float[] delta = new float[0]; // Δ[i][h] of a block
    float[] bT = new float[0]; // B of a block transposed, [g][n][j]
    float[] cb = new float[0]; // (C Bᵀ)[g][i][j], lower triangle
    float[] deltaH = new float[0]; // Δ_j of one head
    float[] ell = new float[0]; // ℓ_j = Δ_j A_h
    float[] decayIn = new float[0]; // exp(seg(i, -1))
    float[] decayOut = new float[0]; // exp(seg(Q-1, j)) Δ_j
    float[] seg = new float[0]; // seg(i, j) of the current row i
    float[] w = new float[0]; // W[i][j] of the current row i
    float[] cRow = new float[0]; // decayIn_i C_i (float32 state)
    float[] u = new float[0]; // decayOut_j B_j,n as [n][j] (float32 state)
    float[] state32 = new float[0]; // the float32 state transposed, [h][n][p]
    double[] state64 = new double[0]; // the float64 state transposed, [h][n][p]
    double[] cRow64 = new double[0];
    double[] u64 = new double[0];
    double[] x64 = new double[0]; // one head's block of x, widened, [j][p]
    double[] cs64 = new double[0]; // one output row's state term

    /** Grows the arrays for blocks of {@code q} steps of {@code params}; keeps them when large enough. */
    void ensure(Params params, int q, boolean state64Mode) {
      int heads = params.heads;
      int pDim = params.headDim;
      int nDim = params.stateSize;
      int groups = params.groups;
      delta = grow(delta, q * heads);
      bT = grow(bT, groups * nDim * q);
      cb = grow(cb, groups * q * q);
      deltaH = grow(deltaH, q);
      ell = grow(ell, q);
      decayIn = grow(decayIn, q);
      decayOut = grow(decayOut, q);
      seg = grow(seg, q);
      w = grow(w, q);
      if (state64Mode) {
        state64 = grow(state64, params.stateLength());
        cRow64 = grow(cRow64, nDim);
        u64 = grow(u64, q);
        x64 = grow(x64, q * pDim);
        cs64 = grow(cs64, pDim);
      } else {
        state32 = grow(state32, params.stateLength());
        cRow = grow(cRow, nDim);
        u = grow(u, nDim * q);
      }
    }

    private static float[] grow(float[] a, int n) {
      return a.length >= n ? a : new float[n];
    }

    private static double[] grow(double[] a, int n) {
      return a.length >= n ? a : new double[n];
    }
  }

  /** The checks of {@link #scan32}, both overloads: shapes, ranges, overlaps, float32 parameters and dt. */
  private static void checkInputs32(Params params, int length, int blockLength, float[] x, int xOff, float[] dt,
      int dtOff, float[] B, int bOff, float[] C, int cOff, float[] y, int yOff, Workspace32 ws) {
    Checks.notNull("params", params);
    Checks.notNull("ws", ws);
    Checks.nonNegative("length", length);
    Checks.chunkSize("blockLength", blockLength);
    int heads = params.heads;
    long xCount = (long) length * heads * params.headDim;
    long bcCount = (long) length * params.groups * params.stateSize;
    Checks.range("x", x, xOff, xCount);
    Checks.range("dt", dt, dtOff, (long) length * heads);
    Checks.range("B", B, bOff, bcCount);
    Checks.range("C", C, cOff, bcCount);
    Checks.range("y", y, yOff, xCount);
    noOverlap(y, yOff, xCount, "x", x, xOff, xCount);
    noOverlap(y, yOff, xCount, "dt", dt, dtOff, (long) length * heads);
    noOverlap(y, yOff, xCount, "B", B, bOff, bcCount);
    noOverlap(y, yOff, xCount, "C", C, cOff, bcCount);
    int q = Math.min(blockLength, Math.max(1, length));
    if ((long) params.groups * q * q > Integer.MAX_VALUE - 8) {
      Checks.fail("blockLength: expected a block whose G*Q*Q = %d*%d*%d workspace fits an array, use a smaller block",
          params.groups, q, q);
    }
    SsdScan32.Float32 f = params.float32(); // validates A in float32
    // Δ drives exp(Δ A): a NaN or an infinite Δ poisons the whole state, a negative one makes it grow.
    for (int t = 0; t < length; t++) {
      for (int h = 0; h < heads; h++) {
        float raw = dt[dtOff + t * heads + h];
        float biased = f.dtBias == null ? raw : raw + f.dtBias[h];
        if (!Float.isFinite(biased) || !(params.dtSoftplus || biased >= 0f)) {
          Checks.fail("dt: expected finite values with a step Δ >= 0 in float32, got dt = %s (%s) at step %d, head %d",
              raw, params.dtSoftplus ? "softplus(dt + dtBias)" : (params.dtBias == null ? "dt" : "dt + dtBias = "
                  + biased), t, h);
        }
      }
    }
  }

  /**
   * What {@code length} steps do to any incoming state: {@code S_end = decay ⊙ S_in + end} with
   * {@code decay[(h*P + p)*N + n] = exp(A_h Σ_t Δ_t,h)} (repeated over p, n) and {@code end} the end
   * state scanned from zero. Combine consecutive chunks' summaries with
   * {@link ChunkSummary#combine}; applying the combination to {@code S_0} gives the one-shot final
   * state. C and Dskip play no part. Arguments as in {@link #scan}.
   */
  public static ChunkSummary summarize(Params params, int length, double[] x, int xOff, double[] dt, int dtOff,
      double[] B, int bOff) {
    Checks.notNull("params", params);
    Checks.nonNegative("length", length);
    checkInputs(params, length, x, xOff, dt, dtOff, B, bOff);
    int heads = params.heads;
    int pDim = params.headDim;
    int nDim = params.stateSize;
    int groups = params.groups;
    double[] end = new double[params.stateLength()];
    // suffix[h] = Σ_{k>t} Δ_k,h A_h, the log-decay from after step t to the chunk end, accumulated
    // backwards so each weight is one exp of a running sum.
    double[] suffix = new double[heads];
    for (int t = length - 1; t >= 0; t--) {
      for (int h = 0; h < heads; h++) {
        double delta = params.delta(h, dt[dtOff + t * heads + h]);
        double coef = Math.exp(suffix[h]) * delta;
        suffix[h] += delta * params.a[h];
        int xBase = xOff + (t * heads + h) * pDim;
        int bBase = bOff + (t * groups + params.groupOf(h)) * nDim;
        for (int p = 0; p < pDim; p++) {
          double cx = coef * x[xBase + p];
          int sBase = (h * pDim + p) * nDim;
          for (int n = 0; n < nDim; n++) {
            end[sBase + n] += cx * B[bBase + n];
          }
        }
      }
    }
    double[] decay = new double[end.length];
    for (int h = 0; h < heads; h++) {
      double d = Math.exp(suffix[h]);
      int from = h * pDim * nDim;
      java.util.Arrays.fill(decay, from, from + pDim * nDim, d);
    }
    return ChunkSummary.real(decay, end, length);
  }

  /** Range checks of x, dt and B, and the validity of every Δ. */
  private static void checkInputs(Params params, int length, double[] x, int xOff, double[] dt, int dtOff,
      double[] B, int bOff) {
    int heads = params.heads;
    Checks.range("x", x, xOff, (long) length * heads * params.headDim);
    Checks.range("dt", dt, dtOff, (long) length * heads);
    Checks.range("B", B, bOff, (long) length * params.groups * params.stateSize);
    // Δ drives exp(Δ A): a NaN poisons the whole state, and a negative Δ would make a_t > 1 (growth).
    for (int t = 0; t < length; t++) {
      for (int h = 0; h < heads; h++) {
        double raw = dt[dtOff + t * heads + h];
        if (!Double.isFinite(raw)) {
          Checks.fail("dt: expected finite values, got %s at step %d, head %d", raw, t, h);
        }
        double delta = params.delta(h, raw);
        if (!(delta >= 0) || Double.isInfinite(delta)) {
          Checks.fail("dt: expected a step Δ = %s >= 0, got %s at step %d, head %d",
              params.dtSoftplus ? "softplus(dt + dtBias)" : (params.dtBias == null ? "dt" : "dt + dtBias"),
              delta, t, h);
        }
      }
    }
  }

  /** Fails when {@code y} is {@code other} (the same array, double[] or float[]) and the ranges meet. */
  private static void noOverlap(Object y, int yOff, long yCount, String name, Object other, int off, long count) {
    if (y == other && yCount > 0 && count > 0 && yOff < off + count && off < yOff + yCount) {
      Checks.fail("y: expected an output range that does not overlap %s, got [%d, %d) against [%d, %d)",
          name, yOff, yOff + yCount, off, off + count);
    }
  }

  /** The chunked SSD algorithm over validated arguments; {@code q = min(Q, L) ≥ 1}. */
  private static void chunked(Params params, int length, int q, double[] x, int xOff, double[] dt, int dtOff,
      double[] B, int bOff, double[] C, int cOff, double[] y, int yOff, double[] state) {
    final int heads = params.heads;
    final int pDim = params.headDim;
    final int nDim = params.stateSize;
    final int groups = params.groups;
    final int headsPerGroup = heads / groups;
    final double[] aHead = params.a;
    final double[] dSkip = params.dSkip;

    // Per-call workspaces, reused by every block.
    final double[] cb = new double[groups * q * q]; // (C Bᵀ)[g][i][j], lower triangle
    final double[] w = new double[q * q]; // L ∘ C Bᵀ with Δ_j folded in, lower triangle
    final double[] delta = new double[q * heads]; // Δ[i][h]
    final double[] ell = new double[q]; // ℓ_i = Δ_i A_h of the current head
    final double[] decayIn = new double[q]; // exp(seg(i, -1)): block start to after step i
    final double[] decayOut = new double[q]; // exp(seg(q-1, j)) · Δ_j: after step j to block end
    final double[] acc = new double[pDim]; // one output row y[i][h][·]

    for (int t0 = 0; t0 < length; t0 += q) {
      final int len = Math.min(q, length - t0);

      for (int i = 0; i < len; i++) {
        for (int h = 0; h < heads; h++) {
          delta[i * heads + h] = params.delta(h, dt[dtOff + (t0 + i) * heads + h]);
        }
      }

      // C Bᵀ once per group: the heads of a group share it.
      for (int g = 0; g < groups; g++) {
        int cbBase = g * q * q;
        for (int i = 0; i < len; i++) {
          int cRow = cOff + ((t0 + i) * groups + g) * nDim;
          for (int j = 0; j <= i; j++) {
            int bRow = bOff + ((t0 + j) * groups + g) * nDim;
            double s = 0;
            for (int n = 0; n < nDim; n++) {
              s += C[cRow + n] * B[bRow + n];
            }
            cb[cbBase + i * q + j] = s;
          }
        }
      }

      for (int h = 0; h < heads; h++) {
        final int g = h / headsPerGroup;
        final int cbBase = g * q * q;
        final double aH = aHead[h];
        final double dH = dSkip == null ? 0.0 : dSkip[h];
        final int sHead = h * pDim * nDim;

        double prefix = 0;
        for (int i = 0; i < len; i++) {
          ell[i] = delta[i * heads + h] * aH;
          prefix += ell[i];
          decayIn[i] = Math.exp(prefix);
        }
        final double blockDecay = decayIn[len - 1];
        double suffix = 0; // seg(len-1, j), summed backwards so it spans exactly (j, len-1]
        for (int j = len - 1; j >= 0; j--) {
          decayOut[j] = Math.exp(suffix) * delta[j * heads + h];
          suffix += ell[j];
        }

        // (1) weights of the diagonal block: W[i][j] = exp(seg(i, j)) (C_i·B_j) Δ_j, j ≤ i.
        for (int i = 0; i < len; i++) {
          double seg = 0; // seg(i, j) for the current j, grown by ℓ_{j} as j steps down
          int row = i * q;
          for (int j = i; j >= 0; j--) {
            w[row + j] = Math.exp(seg) * cb[cbBase + row + j] * delta[j * heads + h];
            seg += ell[j];
          }
        }

        // (1) + (4) + skip: every output row of this head, from the incoming state S_in.
        for (int i = 0; i < len; i++) {
          for (int p = 0; p < pDim; p++) {
            acc[p] = 0;
          }
          int row = i * q;
          for (int j = 0; j <= i; j++) {
            double wij = w[row + j];
            int xRow = xOff + ((t0 + j) * heads + h) * pDim;
            for (int p = 0; p < pDim; p++) {
              acc[p] += wij * x[xRow + p];
            }
          }
          int cRow = cOff + ((t0 + i) * groups + g) * nDim;
          int xRow = xOff + ((t0 + i) * heads + h) * pDim;
          int yRow = yOff + ((t0 + i) * heads + h) * pDim;
          double dIn = decayIn[i];
          for (int p = 0; p < pDim; p++) {
            int sRow = sHead + p * nDim;
            double cs = 0;
            for (int n = 0; n < nDim; n++) {
              cs += C[cRow + n] * state[sRow + n];
            }
            y[yRow + p] = acc[p] + dIn * cs + dH * x[xRow + p];
          }
        }

        // (3) pass the state across the block, then (2) add the block's own contribution.
        for (int s = sHead; s < sHead + pDim * nDim; s++) {
          state[s] *= blockDecay;
        }
        for (int j = 0; j < len; j++) {
          double coef = decayOut[j];
          int xRow = xOff + ((t0 + j) * heads + h) * pDim;
          int bRow = bOff + ((t0 + j) * groups + g) * nDim;
          for (int p = 0; p < pDim; p++) {
            double cx = coef * x[xRow + p];
            int sRow = sHead + p * nDim;
            for (int n = 0; n < nDim; n++) {
              state[sRow + n] += cx * B[bRow + n];
            }
          }
        }
      }
    }
  }
}
