package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.state.Fingerprint;

/**
 * The Mamba S6 selective scan, with the semantics of {@code selective_scan_ref} in
 * state-spaces/mamba ({@code mamba_ssm/ops/selective_scan_interface.py}), in float64:
 *
 * <pre>
 *   Δ_{t,d}   = softplus(delta_{t,d} + deltaBias_d)    when deltaSoftplus, else delta_{t,d} + deltaBias_d
 *   h_{d,n}  ← exp(Δ_{t,d} A_{d,n}) · h_{d,n} + Δ_{t,d} · B_{t,g(d),n} · u_{t,d}
 *   y_{t,d}   = Σ_n C_{t,g(d),n} h_{d,n} + Dskip_d · u_{t,d}
 *   y_{t,d}  ← y_{t,d} · silu(z_{t,d})                  when z is given
 * </pre>
 *
 * where {@code softplus(x) = log(1 + e^x)} for {@code x <= 20} and {@code x} above (torch's
 * threshold), {@code silu(x) = x · sigmoid(x)}, and channel {@code d} reads group
 * {@code g(d) = d / (D / G)} of B and C ({@code G} groups of {@code D / G} consecutive channels).
 * A missing {@code deltaBias} or {@code Dskip} counts as zero.
 *
 * <h2>Shapes and layout</h2>
 * (see {@link org.sparkssm}) {@code u, delta, z, y}: {@code L×D}, time-major {@code [t * D + d]};
 * {@code B, C}: {@code L×G×N}, {@code [(t * G + g) * N + n]}; {@code A, h}: {@code D×N},
 * {@code [d * N + n]}; {@code Dskip, deltaBias}: {@code D}. Every sequence is read from its own
 * offset, so a chunk of a longer buffer is scanned in place.
 *
 * <h2>Carried state</h2>
 * {@link #scan} takes the initial state in {@code h} and leaves the final state there: scanning a
 * sequence piece by piece with the same {@code h} equals the one-shot scan. {@link #summarize}
 * gives a piece's {@link ChunkSummary} instead, for scans whose pieces run in parallel.
 *
 * <h2>Non-finite inputs</h2>
 * The parameters are validated once ({@link Params}); the sequences are not scanned for NaN or
 * infinity (that would cost a pass over the data). They follow IEEE arithmetic: a NaN in
 * {@code delta}, {@code u} or {@code B} at step t of channel d makes {@code h_{d,·}} NaN and with
 * it {@code y_{t',d}} for every {@code t' >= t}; other channels are unaffected. Nothing throws.
 *
 * <h2>Speed</h2>
 * With {@link VectorSupport#ENABLED} the scan runs on the Vector API (package-private
 * {@code SelectiveScanVector}: lanes over channels, state transposed to {@code [n * D + d]} for
 * the call); otherwise, or when a group has fewer channels than a vector has lanes, it runs the
 * scalar loop. Both agree with the float64 reference
 * ({@link org.sparkssm.scan.reference.SelectiveScanReference}) to rounding.
 *
 * <h2>Float32</h2>
 * {@link #scan32} is the same scan on {@code float[]} sequences and state, for models whose
 * weights and activations are float32 (as Mamba's are): half the memory traffic and twice the
 * lanes per vector. Its exp, softplus and SiLU are {@link FloatMath}'s (FMAs only, so the Vector
 * API path, the scalar path and a chunked scan all give the same bits, compiled or interpreted);
 * Δ is computed once per (t, d) in float32 too, because softplus in double per (t, d) (a
 * {@code Math.exp} and a {@code Math.log1p}, about 13 ns) took more than half the float32 scan's
 * time at D = 1536, N = 16. The parameters are rounded to float once per {@link Params}.
 */
public final class SelectiveScan {
  private SelectiveScan() {}

