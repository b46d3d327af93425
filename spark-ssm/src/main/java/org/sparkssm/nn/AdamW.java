package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization"), as PyTorch's
 * {@code torch.optim.AdamW}: for step t = 1, 2, … and learning rate η_t,
 *
 * <pre>
 *   θ ← θ − η_t λ θ                                   (decoupled decay; only where decay[i])
 *   m ← β1 m + (1 − β1) g          v ← β2 v + (1 − β2) g²
 *   θ ← θ − η_t · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)
 * </pre>
 *
 * The moments are flat arrays in the network's {@link ParameterLayout}, so the optimizer state
 * is a value that can be checkpointed and restored ({@link #state}, {@link #restore}). Weight
 * decay applies to matrices only (tensors of rank ≥ 2): decaying norms' gains, biases, Δ biases
 * or A_log would pull them towards values that mean something else (a gain of 0, A = −1).
 */
public final class AdamW {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final boolean[] decay;
  private final double[] m;
  private final double[] v;
  private long step;

  public AdamW(ParameterLayout layout, double beta1, double beta2, double eps, double weightDecay) {
    Checks.notNull("layout", layout);
    if (!(beta1 >= 0 && beta1 < 1)) {
      Checks.fail("beta1: expected a value in [0, 1), got %s", beta1);
    }
    if (!(beta2 >= 0 && beta2 < 1)) {
      Checks.fail("beta2: expected a value in [0, 1), got %s", beta2);
    }
    Checks.positiveFinite("eps", eps);
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      Checks.fail("weight decay: expected a finite value >= 0, got %s", weightDecay);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decay = new boolean[layout.size()];
    ParameterLayout.Tensor[] tensors = layout.tensors().toArray(new ParameterLayout.Tensor[0]);
    for (int k = 0; k < tensors.length; k++) {
      ParameterLayout.Tensor t = tensors[k];
      if (t.shape().length >= 2) {
        java.util.Arrays.fill(decay, t.offset(), t.offset() + t.size(), true);
      }
    }
    this.m = new double[layout.size()];
    this.v = new double[layout.size()];
  }

  /** PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8, with the given decay. */
  public static AdamW standard(ParameterLayout layout, double weightDecay) {
    return new AdamW(layout, 0.9, 0.999, 1e-8, weightDecay);
  }

  /** Steps taken so far. */
  public long steps() {
    return step;
  }

  /** One update of θ in place from the gradient g at learning rate lr. */
  public void step(double[] theta, double[] g, double lr) {
    Checks.length("theta", theta, m.length, "the layout's size");
    Checks.length("gradient", g, m.length, "the layout's size");
    step++;
    double c1 = 1.0 - Math.pow(beta1, step);
    double c2 = 1.0 - Math.pow(beta2, step);
    double shrink = 1.0 - lr * weightDecay;
    for (int i = 0; i < theta.length; i++) {
      double gi = g[i];
      double mi = beta1 * m[i] + (1.0 - beta1) * gi;
      double vi = beta2 * v[i] + (1.0 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      double t = decay[i] ? theta[i] * shrink : theta[i];
      theta[i] = t - lr * (mi / c1) / (Math.sqrt(vi / c2) + eps);
    }
  }

  /** The moments and the step count, for a checkpoint: {@code [m..., v..., step]}. */
  public double[] state() {
    double[] s = new double[2 * m.length + 1];
    System.arraycopy(m, 0, s, 0, m.length);
    System.arraycopy(v, 0, s, m.length, v.length);
    s[2 * m.length] = step;
    return s;
  }

  /** Restores what {@link #state} returned. */
  public void restore(double[] s) {
    Checks.length("optimizer state", s, 2 * m.length + 1, "2 * parameters + 1");
    System.arraycopy(s, 0, m, 0, m.length);
    System.arraycopy(s, m.length, v, 0, v.length);
    step = (long) s[2 * m.length];
  }

  /**
   * Scales g in place so that its global L2 norm is at most {@code maxNorm} (as PyTorch's
   * {@code clip_grad_norm_}: factor {@code maxNorm / (norm + 1e-6)} when below 1) and returns the
   * norm before clipping; {@code maxNorm <= 0} or infinite only measures.
   */
  public static double clipGlobalNorm(double[] g, double maxNorm) {
    double sq = 0;
    for (int i = 0; i < g.length; i++) {
      sq += g[i] * g[i];
    }
    double norm = Math.sqrt(sq);
    if (maxNorm > 0 && Double.isFinite(maxNorm)) {
      double factor = maxNorm / (norm + 1e-6);
      if (factor < 1.0) {
        for (int i = 0; i < g.length; i++) {
          g[i] *= factor;
        }
      }
    }
    return norm;
  }
}
