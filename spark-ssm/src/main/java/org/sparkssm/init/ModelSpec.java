package org.sparkssm.init;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Locale;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.DenseSsm;
import org.sparkssm.scan.S5Ssm;
import org.sparkssm.scan.ScanModel;

/**
 * A scan model chosen by name and a few numbers, built from the initializations of this package
 * with one copy per value channel: what the scan job's options and the {@code SsmFeatures} stage's
 * params describe. Immutable; every {@code with...} returns a copy. {@link #build} validates and
 * throws {@link IllegalArgumentException} naming the field ({@code state}, {@code dt}, ...).
 */
public final class ModelSpec implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The models by name: what they are, and what a row of their output holds. */
  public enum Kind {
    S4D_LIN("s4d-lin"), S4D_INV("s4d-inv"), S4D_LEGS("s4d-legs"), LRU("lru"), LEGT("legt"), LEGS("legs"), FOUT("fout");

    private final String label;

    Kind(String label) {
      this.label = label;
    }

    /** The model's name, e.g. {@code s4d-lin}. */
    public String label() {
      return label;
    }

    public boolean isS4d() {
      return this == S4D_LIN || this == S4D_INV || this == S4D_LEGS;
    }

    public boolean isHippo() {
      return this == LEGT || this == LEGS || this == FOUT;
    }

    /** The kind of this name (case-insensitive); throws naming {@code model} and the known names. */
    public static Kind named(String text) {
      for (Kind k : values()) {
        if (k.label.equals(String.valueOf(text).toLowerCase(Locale.ROOT))) {
          return k;
        }
      }
      throw new IllegalArgumentException("model: expected one of " + Arrays.toString(labels()) + ", got '" + text + "'");
    }

    public static String[] labels() {
      return Arrays.stream(values()).map(Kind::label).toArray(String[]::new);
    }
  }

  /** What a row of each model's output holds, for help texts. */
  public static final String DESCRIPTION = "s4d-lin, s4d-inv, s4d-legs: S4D diagonal bank per channel, output the "
      + "sum of its N states (C = 1); lru: one LRU layer over all channels, output Re(C h) + D u per channel; "
      + "legt, legs, fout: HiPPO memory per channel, output its N coefficients.";

  private final Kind kind;
  private final int state;
  private final double dt;
  private final double theta;
  private final Discretization discretization; // null: the kind's default
  private final double rMin;
  private final double rMax;
  private final double maxPhase;
  private final long seed;

  private ModelSpec(Kind kind, int state, double dt, double theta, Discretization discretization, double rMin,
      double rMax, double maxPhase, long seed) {
    this.kind = kind;
    this.state = state;
    this.dt = dt;
    this.theta = theta;
    this.discretization = discretization;
    this.rMin = rMin;
    this.rMax = rMax;
    this.maxPhase = maxPhase;
    this.seed = seed;
  }

  /** The model of this name with the defaults: N = 16, Δ = 0.01, θ = 100 rows, r in [0.9, 0.999], phase ≤ π/10. */
  public static ModelSpec of(String name) {
    return new ModelSpec(Kind.named(name), 16, 0.01, 100, null, 0.9, 0.999, Math.PI / 10, 0);
  }

  public Kind kind() {
    return kind;
  }

  /** State size per channel: real states of S4D (even), complex modes of LRU, order of HiPPO. */
  public ModelSpec withState(int n) {
    return new ModelSpec(kind, n, dt, theta, discretization, rMin, rMax, maxPhase, seed);
  }

  /** S4D step size Δ per row, in the model's time units. */
  public ModelSpec withDt(double step) {
    return new ModelSpec(kind, state, step, theta, discretization, rMin, rMax, maxPhase, seed);
  }

  /** HiPPO time scale in rows: the window of legt and fout, the scale of legs. */
  public ModelSpec withTheta(double rows) {
    return new ModelSpec(kind, state, dt, rows, discretization, rMin, rMax, maxPhase, seed);
  }

  /** {@code zoh} or {@code bilinear}; null or empty for the kind's default (zoh for S4D, bilinear for HiPPO). */
  public ModelSpec withDiscretization(String rule) {
    return new ModelSpec(kind, state, dt, theta, rule(rule), rMin, rMax, maxPhase, seed);
  }

  /** LRU: eigenvalue moduli in [rMin, rMax] and phases up to {@code phase}; B, C, D drawn from {@code seed}. */
  public ModelSpec withLru(double min, double max, double phase, long randomSeed) {
    return new ModelSpec(kind, state, dt, theta, discretization, min, max, phase, randomSeed);
  }

  private static Discretization rule(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    switch (text.toLowerCase(Locale.ROOT)) {
      case "zoh":
        return Discretization.ZOH;
      case "bilinear":
        return Discretization.BILINEAR;
      default:
        throw new IllegalArgumentException("discretization: expected zoh or bilinear, got '" + text + "'");
    }
  }

  /** A short description for summaries, e.g. {@code s4d-lin (N = 16, dt = 0.01)}. */
  public String describe() {
    if (kind.isS4d()) {
      return String.format(Locale.ROOT, "%s (N = %d, dt = %s)", kind.label, state, dt);
    }
    if (kind.isHippo()) {
      return String.format(Locale.ROOT, "%s (N = %d, theta = %s rows)", kind.label, state, theta);
    }
    return String.format(Locale.ROOT, "lru (N = %d, r in [%s, %s])", state, rMin, rMax);
  }

  /**
   * Builds the model for {@code channels} value columns. With {@code irregular} (S4D only) the result
   * is a continuous system whose unit step is Δ: A and B are scaled by Δ, which is exact for ZOH
   * and bilinear ({@code Ā = f(Δ a)}, {@code B̄ = g(Δ a) Δ b}), so a row one unit after the
   * previous one gives the fixed-step model's result.
   */
  public ScanModel build(int channels, boolean irregular) {
    if (irregular && !kind.isS4d()) {
      throw new IllegalArgumentException("irregular time: expected an S4D model (s4d-lin, s4d-inv, s4d-legs), got "
          + kind.label);
    }
    if (channels < 1) {
      throw new IllegalArgumentException("channels: expected >= 1, got " + channels);
    }
    if (state < 1) {
      throw new IllegalArgumentException("state: expected >= 1, got " + state);
    }
    if (kind.isS4d()) {
      return s4d(channels, irregular);
    }
    if (kind.isHippo()) {
      return hippo(channels);
    }
    return lru(channels);
  }

  private ScanModel s4d(int channels, boolean irregular) {
    if (state < 2 || state % 2 != 0) {
      throw new IllegalArgumentException("state: expected an even S4D state size >= 2 (conjugate pairs), got " + state);
    }
    if (!(dt > 0) || Double.isInfinite(dt)) {
      throw new IllegalArgumentException("dt: expected a finite step > 0, got " + dt);
    }
    DiagonalSystem sys = kind == Kind.S4D_LIN ? S4dInit.lin(state)
        : kind == Kind.S4D_INV ? S4dInit.inv(state) : S4dInit.legS(state);
    int modes = sys.modes();
    double scale = irregular ? dt : 1;
    double[] aRe = perChannel(sys.aRe(), channels, scale);
    double[] aIm = perChannel(sys.aIm(), channels, scale);
    double[] bRe = perChannel(sys.bRe(), channels, scale);
    double[] bIm = perChannel(sys.bIm(), channels, scale);
    // One mode per conjugate pair: 2 Re(c x) is the pair's contribution, so C = 2 sums the N real states.
    double[] cRe = new double[channels * modes];
    Arrays.fill(cRe, 2.0);
    Discretization r = discretization == null ? Discretization.ZOH : discretization;
    ContinuousDiagonalSsm continuous = ContinuousDiagonalSsm.of(channels, modes, r, aRe, aIm, bRe, bIm, cRe,
        new double[channels * modes], null);
    return irregular ? continuous : continuous.discretize(dt);
  }

  private static double[] perChannel(double[] perMode, int channels, double scale) {
    int m = perMode.length;
    double[] out = new double[channels * m];
    for (int d = 0; d < channels; d++) {
      for (int j = 0; j < m; j++) {
        out[d * m + j] = scale * perMode[j];
      }
    }
    return out;
  }

  private ScanModel hippo(int channels) {
    if (!(theta > 0) || Double.isInfinite(theta)) {
      throw new IllegalArgumentException("theta: expected a finite time scale > 0 rows, got " + theta);
    }
    if (kind == Kind.FOUT && state % 2 != 0) {
      throw new IllegalArgumentException("state: expected an even order for fout (cosine/sine pairs), got " + state);
    }
    int n = state;
    ContinuousSystem sys = kind == Kind.LEGT ? Hippo.legT(n) : kind == Kind.LEGS ? Hippo.legS(n) : Hippo.fouT(n);
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    // A row is 1/θ of the window: Δ = 1/θ discretizes A/θ, B/θ at unit steps (Hippo.legT's window θ).
    Discretize.dense(discretization == null ? Discretization.BILINEAR : discretization, 1.0 / theta, sys.A(), n,
        sys.B(), 1, abar, bbar);
    // Independent memories per channel: block-diagonal Ā and B̄, the state of channel d at [d*N, (d+1)*N).
    int size = channels * n;
    double[] blockA = new double[size * size];
    double[] blockB = new double[size * channels];
    for (int d = 0; d < channels; d++) {
      for (int i = 0; i < n; i++) {
        System.arraycopy(abar, i * n, blockA, (d * n + i) * size + d * n, n);
        blockB[(d * n + i) * channels + d] = bbar[i];
      }
    }
    return DenseSsm.of(size, channels, blockA, blockB, 0, null, null);
  }

  private ScanModel lru(int channels) {
    if (!(rMin >= 0 && rMin <= rMax && rMax < 1)) {
      throw new IllegalArgumentException("r-min, r-max: expected 0 <= r-min <= r-max < 1, got " + rMin + " and " + rMax);
    }
    if (!(maxPhase > 0) || Double.isInfinite(maxPhase)) {
      throw new IllegalArgumentException("max-phase: expected a finite phase > 0, got " + maxPhase);
    }
    LruInit init = LruInit.ring(state, channels, rMin, rMax, maxPhase, seed);
    return S5Ssm.of(channels, state, init.lambdaRe(), init.lambdaIm(), init.normalizedBRe(), init.normalizedBIm(),
        init.cRe(), init.cIm(), init.d());
  }
}