  /**
   * The validated, immutable parameters of one selective SSM layer: {@code D} channels, state size
   * {@code N}, {@code G} groups of B/C, the continuous-time diagonal {@code A} ({@code D×N},
   * {@code [d * N + n]}, every element finite and {@code < 0}), the optional D-skip and Δ bias
   * (length D, finite) and whether Δ goes through softplus.
   *
   * <p>Mamba stores {@code A_log} and uses {@code A = -exp(A_log)}; {@link #fromALog} does that
   * conversion. The reference kernel does not require {@code A < 0}, but with {@code Δ > 0} it is
   * what keeps {@code exp(Δ A) < 1} (a recurrence that does not grow), and every trained Mamba
   * satisfies it, so it is required here.
   */
  public static final class Params implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    private final int d;
    private final int n;
    private final int g;
    private final double[] a; // [d * N + n]
    private final double[] aTransposed; // [n * D + d], for the vector path's channel lanes
    private final double[] dSkip; // null: none
    private final double[] deltaBias; // null: none
    private final boolean deltaSoftplus;
    private transient volatile Float32 float32; // built on first use by float32()

    private Params(int d, int n, int g, double[] a, double[] dSkip, double[] deltaBias, boolean deltaSoftplus) {
      this.d = d;
      this.n = n;
      this.g = g;
      this.a = a;
      this.dSkip = dSkip;
      this.deltaBias = deltaBias;
      this.deltaSoftplus = deltaSoftplus;
      this.aTransposed = new double[a.length];
      for (int c = 0; c < d; c++) {
        for (int s = 0; s < n; s++) {
          aTransposed[s * d + c] = a[c * n + s];
        }
      }
    }

    /**
     * Parameters from {@code A} itself ({@code D×N}, all finite and {@code < 0}); {@code dSkip} and
     * {@code deltaBias} (length D) may be null. Arrays are copied.
     */
    public static Params of(int D, int N, int G, double[] A, double[] dSkip, double[] deltaBias,
        boolean deltaSoftplus) {
      Checks.positive("D", D);
      Checks.positive("N", N);
      Checks.positive("G", G);
      if (D % G != 0) {
        Checks.fail("G: expected a divisor of D = %d, got %d", D, G);
      }
      if ((long) D * N > Integer.MAX_VALUE) {
        Checks.fail("N: expected D*N <= %d, got %d*%d", Integer.MAX_VALUE, D, N);
      }
      Checks.length("A", A, D * N, "D*N = " + D + "*" + N);
      Checks.allNegative("A", A);
      if (dSkip != null) {
        Checks.length("dSkip", dSkip, D, "D");
        Checks.allFinite("dSkip", dSkip);
      }
      if (deltaBias != null) {
        Checks.length("deltaBias", deltaBias, D, "D");
        Checks.allFinite("deltaBias", deltaBias);
      }
      return new Params(D, N, G, A.clone(), dSkip == null ? null : dSkip.clone(),
          deltaBias == null ? null : deltaBias.clone(), deltaSoftplus);
    }

    /** Parameters from Mamba's {@code A_log} ({@code D×N}): {@code A = -exp(A_log)}, see {@link #aFromALog}. */
    public static Params fromALog(int D, int N, int G, double[] aLog, double[] dSkip, double[] deltaBias,
        boolean deltaSoftplus) {
      return of(D, N, G, aFromALog(aLog), dSkip, deltaBias, deltaSoftplus);
    }

    /**
     * {@code A = -exp(A_log)}, element-wise, as Mamba parameterizes A. {@code A_log} must be finite
     * and not so negative that {@code exp} underflows to 0 (below about -745), which would make A
     * zero instead of negative.
     */
    public static double[] aFromALog(double[] aLog) {
      Checks.allFinite("aLog", aLog);
      double[] a = new double[aLog.length];
      for (int i = 0; i < aLog.length; i++) {
        a[i] = -Math.exp(aLog[i]);
        if (!(a[i] < 0)) {
          Checks.fail("aLog: expected values whose -exp is < 0 (about > -745), got %s at index %d", aLog[i], i);
        }
      }
      return a;
    }

