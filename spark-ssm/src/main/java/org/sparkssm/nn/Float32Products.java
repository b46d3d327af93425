package org.sparkssm.nn;

import org.sparkssm.scan.VectorSupport;

/**
 * {@link Products} in float32: every call rounds its operands into float scratch, forms the product
 * with one float32 kernel, {@code C = A B} ({@link #aTimesB}), and widens C into the double output
 * (adding it there for the accumulating products). The three products are that one kernel on
 * different views: {@code x Wᵀ} is x times W transposed during rounding, {@code dy W} is dy times
 * W, and {@code dyᵀ x} reads dy transposed in place.
 *
 * <p>Numbers: each C element is the float32 sequence {@code c = fma(A[i, p], B[p, j], c)} for
 * p = 0, 1, ... from {@code c = 0}, on the Vector API and in the scalar twin alike (bit-identical),
 * and whatever the other rows of the call. Against the exact product of the rounded operands the
 * error is that of a float32 recursive sum, at most about {@code k · 2⁻²⁴ · Σ_p |A[i, p] B[p, j]|};
 * the rounding of the operands adds at most {@code 2 · 2⁻²⁴} of the same sum. An accumulated
 * gradient therefore sums in float32 within one call and in float64 across calls (across a
 * split projection's parts, a batch's shards).
 *
 * <p>The scratch grows to the largest call and is then reused: nothing is allocated in a training
 * step after the first. One instance per thread.
 */
final class Float32Products implements Products {
  private float[] a = new float[0];
  private float[] b = new float[0];
  private float[] c = new float[0];

  @Override
  public void xWt(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y, int yOff) {
    ensure(rows, in, out);
    round(x, xOff, rows * in, a);
    for (int o = 0; o < out; o++) { // B = Wᵀ (in, out)
      int wr = wOff + o * in;
      for (int i = 0; i < in; i++) {
        b[i * out + o] = (float) w[wr + i];
      }
    }
    aTimesB(rows, out, in, a, in, 1, b, c);
    widen(c, rows * out, y, yOff, false);
  }

  @Override
  public void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx, int dxOff) {
    dyW(dy, dyOff, rows, out, w, wOff, in, dx, dxOff, false);
  }

  @Override
  public void accumulateDyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx,
      int dxOff) {
    dyW(dy, dyOff, rows, out, w, wOff, in, dx, dxOff, true);
  }

  private void dyW(double[] dy, int dyOff, int rows, int out, double[] w, int wOff, int in, double[] dx, int dxOff,
      boolean accumulate) {
    ensure(rows, out, in);
    round(dy, dyOff, rows * out, a);
    round(w, wOff, out * in, b);
    aTimesB(rows, in, out, a, out, 1, b, c);
    widen(c, rows * in, dx, dxOff, accumulate);
  }

  @Override
  public void accumulateDyTx(double[] dy, int dyOff, int rows, int out, double[] x, int xOff, int in, double[] gw,
      int gwOff) {
    ensure(out, rows, in);
    round(dy, dyOff, rows * out, a);
    round(x, xOff, rows * in, b);
    aTimesB(out, in, rows, a, 1, out, b, c); // A = dyᵀ: element (o, r) at r * out + o
    widen(c, out * in, gw, gwOff, true);
  }

  @Override
  public String toString() {
    return "float32";
  }

  /** Scratch for an (m × k) A, a (k × n) B and an (m × n) C. */
  private void ensure(int m, int k, int n) {
    if (a.length < m * k) {
      a = new float[m * k];
    }
    if (b.length < k * n) {
      b = new float[k * n];
    }
    if (c.length < m * n) {
      c = new float[m * n];
    }
  }

  private static void round(double[] src, int off, int n, float[] dst) {
    org.sparkssm.scan.FloatMath.toFloat(src, off, dst, 0, n);
  }

  private static void widen(float[] src, int n, double[] dst, int off, boolean accumulate) {
    if (accumulate) {
      for (int k = 0; k < n; k++) {
        dst[off + k] += src[k];
      }
    } else {
      org.sparkssm.scan.FloatMath.toDouble(src, 0, dst, off, n);
    }
  }

  /**
   * {@code C[i, j] = Σ_p A[i, p] B[p, j]} (overwrites C, {@code m × n} row-major from 0), B row-major
   * {@code k × n} from 0, A read as {@code a[i * aRow + p * aCol]}: on the Vector API when enabled
   * ({@code MatMulVector.aTimesB32}), else {@link #aTimesBScalar}; the two agree bit for bit.
   */
  static void aTimesB(int m, int n, int k, float[] a, int aRow, int aCol, float[] b, float[] c) {
    if (VectorSupport.ENABLED) {
      MatMulVector.aTimesB32(m, n, k, a, aRow, aCol, b, c);
    } else {
      aTimesBScalar(m, n, k, a, aRow, aCol, b, c);
    }
  }

  /** The scalar twin of {@link #aTimesB}: each C element an FMA chain over p in order. */
  static void aTimesBScalar(int m, int n, int k, float[] a, int aRow, int aCol, float[] b, float[] c) {
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float s = 0f;
        for (int p = 0; p < k; p++) {
          s = Math.fma(a[i * aRow + p * aCol], b[p * n + j], s);
        }
        c[i * n + j] = s;
      }
    }
  }
}
