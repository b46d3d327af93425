package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * Regression losses over n predictions, as means (PyTorch's {@code reduction='mean'}):
 * MSE {@code mean (p - y)²}, MAE {@code mean |p - y|} (subgradient 0 at p = y, as torch), Huber
 * with threshold δ {@code mean(½ e² if |e| ≤ δ else δ (|e| − ½ δ))}. {@link #sum} returns the
 * unnormalized sum and writes {@code d sum / d p} scaled by {@code scale} (the trainer passes
 * 1 / (batch elements)), so per-shard sums add up to the batch mean exactly as one call would.
 */
public final class Loss implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  public enum Kind { MSE, MAE, HUBER }

  private final Kind kind;
  private final double delta;

  private Loss(Kind kind, double delta) {
    this.kind = kind;
    this.delta = delta;
  }

  public static Loss mse() {
    return new Loss(Kind.MSE, 0);
  }

  public static Loss mae() {
    return new Loss(Kind.MAE, 0);
  }

  public static Loss huber(double delta) {
    return new Loss(Kind.HUBER, Checks.positiveFinite("huber delta", delta));
  }

  /** Parses {@code mse}, {@code mae}, {@code huber} (δ = 1) or {@code huber:δ}. */
  public static Loss parse(String name) {
    Checks.notNull("loss", name);
    String s = name.trim().toLowerCase(java.util.Locale.ROOT);
    if (s.equals("mse")) {
      return mse();
    }
    if (s.equals("mae")) {
      return mae();
    }
    if (s.equals("huber")) {
      return huber(1.0);
    }
    if (s.startsWith("huber:")) {
      try {
        return huber(Double.parseDouble(s.substring(6)));
      } catch (NumberFormatException e) {
        throw Checks.fail("loss: expected huber:<delta> with a number, got '%s'", name);
      }
    }
    throw Checks.fail("loss: expected mse, mae, huber or huber:<delta>, got '%s'", name);
  }

  public Kind kind() {
    return kind;
  }

  @Override
  public String toString() {
    return kind == Kind.HUBER ? "huber:" + delta : kind.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * The loss summed over {@code n} elements; writes {@code scale · ∂/∂p} into {@code grad} (from
   * {@code gOff}) when not null.
   */
  public double sum(double[] p, int pOff, double[] y, int yOff, int n, double scale, double[] grad, int gOff) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      double e = p[pOff + i] - y[yOff + i];
      double value;
      double d;
      switch (kind) {
        case MSE:
          value = e * e;
          d = 2 * e;
          break;
        case MAE:
          value = Math.abs(e);
          d = e > 0 ? 1.0 : e < 0 ? -1.0 : 0.0;
          break;
        default:
          double a = Math.abs(e);
          if (a <= delta) {
            value = 0.5 * e * e;
            d = e;
          } else {
            value = delta * (a - 0.5 * delta);
            d = e > 0 ? delta : -delta;
          }
          break;
      }
      s += value;
      if (grad != null) {
        grad[gOff + i] = scale * d;
      }
    }
    return s;
  }
}
