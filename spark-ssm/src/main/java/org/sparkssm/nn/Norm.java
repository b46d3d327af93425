package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * LayerNorm or RMSNorm over the last {@code dim} features of each row, as PyTorch's
 * {@code nn.LayerNorm(dim, eps)} and mamba_ssm's {@code RMSNorm(dim, eps)}:
 *
 * <pre>
 *   LayerNorm: x̂ = (x - mean(x)) · rstd,  rstd = 1 / sqrt(mean((x - mean)²) + eps),  y = x̂ · γ + β
 *   RMSNorm:   x̂ = x · rstd,              rstd = 1 / sqrt(mean(x²) + eps),           y = x̂ · γ
 * </pre>
 *
 * Tensors {@code <name>.weight} (γ, dim) and, for LayerNorm, {@code <name>.bias} (β, dim). The
 * forward saves each row's (mean, rstd) in the caller's {@code stats} ({@code rows × 2}); the
 * backward reads them with the forward's input:
 * {@code dx = rstd · (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂))} for LayerNorm (without the
 * {@code mean(dx̂)} term for RMSNorm), {@code dx̂ = dy · γ}, {@code gγ += Σ dy · x̂}, {@code gβ += Σ dy}.
 */
public final class Norm {
  private final boolean rms;
  private final int dim;
  private final double eps;
  private final int gamma;
  private final int beta; // -1 for RMSNorm

  private Norm(ParameterLayout layout, String name, int dim, double eps, boolean rms) {
    Checks.positive(name + " dim", dim);
    Checks.positiveFinite(name + " eps", eps);
    this.rms = rms;
    this.dim = dim;
    this.eps = eps;
    this.gamma = layout.add(name + ".weight", dim);
    this.beta = rms ? -1 : layout.add(name + ".bias", dim);
  }

  public static Norm layerNorm(ParameterLayout layout, String name, int dim, double eps) {
    return new Norm(layout, name, dim, eps, false);
  }

  public static Norm rmsNorm(ParameterLayout layout, String name, int dim, double eps) {
    return new Norm(layout, name, dim, eps, true);
  }

  public int dim() {
    return dim;
  }

  /** γ = 1, β = 0, as PyTorch initializes them. */
  public void init(double[] w) {
    Init.fill(w, gamma, dim, 1.0);
    if (beta >= 0) {
      Init.fill(w, beta, dim, 0.0);
    }
  }

  /** Normalizes {@code rows} rows of x into y (may be the same array region as x only if x is not needed later). */
  public void forward(double[] w, double[] x, int xOff, int rows, double[] y, int yOff, double[] stats, int statsOff) {
    for (int r = 0; r < rows; r++) {
      int xr = xOff + r * dim;
      double mean = 0;
      if (!rms) {
        for (int i = 0; i < dim; i++) {
          mean += x[xr + i];
        }
        mean /= dim;
      }
      double squares = 0;
      for (int i = 0; i < dim; i++) {
        double v = x[xr + i] - mean;
        squares += v * v;
      }
      double rstd = 1.0 / Math.sqrt(squares / dim + eps);
      stats[statsOff + 2 * r] = mean;
      stats[statsOff + 2 * r + 1] = rstd;
      int yr = yOff + r * dim;
      for (int i = 0; i < dim; i++) {
        double v = (x[xr + i] - mean) * rstd * w[gamma + i];
        y[yr + i] = beta >= 0 ? v + w[beta + i] : v;
      }
    }
  }

  /** Accumulates gγ (and gβ) and writes dx; {@code x} and {@code stats} are the forward's. dx may alias dy. */
  public void backward(double[] w, double[] gw, double[] x, int xOff, double[] stats, int statsOff, double[] dy,
      int dyOff, int rows, double[] dx, int dxOff) {
    for (int r = 0; r < rows; r++) {
      int xr = xOff + r * dim;
      int yr = dyOff + r * dim;
      double mean = stats[statsOff + 2 * r];
      double rstd = stats[statsOff + 2 * r + 1];
      double sumD = 0; // Σ dx̂
      double sumDX = 0; // Σ dx̂ · x̂
      for (int i = 0; i < dim; i++) {
        double xhat = (x[xr + i] - mean) * rstd;
        double g = dy[yr + i];
        gw[gamma + i] += g * xhat;
        if (beta >= 0) {
          gw[beta + i] += g;
        }
        double d = g * w[gamma + i];
        sumD += d;
        sumDX += d * xhat;
      }
      double meanD = rms ? 0.0 : sumD / dim;
      double meanDX = sumDX / dim;
      int dr = dxOff + r * dim;
      for (int i = 0; i < dim; i++) {
        double xhat = (x[xr + i] - mean) * rstd;
        double d = dy[yr + i] * w[gamma + i];
        dx[dr + i] = rstd * (d - meanD - xhat * meanDX);
      }
    }
  }
}
