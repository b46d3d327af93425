package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * The products of a linear layer {@code y = x Wᵀ} and its backward ({@link MatMul}'s), in one
 * {@link Precision}: the trained layers ({@link Linear}, {@link MambaBlock}) take their products from
 * here, so one network runs in float64 or float32 without a second copy of its code. Operands are
 * row-major double arrays with offsets either way; W is stored as PyTorch does, {@code (out, in)}.
 *
 * <p>{@link #FLOAT64} is {@link MatMul} itself. {@link #of} a float32 mode gives a new
 * {@code Float32Products}: each call rounds its operands to float32, multiplies and sums in float32
 * (as PyTorch's float32 GEMM does) and widens the result into the double output; its scratch is
 * grown to the largest call and reused, so an instance belongs to one thread (a workspace).
 */
public interface Products {
  /** {@code y[r, o] = Σ_i x[r, i] W[o, i]} (overwrites y). */
  void xWt(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y, int yOff);

  /** The input gradient {@code dx[r, i] = Σ_o dy[r, o] W[o, i]} (overwrites dx). */
  void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx, int dxOff);

  /** {@code dx[r, i] += Σ_o dy[r, o] W[o, i]}: for an input that feeds several parts of a split projection. */
  void accumulateDyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx, int dxOff);

  /** The weight gradient {@code gW[o, i] += Σ_r dy[r, o] x[r, i]} (accumulates). */
  void accumulateDyTx(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in, double[] gw, int gwOff);

  /** {@link MatMul}: float64 throughout. Stateless, shared by every thread. */
  Products FLOAT64 = new Products() {
    @Override
    public void xWt(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y, int yOff) {
      MatMul.xWt(x, xOff, rows, in, w, wOff, out, y, yOff);
    }

    @Override
    public void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx, int dxOff) {
      MatMul.dyW(dy, dyOff, rows, out, w, wOff, in, dx, dxOff);
    }

    @Override
    public void accumulateDyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
        int dxOff) {
      MatMul.accumulateDyW(dy, dyOff, rows, out, w, wOff, in, dx, dxOff);
    }

    @Override
    public void accumulateDyTx(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in, double[] gw,
        int gwOff) {
      MatMul.accumulateDyTx(dy, dyOff, rows, out, x, xOff, in, gw, gwOff);
    }

    @Override
    public String toString() {
      return "float64";
    }
  };

  /**
   * The products of {@code precision}: {@link #FLOAT64}, or, for both float32 modes (the state's
   * precision is a scan's matter, not a product's), a new float32 instance for one thread.
   */
  static Products of(Precision precision) {
    Checks.notNull("precision", precision);
    return precision == Precision.FLOAT64 ? FLOAT64 : new Float32Products();
  }
}
