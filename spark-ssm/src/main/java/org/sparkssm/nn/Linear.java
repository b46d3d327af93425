package org.sparkssm.nn;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * PyTorch's {@code nn.Linear}: {@code y[r, o] = Σ_i x[r, i] W[o, i] + b[o]} over {@code rows}
 * rows. Tensors {@code <name>.weight} {@code (out, in)} and, when enabled, {@code <name>.bias}
 * {@code (out)}.
 *
 * <p>Backward: {@code dx = dy W}, {@code gW += dyᵀ x}, {@code gb += Σ_r dy[r]}. It needs the
 * forward's input x, which the caller keeps (a network's activations live in its workspace).
 */
public final class Linear {
  private final int in;
  private final int out;
  private final int weight;
  private final int bias; // -1: none

  /** Reserves {@code name.weight} and, when {@code withBias}, {@code name.bias} in the layout. */
  public Linear(ParameterLayout layout, String name, int in, int out, boolean withBias) {
    Checks.positive(name + " in_features", in);
    Checks.positive(name + " out_features", out);
    this.in = in;
    this.out = out;
    this.weight = layout.add(name + ".weight", out, in);
    this.bias = withBias ? layout.add(name + ".bias", out) : -1;
  }

  public int in() {
    return in;
  }

  public int out() {
    return out;
  }

  /** Offset of W {@code (out, in)} in the parameter array. */
  public int weightOffset() {
    return weight;
  }

  /** PyTorch's default: W and b uniform in {@code ±1/sqrt(in)} (kaiming-uniform with a = √5). */
  public void init(double[] w, SplittableRandom rnd) {
    double bound = 1.0 / Math.sqrt(in);
    Init.uniform(w, weight, out * in, bound, rnd);
    if (bias >= 0) {
      Init.uniform(w, bias, out, bound, rnd);
    }
  }

  /** W and b = 0: a map that starts as nothing (a residual branch's output, a head learning a residual). */
  public void zero(double[] w) {
    Init.fill(w, weight, out * in, 0.0);
    if (bias >= 0) {
      Init.fill(w, bias, out, 0.0);
    }
  }

  /** {@code y = x Wᵀ + b} (overwrites y), in float64. */
  public void forward(double[] w, double[] x, int xOff, int rows, double[] y, int yOff) {
    forward(w, x, xOff, rows, y, yOff, Products.FLOAT64);
  }

  /** {@code y = x Wᵀ + b} (overwrites y), the product in {@code products}' precision, the bias added in float64. */
  public void forward(double[] w, double[] x, int xOff, int rows, double[] y, int yOff, Products products) {
    products.xWt(x, xOff, rows, in, w, weight, out, y, yOff);
    if (bias >= 0) {
      for (int r = 0; r < rows; r++) {
        int yr = yOff + r * out;
        for (int o = 0; o < out; o++) {
          y[yr + o] += w[bias + o];
        }
      }
    }
  }

  /**
   * Accumulates {@code gW}, {@code gb} into {@code gw} and writes {@code dx} (when not null).
   *
   * @param x the forward's input
   * @param dy the gradient of the output
   */
  public void backward(double[] w, double[] gw, double[] x, int xOff, double[] dy, int dyOff, int rows, double[] dx,
      int dxOff) {
    backward(w, gw, x, xOff, dy, dyOff, rows, dx, dxOff, Products.FLOAT64);
  }

  /** The backward above, its products in the precision of {@code products}; the bias gradient sums in float64. */
  public void backward(double[] w, double[] gw, double[] x, int xOff, double[] dy, int dyOff, int rows, double[] dx,
      int dxOff, Products products) {
    products.accumulateDyTx(dy, dyOff, rows, out, x, xOff, in, gw, weight);
    if (bias >= 0) {
      for (int r = 0; r < rows; r++) {
        int yr = dyOff + r * out;
        for (int o = 0; o < out; o++) {
          gw[bias + o] += dy[yr + o];
        }
      }
    }
    if (dx != null) {
      products.dyW(dy, dyOff, rows, out, w, weight, in, dx, dxOff);
    }
  }
}
