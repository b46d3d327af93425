package org.sparkssm.nn;

/**
 * Instance normalization of a forecasting window (RevIN without affine weights; iTransformer's and
 * S-Mamba's {@code use_norm}): each channel of the lookback is centred by its mean and divided by
 * {@code σ = sqrt(var + eps)} (biased variance), the network forecasts on that scale, and the
 * forecast is mapped back, {@code ŷ = f · σ + μ}. Windows are time-major {@code [t * C + c]};
 * {@code stats} holds {@code μ_c} at {@code [c]} and {@code σ_c} at {@code [C + c]}.
 *
 * <p>Backward through both ends, with respect to the raw window: the denormalization gives
 * {@code df = dŷ σ}, {@code dμ = Σ dŷ}, {@code dσ = Σ dŷ f}; the normalization
 * {@code dx_t = (dx̃_t - mean(dx̃) - x̃_t mean(dx̃ x̃)) / σ + dμ / L + dσ x̃_t / L}
 * (using {@code ∂μ/∂x_t = 1/L}, {@code ∂σ/∂x_t = x̃_t / L}).
 */
public final class InstanceNorm {
  private final double eps;

  public InstanceNorm(double eps) {
    org.sparkssm.Checks.positiveFinite("instance norm eps", eps);
    this.eps = eps;
  }

  /** S-Mamba's and iTransformer's eps. */
  public static InstanceNorm standard() {
    return new InstanceNorm(1e-5);
  }

  /** {@code xn = (x - μ) / σ} per channel over L rows; writes μ, σ into stats (2C). */
  public void normalize(double[] x, int xOff, int L, int C, double[] xn, int xnOff, double[] stats, int statsOff) {
    for (int c = 0; c < C; c++) {
      double mean = 0;
      for (int t = 0; t < L; t++) {
        mean += x[xOff + t * C + c];
      }
      mean /= L;
      double var = 0;
      for (int t = 0; t < L; t++) {
        double v = x[xOff + t * C + c] - mean;
        var += v * v;
      }
      double sigma = Math.sqrt(var / L + eps);
      stats[statsOff + c] = mean;
      stats[statsOff + C + c] = sigma;
      for (int t = 0; t < L; t++) {
        xn[xnOff + t * C + c] = (x[xOff + t * C + c] - mean) / sigma;
      }
    }
  }

  /** {@code y = f · σ + μ} over H rows. */
  public static void denormalize(double[] f, int fOff, int H, int C, double[] stats, int statsOff, double[] y,
      int yOff) {
    denormalize(f, fOff, H, C, stats, statsOff, null, 0, y, yOff);
  }

  /**
   * {@code y = f · σ + base} over H rows, the base ({@code H × C}) in place of μ when not null:
   * a forecast around another forecaster's (a linear skip), on the window's scale. The
   * gradient with respect to f is the same, {@link #backwardDenormalize}'s {@code df}.
   */
  public static void denormalize(double[] f, int fOff, int H, int C, double[] stats, int statsOff, double[] base,
      int baseOff, double[] y, int yOff) {
    for (int t = 0; t < H; t++) {
      for (int c = 0; c < C; c++) {
        double level = base == null ? stats[statsOff + c] : base[baseOff + t * C + c];
        y[yOff + t * C + c] = f[fOff + t * C + c] * stats[statsOff + C + c] + level;
      }
    }
  }

  /**
   * Backward of {@link #denormalize}: writes {@code df = dy σ} and {@code dStats} ({@code dμ} at
   * [c], {@code dσ} at [C + c]). {@code f} is the forward's network output.
   */
  public static void backwardDenormalize(double[] f, int fOff, double[] dy, int dyOff, int H, int C, double[] stats,
      int statsOff, double[] df, int dfOff, double[] dStats, int dStatsOff) {
    for (int c = 0; c < 2 * C; c++) {
      dStats[dStatsOff + c] = 0.0;
    }
    for (int t = 0; t < H; t++) {
      for (int c = 0; c < C; c++) {
        double g = dy[dyOff + t * C + c];
        dStats[dStatsOff + c] += g;
        dStats[dStatsOff + C + c] += g * f[fOff + t * C + c];
        df[dfOff + t * C + c] = g * stats[statsOff + C + c];
      }
    }
  }

  /**
   * Backward of {@link #normalize}: writes dx from the gradient of the normalized window
   * {@code dxn} and the statistics' gradients {@code dStats} (zeros when the output is not
   * denormalized). {@code xn} is the forward's normalized window.
   */
  public static void backwardNormalize(double[] xn, int xnOff, double[] dxn, int dxnOff, int L, int C, double[] stats,
      int statsOff, double[] dStats, int dStatsOff, double[] dx, int dxOff) {
    for (int c = 0; c < C; c++) {
      double meanD = 0;
      double meanDX = 0;
      for (int t = 0; t < L; t++) {
        double d = dxn[dxnOff + t * C + c];
        meanD += d;
        meanDX += d * xn[xnOff + t * C + c];
      }
      meanD /= L;
      meanDX /= L;
      double sigma = stats[statsOff + C + c];
      double dMu = dStats[dStatsOff + c] / L;
      double dSigma = dStats[dStatsOff + C + c] / L;
      for (int t = 0; t < L; t++) {
        double xt = xn[xnOff + t * C + c];
        dx[dxOff + t * C + c] = (dxn[dxnOff + t * C + c] - meanD - xt * meanDX) / sigma + dMu + dSigma * xt;
      }
    }
  }
}
