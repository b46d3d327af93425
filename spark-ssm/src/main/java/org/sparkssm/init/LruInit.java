package org.sparkssm.init;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * The Linear Recurrent Unit initialization (Orvieto et al., "Resurrecting Recurrent Neural
 * Networks for Long Sequences", ICML 2023): N complex diagonal eigenvalues in exponential
 * parameterization {@code λ_j = exp(-exp(ν_log_j) + i exp(θ_log_j))}, uniformly distributed on the
 * ring {@code r_min <= |λ| <= r_max} with phases in {@code [0, max_phase]}, the normalization
 * {@code γ_log_j = log sqrt(1 - |λ_j|²)}, and random complex B (N×H), C (H×N) and real D (H).
 *
 * <p>Sampling, from one {@link SplittableRandom} seeded by the caller, in this order: for each j,
 * {@code u1_j}, then for each j {@code u2_j} (both in (0, 1]); {@code |λ|² = u1 (r_max² - r_min²) +
 * r_min²}, i.e. {@code ν = -½ log(u1 (r_max² - r_min²) + r_min²)}; {@code θ = max_phase · u2};
 * then Gaussians (Box-Muller) for Re B, Im B (row-major N×H, each divided by sqrt(2H)), Re C, Im C
 * (row-major H×N, each divided by sqrt(N)), and D (H). The same arguments give the same numbers.
 *
 * <p>Layouts: {@code B[j * H + h]} (state j, input feature h); {@code C[h * N + j]}.
 * Immutable; accessors return copies.
 */
public final class LruInit {
  private final int n;
  private final int h;
  private final double[] nuLog;
  private final double[] thetaLog;
  private final double[] gammaLog;
  private final double[] bRe;
  private final double[] bIm;
  private final double[] cRe;
  private final double[] cIm;
  private final double[] d;

  private LruInit(int n, int h, double[] nuLog, double[] thetaLog, double[] gammaLog, double[] bRe,
      double[] bIm, double[] cRe, double[] cIm, double[] d) {
    this.n = n;
    this.h = h;
    this.nuLog = nuLog;
    this.thetaLog = thetaLog;
    this.gammaLog = gammaLog;
    this.bRe = bRe;
    this.bIm = bIm;
    this.cRe = cRe;
    this.cIm = cIm;
    this.d = d;
  }

  /**
   * Samples an LRU layer's parameters on the ring (see the class comment for the exact draw).
   *
   * @param n the number of complex states N, {@code >= 1}
   * @param h the input/output features H, {@code >= 1}
   * @param rMin the smallest modulus, {@code 0 <= rMin <= rMax}
   * @param rMax the largest modulus, {@code rMax < 1} (so every γ and ν_log is finite)
   * @param maxPhase the largest phase, finite and {@code > 0} (the paper uses 2π or π/10)
   * @param seed the seed of the {@link SplittableRandom}
   */
  public static LruInit ring(int n, int h, double rMin, double rMax, double maxPhase, long seed) {
    Checks.positive("n", n);
    Checks.positive("h", h);
    Checks.finite("rMin", rMin);
    Checks.finite("rMax", rMax);
    if (!(rMin >= 0)) {
      Checks.fail("rMin: expected >= 0, got %s", rMin);
    }
    if (!(rMax >= rMin && rMax < 1)) {
      Checks.fail("rMax: expected rMin <= rMax < 1 (rMin = %s), got %s", rMin, rMax);
    }
    Checks.positiveFinite("maxPhase", maxPhase);
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] nuLog = new double[n];
    double[] thetaLog = new double[n];
    double[] gammaLog = new double[n];
    double span = rMax * rMax - rMin * rMin;
    for (int j = 0; j < n; j++) {
      // u1 in (0, 1]: |λ| = 0 (ν = ∞) cannot occur even when rMin = 0.
      double u1 = 1.0 - rnd.nextDouble();
      double mod2 = u1 * span + rMin * rMin;
      double nu = -0.5 * Math.log(mod2);
      nuLog[j] = Math.log(nu);
      // γ = sqrt(1 - |λ|²) with |λ|² = exp(-2ν); -expm1(-2ν) keeps it accurate when |λ| is near 1.
      gammaLog[j] = 0.5 * Math.log(-Math.expm1(-2 * nu));
    }
    for (int j = 0; j < n; j++) {
      // u2 in (0, 1]: θ = 0 would make θ_log = -∞.
      double u2 = 1.0 - rnd.nextDouble();
      thetaLog[j] = Math.log(maxPhase * u2);
    }
    double bScale = 1.0 / Math.sqrt(2.0 * h);
    double cScale = 1.0 / Math.sqrt(n);
    double[] bRe = gaussians(rnd, n * h, bScale);
    double[] bIm = gaussians(rnd, n * h, bScale);
    double[] cRe = gaussians(rnd, h * n, cScale);
    double[] cIm = gaussians(rnd, h * n, cScale);
    double[] d = gaussians(rnd, h, 1.0);
    return new LruInit(n, h, nuLog, thetaLog, gammaLog, bRe, bIm, cRe, cIm, d);
  }

  private static double[] gaussians(SplittableRandom rnd, int count, double scale) {
    double[] out = new double[count];
    for (int i = 0; i < count; i++) {
      // Box-Muller (SplittableRandom has no nextGaussian on Java 17); 1 - u avoids log(0).
      double u1 = 1.0 - rnd.nextDouble();
      double u2 = rnd.nextDouble();
      out[i] = scale * Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  }

  /** The number of complex states N. */
  public int n() {
    return n;
  }

  /** The input/output features H. */
  public int h() {
    return h;
  }

  /** ν_log, length N: {@code |λ_j| = exp(-exp(ν_log_j))}. */
  public double[] nuLog() {
    return nuLog.clone();
  }

  /** θ_log, length N: {@code arg λ_j = exp(θ_log_j)}. */
  public double[] thetaLog() {
    return thetaLog.clone();
  }

  /** γ_log, length N: {@code γ_j = exp(γ_log_j) = sqrt(1 - |λ_j|²)}. */
  public double[] gammaLog() {
    return gammaLog.clone();
  }

  /** {@code Re λ_j = exp(-exp(ν_log_j)) cos(exp(θ_log_j))}, length N. */
  public double[] lambdaRe() {
    double[] out = new double[n];
    for (int j = 0; j < n; j++) {
      out[j] = Math.exp(-Math.exp(nuLog[j])) * Math.cos(Math.exp(thetaLog[j]));
    }
    return out;
  }

  /** {@code Im λ_j = exp(-exp(ν_log_j)) sin(exp(θ_log_j))}, length N. */
  public double[] lambdaIm() {
    double[] out = new double[n];
    for (int j = 0; j < n; j++) {
      out[j] = Math.exp(-Math.exp(nuLog[j])) * Math.sin(Math.exp(thetaLog[j]));
    }
    return out;
  }

  /** Re B, N×H row-major {@code [j * H + h]}, before normalization. */
  public double[] bRe() {
    return bRe.clone();
  }

  /** Im B, N×H row-major, before normalization. */
  public double[] bIm() {
    return bIm.clone();
  }

  /** Re of the γ-normalized input matrix {@code diag(γ) B}: {@code γ_j Re B[j * H + h]}. */
  public double[] normalizedBRe() {
    return scaleRows(bRe);
  }

  /** Im of {@code diag(γ) B}: {@code γ_j Im B[j * H + h]}. */
  public double[] normalizedBIm() {
    return scaleRows(bIm);
  }

  private double[] scaleRows(double[] m) {
    double[] out = new double[n * h];
    for (int j = 0; j < n; j++) {
      double g = Math.exp(gammaLog[j]);
      for (int k = 0; k < h; k++) {
        out[j * h + k] = g * m[j * h + k];
      }
    }
    return out;
  }

  /** Re C, H×N row-major {@code [h * N + j]}. */
  public double[] cRe() {
    return cRe.clone();
  }

  /** Im C, H×N row-major. */
  public double[] cIm() {
    return cIm.clone();
  }

  /** The feed-through D (D-skip), length H. */
  public double[] d() {
    return d.clone();
  }
}
