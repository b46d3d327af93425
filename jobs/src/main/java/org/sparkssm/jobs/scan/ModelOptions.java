package org.sparkssm.jobs.scan;

import java.util.Arrays;
import java.util.Locale;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.init.ContinuousSystem;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.Hippo;
import org.sparkssm.init.LruInit;
import org.sparkssm.init.S4dInit;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.DenseSsm;
import org.sparkssm.scan.S5Ssm;
import org.sparkssm.scan.ScanModel;
import picocli.CommandLine.Option;

/**
 * A model chosen by name and options (a picocli mixin), built from the engine's initializations
 * with one copy per value channel. Only assembly happens here; the systems and their
 * discretization are the engine's ({@code org.sparkssm.init}, {@code org.sparkssm.discretize}).
 */
public final class ModelOptions {
  /** The models by name: what they are, and what a row of their output holds. */
  public enum Kind {
    S4D_LIN("s4d-lin"), S4D_INV("s4d-inv"), S4D_LEGS("s4d-legs"), LRU("lru"), LEGT("legt"), LEGS("legs"), FOUT("fout");

    final String name;

    Kind(String name) {
      this.name = name;
    }

    boolean isS4d() {
      return this == S4D_LIN || this == S4D_INV || this == S4D_LEGS;
    }

    boolean isHippo() {
      return this == LEGT || this == LEGS || this == FOUT;
    }

    static Kind named(String text) {
      for (Kind k : values()) {
        if (k.name.equals(text.toLowerCase(Locale.ROOT))) {
          return k;
        }
      }
      throw new IllegalArgumentException("--model: expected one of " + names() + ", got '" + text + "'");
    }

    static String names() {
      return Arrays.toString(Arrays.stream(values()).map(k -> k.name).toArray());
    }
  }

  static final String MODEL_HELP = "s4d-lin, s4d-inv, s4d-legs: S4D diagonal bank per channel, output the sum of "
      + "its N states (C = 1); lru: one LRU layer over all channels, output Re(C h) + D u per channel; "
      + "legt, legs, fout: HiPPO memory per channel, output its N coefficients.";

  @Option(names = {"-m", "--model"}, required = true, paramLabel = "NAME", description = MODEL_HELP)
  private String model;

  @Option(names = {"-N", "--state", "--order"}, paramLabel = "N", defaultValue = "16",
      description = "State size per channel: real states of S4D (even), complex modes of LRU, order of HiPPO "
          + "(default: ${DEFAULT-VALUE}).")
  private int state;

  @Option(names = "--dt", paramLabel = "DT", defaultValue = "0.01",
      description = "S4D step size Δ per row, in the model's time units (default: ${DEFAULT-VALUE}).")
  private double dt;

  @Option(names = "--theta", paramLabel = "ROWS", defaultValue = "100",
      description = "HiPPO time scale in rows: the window of legt and fout, the scale of legs (default: ${DEFAULT-VALUE}).")
  private double theta;

  @Option(names = "--discretization", paramLabel = "RULE",
      description = "zoh or bilinear (default: zoh for S4D, bilinear for HiPPO).")
  private String discretization;

  @Option(names = "--r-min", paramLabel = "R", defaultValue = "0.9",
      description = "LRU: smallest eigenvalue modulus (default: ${DEFAULT-VALUE}).")
  private double rMin;

  @Option(names = "--r-max", paramLabel = "R", defaultValue = "0.999",
      description = "LRU: largest eigenvalue modulus, < 1 (default: ${DEFAULT-VALUE}).")
  private double rMax;

  @Option(names = "--max-phase", paramLabel = "RAD", defaultValue = "0.3141592653589793",
      description = "LRU: largest eigenvalue phase (default: π/10, the paper's long-range setting).")
  private double maxPhase;

  @Option(names = "--model-seed", paramLabel = "SEED", defaultValue = "0",
      description = "LRU: seed of the random B, C and D (default: ${DEFAULT-VALUE}).")
  private long modelSeed;

  /** The chosen model's kind; throws IllegalArgumentException naming --model for an unknown name. */
  public Kind kind() {
    return Kind.named(model);
  }

  /** A short description for summaries, e.g. {@code s4d-lin (N = 16, dt = 0.01)}. */
  public String describe() {
    Kind k = kind();
    if (k.isS4d()) {
      return String.format(Locale.ROOT, "%s (N = %d, dt = %s)", k.name, state, dt);
    }
    if (k.isHippo()) {
      return String.format(Locale.ROOT, "%s (N = %d, theta = %s rows)", k.name, state, theta);
    }
    return String.format(Locale.ROOT, "lru (N = %d, r in [%s, %s])", state, rMin, rMax);
  }