    /** Channels D. */
    public int channels() {
      return d;
    }

    /** State size N per channel. */
    public int stateSize() {
      return n;
    }

    /** Groups G of B and C. */
    public int groups() {
      return g;
    }

    /** Length of the hidden state {@code h}: D*N. */
    public int stateLength() {
      return d * n;
    }

    /** A copy of A, {@code [d * N + n]}. */
    public double[] a() {
      return a.clone();
    }

    /** A copy of the D-skip, or null. */
    public double[] dSkip() {
      return dSkip == null ? null : dSkip.clone();
    }

    /** A copy of the Δ bias, or null. */
    public double[] deltaBias() {
      return deltaBias == null ? null : deltaBias.clone();
    }

    public boolean deltaSoftplus() {
      return deltaSoftplus;
    }

    /** Fingerprint of the shape and every parameter, for {@link org.sparkssm.state.ScanState}. */
    public long fingerprint() {
      return new Fingerprint().add("SelectiveScan").add(d).add(n).add(g).add(a).add(dSkip).add(deltaBias)
          .add(deltaSoftplus ? 1L : 0L).value();
    }

    /**
     * The float32 copies {@link SelectiveScan#scan32} reads, rounded once on first use and kept
     * (transient: a deserialized Params rounds again). Throws, naming A, if an element of A does not
     * stay finite and {@code < 0} in float32 (beyond ±3.4e38 or within 1e-45 of 0).
     */
    Float32 float32() {
      Float32 view = float32;
      if (view == null) {
        view = new Float32(this);
        float32 = view; // racing threads build equal copies; either may win
      }
      return view;
    }

    // Package-private views without copying, for the kernels.
    double[] aRaw() {
      return a;
    }

    double[] aTransposedRaw() {
      return aTransposed;
    }

    double[] dSkipRaw() {
      return dSkip;
    }

