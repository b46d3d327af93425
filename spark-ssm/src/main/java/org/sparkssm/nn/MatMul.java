package org.sparkssm.nn;

import org.sparkssm.scan.VectorSupport;

/**
 * The three products of a linear layer {@code y = x Wᵀ} and its backward pass, on row-major
 * arrays with offsets, W stored as PyTorch does ({@code (out, in)}, row {@code o} at
 * {@code wOff + o * in}). Every row of x or y is {@code rows} consecutive blocks of {@code in} or
 * {@code out} doubles. Nothing is allocated per row.
 */
public final class MatMul {
  private MatMul() {}

  /**
   * {@code y[r, o] = Σ_i x[r, i] W[o, i]} (overwrites y), on the Vector API when enabled
   * ({@link MatMulVector}), else {@link #xWtScalar}. A row's result does not depend on the other
   * rows of the call.
   */
  public static void xWt(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y, int yOff) {
    if (VectorSupport.ENABLED) {
      MatMulVector.xWt(x, xOff, rows, in, w, wOff, out, y, yOff);
    } else {
      xWtScalar(x, xOff, rows, in, w, wOff, out, y, yOff);
    }
  }

  /** The scalar twin of {@link #xWt}: one accumulator per output, in index order. */
  public static void xWtScalar(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y,
      int yOff) {
    for (int r = 0; r < rows; r++) {
      int xr = xOff + r * in;
      int yr = yOff + r * out;
      for (int o = 0; o < out; o++) {
        int wr = wOff + o * in;
        double acc = 0;
        for (int i = 0; i < in; i++) {
          acc += x[xr + i] * w[wr + i];
        }
        y[yr + o] = acc;
      }
    }
  }

  /**
   * The input gradient {@code dx[r, i] = Σ_o dy[r, o] W[o, i]} (overwrites dx): per row, a sum of
   * W's rows scaled by dy, which the JIT vectorizes along i.
   */
  public static void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
      int dxOff) {
    for (int r = 0; r < rows; r++) {
      int xr = dxOff + r * in;
      for (int i = 0; i < in; i++) {
        dx[xr + i] = 0.0;
      }
      int yr = dyOff + r * out;
      for (int o = 0; o < out; o++) {
        double g = dy[yr + o];
        int wr = wOff + o * in;
        for (int i = 0; i < in; i++) {
          dx[xr + i] += g * w[wr + i];
        }
      }
    }
  }

  /**
   * The weight gradient {@code gW[o, i] += Σ_r dy[r, o] x[r, i]} (accumulates): W's gradient row
   * o stays in cache while the rows of x stream by.
   */
  public static void accumulateDyTx(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in,
      double[] gw, int gwOff) {
    for (int o = 0; o < out; o++) {
      int gr = gwOff + o * in;
      for (int r = 0; r < rows; r++) {
        double g = dy[dyOff + r * out + o];
        if (g == 0.0) {
          continue; // exact: adding 0 * x changes nothing unless x is not finite, which the layers never hold
        }
        int xr = xOff + r * in;
        for (int i = 0; i < in; i++) {
          gw[gr + i] += g * x[xr + i];
        }
      }
    }
  }
}