  /**
   * Builds the model for {@code channels} value columns. With {@code irregular} (S4D only) the result
   * is a continuous system whose unit step is {@code --dt}: A and B are scaled by Δ, which is exact
   * for ZOH and bilinear ({@code Ā = f(Δ a)}, {@code B̄ = g(Δ a) Δ b}), so a row one unit after the
   * previous one gives the fixed-step model's result.
   *
   * @throws IllegalArgumentException naming the option on a bad value
   */
  public ScanModel build(int channels, boolean irregular) {
    Kind k = kind();
    if (irregular && !k.isS4d()) {
      throw new IllegalArgumentException("--step-every: expected an S4D model (s4d-lin, s4d-inv, s4d-legs) for "
          + "irregular time, got " + k.name);
    }
    if (state < 1) {
      throw new IllegalArgumentException("--state: expected >= 1, got " + state);
    }
    if (k.isS4d()) {
      return s4d(k, channels, irregular);
    }
    if (k.isHippo()) {
      return hippo(k, channels);
    }
    return lru(channels);
  }

  private Discretization rule(Discretization byDefault) {
    if (discretization == null) {
      return byDefault;
    }
    switch (discretization.toLowerCase(Locale.ROOT)) {
      case "zoh":
        return Discretization.ZOH;
      case "bilinear":
        return Discretization.BILINEAR;
      default:
        throw new IllegalArgumentException("--discretization: expected zoh or bilinear, got '" + discretization + "'");
    }
  }

  private ScanModel s4d(Kind k, int channels, boolean irregular) {
    if (state < 2 || state % 2 != 0) {
      throw new IllegalArgumentException("--state: expected an even S4D state size >= 2 (conjugate pairs), got " + state);
    }
    if (!(dt > 0) || Double.isInfinite(dt)) {
      throw new IllegalArgumentException("--dt: expected a finite step > 0, got " + dt);
    }
    DiagonalSystem sys = k == Kind.S4D_LIN ? S4dInit.lin(state) : k == Kind.S4D_INV ? S4dInit.inv(state) : S4dInit.legS(state);
    int modes = sys.modes();
    double scale = irregular ? dt : 1;
    double[] aRe = perChannel(sys.aRe(), channels, scale);
    double[] aIm = perChannel(sys.aIm(), channels, scale);
    double[] bRe = perChannel(sys.bRe(), channels, scale);
    double[] bIm = perChannel(sys.bIm(), channels, scale);
    // One mode per conjugate pair: 2 Re(c x) is the pair's contribution, so C = 2 sums the N real states.
    double[] cRe = new double[channels * modes];
    Arrays.fill(cRe, 2.0);
    ContinuousDiagonalSsm continuous = ContinuousDiagonalSsm.of(channels, modes, rule(Discretization.ZOH), aRe, aIm,
        bRe, bIm, cRe, new double[channels * modes], null);
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

  private ScanModel hippo(Kind k, int channels) {
    if (!(theta > 0) || Double.isInfinite(theta)) {
      throw new IllegalArgumentException("--theta: expected a finite time scale > 0 rows, got " + theta);
    }
    if (k == Kind.FOUT && state % 2 != 0) {
      throw new IllegalArgumentException("--state: expected an even order for fout (cosine/sine pairs), got " + state);
    }
    int n = state;
    ContinuousSystem sys = k == Kind.LEGT ? Hippo.legT(n) : k == Kind.LEGS ? Hippo.legS(n) : Hippo.fouT(n);
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    // A row is 1/θ of the window: Δ = 1/θ discretizes A/θ, B/θ at unit steps (Hippo.legT's window θ).
    Discretize.dense(rule(Discretization.BILINEAR), 1.0 / theta, sys.A(), n, sys.B(), 1, abar, bbar);
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
      throw new IllegalArgumentException(
          "--r-min, --r-max: expected 0 <= r-min <= r-max < 1, got " + rMin + " and " + rMax);
    }
    if (!(maxPhase > 0) || Double.isInfinite(maxPhase)) {
      throw new IllegalArgumentException("--max-phase: expected a finite phase > 0, got " + maxPhase);
    }
    LruInit init = LruInit.ring(state, channels, rMin, rMax, maxPhase, modelSeed);
    return S5Ssm.of(channels, state, init.lambdaRe(), init.lambdaIm(), init.normalizedBRe(), init.normalizedBIm(),
        init.cRe(), init.cIm(), init.d());
  }
}
