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
   * The input gradient {@code dx[r, i] = Σ_o dy[r, o] W[o, i]} (overwrites dx): {@code dy · W},
   * on the Vector API's register tiles when enabled, else {@link #dyWScalar}.
   */
  public static void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
      int dxOff) {
    if (VectorSupport.ENABLED) {
      MatMulVector.aTimesB(rows, in, out, dy, dyOff, out, 1, w, wOff, dx, dxOff, false);
    } else {
      dyWScalar(dy, dyOff, rows, out, w, wOff, in, dx, dxOff);
    }
  }

  /**
   * {@code dx[r, i] += Σ_o dy[r, o] W[o, i]}: {@link #dyW} that accumulates, for an input that
   * feeds several parts of a split projection (Mamba's x_proj, in_proj).
   */
  public static void accumulateDyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in,
      double[] dx, int dxOff) {
    if (VectorSupport.ENABLED) {
      MatMulVector.aTimesB(rows, in, out, dy, dyOff, out, 1, w, wOff, dx, dxOff, true);
    } else {
      dyWScalar(dy, dyOff, rows, out, w, wOff, in, dx, dxOff, true);
    }
  }

  /** The scalar twin of {@link #dyW}: per row, W's rows scaled by dy and summed in o order. */
  public static void dyWScalar(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
      int dxOff) {
    dyWScalar(dy, dyOff, rows, out, w, wOff, in, dx, dxOff, false);
  }

  private static void dyWScalar(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
      int dxOff, boolean accumulate) {
    for (int r = 0; r < rows; r++) {
      int xr = dxOff + r * in;
      if (!accumulate) {
        for (int i = 0; i < in; i++) {
          dx[xr + i] = 0.0;
        }
      }
      int yr = dyOff + r * out;
      for (int o = 0; o < out; o++) {
        double g = dy[yr + o];
        int wr = wOff + o * in;
        for (int i = 0; i < in; i++) {
          dx[xr + i] = Math.fma(g, w[wr + i], dx[xr + i]);
        }
      }
    }
  }

  /**
   * The weight gradient {@code gW[o, i] += Σ_r dy[r, o] x[r, i]} (accumulates): {@code dyᵀ · x},
   * dyᵀ read in place, on the Vector API's register tiles when enabled, else
   * {@link #accumulateDyTxScalar}.
   */
  public static void accumulateDyTx(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in,
      double[] gw, int gwOff) {
    if (VectorSupport.ENABLED) {
      MatMulVector.aTimesB(out, in, rows, dy, dyOff, 1, out, x, xOff, gw, gwOff, true);
    } else {
      accumulateDyTxScalar(dy, dyOff, rows, out, x, xOff, in, gw, gwOff);
    }
  }

  /** The scalar twin of {@link #accumulateDyTx}: each gW element sums over r in order. */
  public static void accumulateDyTxScalar(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in,
      double[] gw, int gwOff) {
    for (int o = 0; o < out; o++) {
      int gr = gwOff + o * in;
      for (int r = 0; r < rows; r++) {
        double g = dy[dyOff + r * out + o];
        int xr = xOff + r * in;
        for (int i = 0; i < in; i++) {
          gw[gr + i] = Math.fma(g, x[xr + i], gw[gr + i]);
        }
      }
    }
  }
}