    double[] deltaBiasRaw() {
      return deltaBias;
    }
  }

  /**
   * The parameters of a {@link Params} rounded to float32 for {@link #scan32}: A in both layouts
   * ({@code [d * N + n]} for the scalar path, {@code [n * D + d]} for the vector lanes), D-skip and Δ
   * bias (null when absent). Immutable once built.
   */
  static final class Float32 {
    final float[] a;
    final float[] aTransposed;
    final float[] dSkip;
    final float[] deltaBias;
    /**
     * Step sizes {@code 0 <= Δ <= maxClampFreeDelta} keep every {@code Δ·A} within
     * {@code [-100 (1 + 2^-24), 0]}, inside exp's clamps, so the vector path may skip them.
     */
    final float maxClampFreeDelta;

    private Float32(Params p) {
      a = new float[p.a.length];
      aTransposed = new float[p.a.length];
      for (int i = 0; i < a.length; i++) {
        a[i] = (float) p.a[i];
        // A of -1e-50 or -1e50 is a valid double but 0 or -∞ in float: no decay, or NaN at Δ = 0.
        if (!(a[i] < 0f) || Float.isInfinite(a[i])) {
          Checks.fail("A: expected values that stay finite and < 0 in float32, got %s at index %d", p.a[i], i);
        }
        aTransposed[(i % p.n) * p.d + i / p.n] = a[i];
      }
      dSkip = FloatMath.toFloat(p.dSkip, p.d);
      deltaBias = FloatMath.toFloat(p.deltaBias, p.d);
      float maxAbsA = 0f;
      for (int i = 0; i < a.length; i++) {
        maxAbsA = Math.max(maxAbsA, -a[i]);
      }
      // Δ·|A| <= (100 / |A|max)(1 + 2^-24) · |A| (1 + 2^-24) < 104. Finite, so that Δ = ∞ fails the test.
      maxClampFreeDelta = Math.min(100f / maxAbsA, Float.MAX_VALUE);
    }

  }

  /**
   * Scans {@code L} steps: reads the initial state from {@code h} (length D*N), writes
   * {@code y[yOff + t * D + d]} for {@code t < L} and leaves the final state in {@code h}.
   *
   * @param p the layer
   * @param u input, {@code L×D} from {@code uOff}
   * @param delta raw step sizes before bias and softplus, {@code L×D} from {@code deltaOff}
   * @param B input-dependent B, {@code L×G×N} from {@code bOff}
   * @param C input-dependent C, {@code L×G×N} from {@code cOff}
   * @param z gate, {@code L×D} from {@code zOff}, or null for no gating ({@code zOff} ignored)
   * @param y output, {@code L×D} from {@code yOff}; must not overlap the inputs
   * @param L steps, {@code >= 0}
   * @param h state in and out, {@code D×N}
   * @throws IllegalArgumentException naming the argument when a shape, offset or L is wrong
   */
  public static void scan(Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B, int bOff,
      double[] C, int cOff, double[] z, int zOff, double[] y, int yOff, int L, double[] h) {
    Checks.notNull("p", p);
    checkSequences(p, u, uOff, delta, deltaOff, B, bOff, L, h);
    long bc = (long) L * p.g * p.n;
    Checks.range("C", C, cOff, bc);
    if (z != null) {
      Checks.range("z", z, zOff, (long) L * p.d);
    }
    Checks.range("y", y, yOff, (long) L * p.d);
    if (useVector(p)) {
      SelectiveScanVector.scan(p, u, uOff, delta, deltaOff, B, bOff, C, cOff, z, zOff, y, yOff, L, h);
    } else {
      scanScalar(p, u, uOff, delta, deltaOff, B, bOff, C, cOff, z, zOff, y, yOff, L, h);
    }
  }

  /**
   * {@link #scan} in float32: the same equations, arguments and layouts, on {@code float[]}
   * sequences and a {@code float[]} state ({@code [d * N + n]}, so a state converts exactly from
   * float to double and back). Every operation is a float32 IEEE operation (fused multiply-adds
   * where noted in the kernel): {@code exp}, softplus and SiLU are {@link FloatMath}'s, the
   * parameters are {@link Params}' values rounded to float once. The result does not depend on the
   * path: the Vector API path and the scalar path give the same bits, and so does a sequence scanned
   * piece by piece with the same {@code h}.
   *
   * <p>Against {@link #scan} on the same inputs the difference is float32 rounding: a few ulp per
   * step on each term, not amplified by the recurrence ({@code exp(ΔA) < 1} damps old errors), so
   * it stays at a few times 1e-6 relative to the size of h and y, whatever L (see
   * {@code SelectiveScan32Test} for the measured bounds).
   *
   * @throws IllegalArgumentException naming the argument when a shape, offset or L is wrong, or
   *     when A does not stay finite and {@code < 0} in float32
   */
  public static void scan32(Params p, float[] u, int uOff, float[] delta, int deltaOff, float[] B, int bOff,
      float[] C, int cOff, float[] z, int zOff, float[] y, int yOff, int L, float[] h) {
    Checks.notNull("p", p);
    Checks.nonNegative("L", L);
    long ud = (long) L * p.d;
    long bc = (long) L * p.g * p.n;
    Checks.range("u", u, uOff, ud);
    Checks.range("delta", delta, deltaOff, ud);
    Checks.range("B", B, bOff, bc);
    Checks.range("C", C, cOff, bc);
    if (z != null) {
      Checks.range("z", z, zOff, ud);
    }
    Checks.range("y", y, yOff, ud);
    Checks.length("h", h, p.d * p.n, "D*N = " + p.d + "*" + p.n);
    p.float32(); // validates A in float32 before anything is written
    if (useVector(p)) {
      SelectiveScanVector.scan32(p, u, uOff, delta, deltaOff, B, bOff, C, cOff, z, zOff, y, yOff, L, h);
    } else {
      scanScalar32(p, u, uOff, delta, deltaOff, B, bOff, C, cOff, z, zOff, y, yOff, L, h);
    }
  }

  /**
   * The {@link ChunkSummary} (real, size D*N, {@code [d * N + n]}) of {@code L} steps: the decay
   * product {@code Π_t exp(Δ_{t,d} A_{d,n}) = exp(A_{d,n} Σ_t Δ_{t,d})} and the end state scanned
   * from {@code h = 0}. Then for any incoming state, {@code summary.applyTo(h, null)} equals
   * {@link #scan} on h, and {@link ChunkSummary#combine} over consecutive pieces gives the summary
   * of their concatenation. C, z and the D-skip only shape the output, so they are not needed.
   *
   * @param u input, {@code L×D} from {@code uOff}
   * @param delta raw step sizes, {@code L×D} from {@code deltaOff}
   * @param B input-dependent B, {@code L×G×N} from {@code bOff}
   * @param L steps, {@code >= 0}
   */
  public static ChunkSummary summarize(Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B,
      int bOff, int L) {
    Checks.notNull("p", p);
    double[] end = new double[p.stateLength()];
    checkSequences(p, u, uOff, delta, deltaOff, B, bOff, L, end);
    // The end state from zero is the scan itself with the output skipped (C and y null).
    if (useVector(p)) {
      SelectiveScanVector.scan(p, u, uOff, delta, deltaOff, B, bOff, null, 0, null, 0, null, 0, L, end);
    } else {
      scanScalar(p, u, uOff, delta, deltaOff, B, bOff, null, 0, null, 0, null, 0, L, end);
    }
    int D = p.d;
    int N = p.n;
    double[] bias = p.deltaBias;
    double[] decay = new double[D * N];
    for (int d = 0; d < D; d++) {
      double sum = 0.0;
      double b = bias == null ? 0.0 : bias[d];
      for (int t = 0; t < L; t++) {
        sum += stepSize(delta[deltaOff + t * D + d] + b, p.deltaSoftplus);
      }
      for (int n = 0; n < N; n++) {
        decay[d * N + n] = Math.exp(p.a[d * N + n] * sum);
      }
    }
    return ChunkSummary.real(decay, end, L);
  }

  private static void checkSequences(Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B,
      int bOff, int L, double[] h) {
    Checks.nonNegative("L", L);
    long ud = (long) L * p.d;
    Checks.range("u", u, uOff, ud);
    Checks.range("delta", delta, deltaOff, ud);
    Checks.range("B", B, bOff, (long) L * p.g * p.n);
    Checks.length("h", h, p.d * p.n, "D*N = " + p.d + "*" + p.n);
  }

  /** The vector path pays off only when a group fills at least one vector of channels. */
  private static boolean useVector(Params p) {
    return VectorSupport.ENABLED && SelectiveScanVector.fillsVector(p.d / p.g);
  }

  /** Δ from the biased raw value: softplus with torch's threshold 20, or the value itself. */
  static double stepSize(double biased, boolean softplus) {
    // log1p keeps softplus accurate for very negative inputs, where 1 + e^x rounds to 1.
    return softplus ? (biased > 20.0 ? biased : Math.log1p(Math.exp(biased))) : biased;
  }

  /** {@code silu(x) = x / (1 + e^-x)}. */
  static double silu(double x) {
    return x / (1.0 + Math.exp(-x));
  }

  /**
   * The scalar path, on {@code h} in its own layout {@code [d * N + n]}; arguments as in
   * {@link #scan}, unchecked. {@code C == null} skips the output (then {@code y} and {@code z} are
   * ignored), which {@link #summarize} uses.
   */
  static void scanScalar(Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B, int bOff,
      double[] C, int cOff, double[] z, int zOff, double[] y, int yOff, int L, double[] h) {
    final int D = p.d;
    final int N = p.n;
    final int G = p.g;
    final int perGroup = D / G;
    final double[] a = p.a;
    final double[] dSkip = p.dSkip;
    final double[] bias = p.deltaBias;
    final boolean softplus = p.deltaSoftplus;
    final boolean output = C != null;
    assert L >= 0 && h.length == D * N && (!output || y != null) : "unchecked arguments; see scan()";
    for (int t = 0; t < L; t++) {
      int row = t * D;
      for (int g = 0; g < G; g++) {
        int bRow = bOff + (t * G + g) * N;
        int cRow = cOff + (t * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          double dt = stepSize(delta[deltaOff + row + d] + (bias == null ? 0.0 : bias[d]), softplus);
          double ut = u[uOff + row + d];
          double dtu = dt * ut; // Δ·u is shared by every n; B varies.
          int hRow = d * N;
          double acc = 0.0;
          for (int n = 0; n < N; n++) {
            double hn = Math.exp(dt * a[hRow + n]) * h[hRow + n] + dtu * B[bRow + n];
            h[hRow + n] = hn;
            if (output) {
              acc += C[cRow + n] * hn;
            }
          }
          if (output) {
            if (dSkip != null) {
              acc += dSkip[d] * ut;
            }
            if (z != null) {
              acc *= silu(z[zOff + row + d]);
            }
            y[yOff + row + d] = acc;
          }
        }
      }
    }
  }

  /**
   * The scalar path of {@link #scan32}, on {@code h} in its own layout; arguments as there,
   * unchecked. The vector path's twin: the same float32 operations in the same order per channel.
   */
  static void scanScalar32(Params p, float[] u, int uOff, float[] delta, int deltaOff, float[] B, int bOff,
      float[] C, int cOff, float[] z, int zOff, float[] y, int yOff, int L, float[] h) {
    final int D = p.d;
    final int N = p.n;
    final int G = p.g;
    final int perGroup = D / G;
    final Float32 f = p.float32();
    final boolean softplus = p.deltaSoftplus;
    assert L >= 0 && h.length == D * N && y != null : "unchecked arguments; see scan32()";
    for (int t = 0; t < L; t++) {
      int row = t * D;
      for (int g = 0; g < G; g++) {
        int bRow = bOff + (t * G + g) * N;
        int cRow = cOff + (t * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          float out = channelStep32(f, softplus, d, delta[deltaOff + row + d], u[uOff + row + d], h, f.a, d * N, 1,
              B, bRow, C, cRow, N);
          if (z != null) {
            out *= FloatMath.silu(z[zOff + row + d]);
          }
          y[yOff + row + d] = out;
        }
      }
    }
  }

  /**
   * One step of one channel d in float32, in the operation order every float32 path follows (the
   * vector path lanewise): {@code Δ = softplus(delta + bias)}; for each n
   * {@code h ← fma(exp(Δ·A), h, (Δ·u)·B)} and {@code y ← fma(h, C, y)}; then
   * {@code y ← fma(u, Dskip, y)}. The caller applies the gate. State and A share one layout, read at
   * {@code off + n * stride}: stride 1 in the state's own layout, D in the vector path's transposed
   * one. Returns y before the gate.
   */
  static float channelStep32(Float32 f, boolean softplus, int d, float rawDelta, float ut, float[] h, float[] a,
      int off, int stride, float[] B, int bRow, float[] C, int cRow, int N) {
    float dt = rawDelta;
    if (f.deltaBias != null) {
      dt += f.deltaBias[d];
    }
    if (softplus) {
      dt = FloatMath.softplus(dt);
    }
    float dtu = dt * ut; // Δ·u is shared by every n; B varies.
    float acc = 0f;
    for (int n = 0; n < N; n++) {
      int at = off + n * stride;
      float hn = Math.fma(FloatMath.exp(dt * a[at]), h[at], dtu * B[bRow + n]);
      h[at] = hn;
      acc = Math.fma(hn, C[cRow + n], acc);
    }
    if (f.dSkip != null) {
      acc = Math.fma(ut, f.dSkip[d], acc);
    }
    return acc;
  }
}
