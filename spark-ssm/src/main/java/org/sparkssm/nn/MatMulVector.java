package org.sparkssm.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y[t, o] = Σ_i x[t, i] W[o, i]} on the Vector API: tiles of 4 rows × 3 outputs keep 12
 * accumulators in registers while x and W rows stream by lanes, so each loaded vector feeds 3 or
 * 4 FMAs instead of one. Every (t, o) sums in the same order whatever its tile (lanes in order,
 * then the lanes added left to right, then the scalar remainder), so a row's result does not depend
 * on which other rows are in the call: chunking a sequence differently gives identical numbers.
 * Only loaded behind {@link org.sparkssm.scan.VectorSupport#ENABLED}; the scalar twin is
 * {@link MatMul#xWtScalar}. {@link #aTimesB32} is the float32 kernel of {@link Float32Products}.
 */
final class MatMulVector {
  private MatMulVector() {}

  private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

  static void xWt(double[] x, int xOff, int rows, int in, double[] w, int wOff, int out, double[] y, int yOff) {
    int vectorEnd = in - in % S.length();
    double[] lanes = new double[S.length()];
    int t = 0;
    for (; t + 4 <= rows; t += 4) {
      int o = 0;
      for (; o + 3 <= out; o += 3) {
        tile(x, xOff + t * in, in, w, wOff + o * in, vectorEnd, y, yOff + t * out + o, out, lanes);
      }
      for (; o < out; o++) {
        for (int r = 0; r < 4; r++) {
          y[yOff + (t + r) * out + o] = dot(x, xOff + (t + r) * in, w, wOff + o * in, in, vectorEnd, lanes);
        }
      }
    }
    for (; t < rows; t++) {
      for (int o = 0; o < out; o++) {
        y[yOff + t * out + o] = dot(x, xOff + t * in, w, wOff + o * in, in, vectorEnd, lanes);
      }
    }
  }

  /** Four rows from {@code x0} times three W rows from {@code w0} into y (row stride {@code out}). */
  private static void tile(double[] x, int x0, int in, double[] w, int w0, int vectorEnd, double[] y, int y0, int out,
      double[] lanes) {
    DoubleVector a00 = DoubleVector.zero(S);
    DoubleVector a01 = a00;
    DoubleVector a02 = a00;
    DoubleVector a10 = a00;
    DoubleVector a11 = a00;
    DoubleVector a12 = a00;
    DoubleVector a20 = a00;
    DoubleVector a21 = a00;
    DoubleVector a22 = a00;
    DoubleVector a30 = a00;
    DoubleVector a31 = a00;
    DoubleVector a32 = a00;
    for (int i = 0; i < vectorEnd; i += S.length()) {
      DoubleVector w0v = DoubleVector.fromArray(S, w, w0 + i);
      DoubleVector w1v = DoubleVector.fromArray(S, w, w0 + in + i);
      DoubleVector w2v = DoubleVector.fromArray(S, w, w0 + 2 * in + i);
      DoubleVector xv = DoubleVector.fromArray(S, x, x0 + i);
      a00 = xv.fma(w0v, a00);
      a01 = xv.fma(w1v, a01);
      a02 = xv.fma(w2v, a02);
      xv = DoubleVector.fromArray(S, x, x0 + in + i);
      a10 = xv.fma(w0v, a10);
      a11 = xv.fma(w1v, a11);
      a12 = xv.fma(w2v, a12);
      xv = DoubleVector.fromArray(S, x, x0 + 2 * in + i);
      a20 = xv.fma(w0v, a20);
      a21 = xv.fma(w1v, a21);
      a22 = xv.fma(w2v, a22);
      xv = DoubleVector.fromArray(S, x, x0 + 3 * in + i);
      a30 = xv.fma(w0v, a30);
      a31 = xv.fma(w1v, a31);
      a32 = xv.fma(w2v, a32);
    }
    int x1 = x0 + in;
    int x2 = x0 + 2 * in;
    int x3 = x0 + 3 * in;
    int w1 = w0 + in;
    int w2 = w0 + 2 * in;
    y[y0] = finish(a00, x, x0, w, w0, in, vectorEnd, lanes);
    y[y0 + 1] = finish(a01, x, x0, w, w1, in, vectorEnd, lanes);
    y[y0 + 2] = finish(a02, x, x0, w, w2, in, vectorEnd, lanes);
    y[y0 + out] = finish(a10, x, x1, w, w0, in, vectorEnd, lanes);
    y[y0 + out + 1] = finish(a11, x, x1, w, w1, in, vectorEnd, lanes);
    y[y0 + out + 2] = finish(a12, x, x1, w, w2, in, vectorEnd, lanes);
    y[y0 + 2 * out] = finish(a20, x, x2, w, w0, in, vectorEnd, lanes);
    y[y0 + 2 * out + 1] = finish(a21, x, x2, w, w1, in, vectorEnd, lanes);
    y[y0 + 2 * out + 2] = finish(a22, x, x2, w, w2, in, vectorEnd, lanes);
    y[y0 + 3 * out] = finish(a30, x, x3, w, w0, in, vectorEnd, lanes);
    y[y0 + 3 * out + 1] = finish(a31, x, x3, w, w1, in, vectorEnd, lanes);
    y[y0 + 3 * out + 2] = finish(a32, x, x3, w, w2, in, vectorEnd, lanes);
  }

  /** One (t, o): the same lane order and reduction as {@link #tile}. */
  private static double dot(double[] x, int xr, double[] w, int wr, int in, int vectorEnd, double[] lanes) {
    DoubleVector a = DoubleVector.zero(S);
    for (int i = 0; i < vectorEnd; i += S.length()) {
      a = DoubleVector.fromArray(S, x, xr + i).fma(DoubleVector.fromArray(S, w, wr + i), a);
    }
    return finish(a, x, xr, w, wr, in, vectorEnd, lanes);
  }

  /** The lanes added left to right (a fixed order), then the scalar remainder of the row. */
  private static double finish(DoubleVector acc, double[] x, int xr, double[] w, int wr, int in, int vectorEnd,
      double[] lanes) {
    acc.intoArray(lanes, 0);
    double sum = 0;
    for (int k = 0; k < lanes.length; k++) {
      sum += lanes[k];
    }
    for (int i = vectorEnd; i < in; i++) {
      sum += x[xr + i] * w[wr + i];
    }
    return sum;
  }

  /**
   * {@code C[i, j] (+)= Σ_p A[i, p] B[p, j]} for an {@code m × n} block of C (row-major, row
   * stride n), B row-major {@code k × n}, and A read as {@code a[aOff + i * aRow + p * aCol]} so
   * that a transposed A (the {@code dyᵀ} of a weight gradient) needs no copy. Register tiles of 4
   * rows × 2 vectors of columns hold 8 accumulators while B's rows stream by: every loaded vector
   * feeds 4 FMAs, where a row-by-row AXPY would store after each one. Each C element sums over p
   * in order, whatever its tile.
   */
  static void aTimesB(int m, int n, int k, double[] a, int aOff, int aRow, int aCol, double[] b, int bOff, double[] c,
      int cOff, boolean accumulate) {
    final int v = S.length();
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      int j = 0;
      for (; j + 2 * v <= n; j += 2 * v) {
        tile4x2(k, n, a, aOff + i * aRow, aRow, aCol, b, bOff + j, c, cOff + i * n + j, accumulate);
      }
      for (; j < n; j++) {
        for (int r = 0; r < 4; r++) {
          c[cOff + (i + r) * n + j] = dotColumn(k, n, a, aOff + (i + r) * aRow, aCol, b, bOff + j,
              accumulate ? c[cOff + (i + r) * n + j] : 0.0);
        }
      }
    }
    for (; i < m; i++) {
      int j = 0;
      for (; j + v <= n; j += v) {
        DoubleVector acc = accumulate ? DoubleVector.fromArray(S, c, cOff + i * n + j) : DoubleVector.zero(S);
        int ar = aOff + i * aRow;
        for (int p = 0; p < k; p++) {
          acc = DoubleVector.broadcast(S, a[ar + p * aCol]).fma(DoubleVector.fromArray(S, b, bOff + p * n + j), acc);
        }
        acc.intoArray(c, cOff + i * n + j);
      }
      for (; j < n; j++) {
        c[cOff + i * n + j] = dotColumn(k, n, a, aOff + i * aRow, aCol, b, bOff + j,
            accumulate ? c[cOff + i * n + j] : 0.0);
      }
    }
  }

  private static void tile4x2(int k, int n, double[] a, int a0, int aRow, int aCol, double[] b, int b0, double[] c,
      int c0, boolean accumulate) {
    final int v = S.length();
    DoubleVector c00;
    DoubleVector c01;
    DoubleVector c10;
    DoubleVector c11;
    DoubleVector c20;
    DoubleVector c21;
    DoubleVector c30;
    DoubleVector c31;
    if (accumulate) {
      c00 = DoubleVector.fromArray(S, c, c0);
      c01 = DoubleVector.fromArray(S, c, c0 + v);
      c10 = DoubleVector.fromArray(S, c, c0 + n);
      c11 = DoubleVector.fromArray(S, c, c0 + n + v);
      c20 = DoubleVector.fromArray(S, c, c0 + 2 * n);
      c21 = DoubleVector.fromArray(S, c, c0 + 2 * n + v);
      c30 = DoubleVector.fromArray(S, c, c0 + 3 * n);
      c31 = DoubleVector.fromArray(S, c, c0 + 3 * n + v);
    } else {
      c00 = DoubleVector.zero(S);
      c01 = c00;
      c10 = c00;
      c11 = c00;
      c20 = c00;
      c21 = c00;
      c30 = c00;
      c31 = c00;
    }
    for (int p = 0; p < k; p++) {
      int br = b0 + p * n;
      DoubleVector b0v = DoubleVector.fromArray(S, b, br);
      DoubleVector b1v = DoubleVector.fromArray(S, b, br + v);
      int ap = a0 + p * aCol;
      DoubleVector x = DoubleVector.broadcast(S, a[ap]);
      c00 = x.fma(b0v, c00);
      c01 = x.fma(b1v, c01);
      x = DoubleVector.broadcast(S, a[ap + aRow]);
      c10 = x.fma(b0v, c10);
      c11 = x.fma(b1v, c11);
      x = DoubleVector.broadcast(S, a[ap + 2 * aRow]);
      c20 = x.fma(b0v, c20);
      c21 = x.fma(b1v, c21);
      x = DoubleVector.broadcast(S, a[ap + 3 * aRow]);
      c30 = x.fma(b0v, c30);
      c31 = x.fma(b1v, c31);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + v);
    c10.intoArray(c, c0 + n);
    c11.intoArray(c, c0 + n + v);
    c20.intoArray(c, c0 + 2 * n);
    c21.intoArray(c, c0 + 2 * n + v);
    c30.intoArray(c, c0 + 3 * n);
    c31.intoArray(c, c0 + 3 * n + v);
  }

  /** One C element: {@code start + Σ_p A[i, p] B[p, j]} in p order, with FMAs as the tiles use. */
  private static double dotColumn(int k, int n, double[] a, int ar, int aCol, double[] b, int bj, double start) {
    double s = start;
    for (int p = 0; p < k; p++) {
      s = Math.fma(a[ar + p * aCol], b[bj + p * n], s);
    }
    return s;
  }

  /**
   * {@code C[i, j] = Σ_p A[i, p] B[p, j]} in float32 (overwrites C, {@code m × n} from 0), B
   * row-major {@code k × n} from 0, A read as {@code a[i * aRow + p * aCol]}: register tiles of 4
   * rows × 2 vectors of columns (8 accumulators), then 4 rows × 1 vector, then the last columns and
   * rows one element at a time. Every element is an FMA chain over p in order from 0, as in
   * {@link Float32Products#aTimesBScalar}, so the two agree bit for bit.
   */
  static void aTimesB32(int m, int n, int k, float[] a, int aRow, int aCol, float[] b, float[] c) {
    final int v = F.length();
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      int j = 0;
      for (; j + 2 * v <= n; j += 2 * v) {
        tile32(k, n, a, i * aRow, aRow, aCol, b, j, c, i * n + j);
      }
      for (; j + v <= n; j += v) {
        for (int r = 0; r < 4; r++) {
          row32(k, n, a, (i + r) * aRow, aCol, b, j, c, (i + r) * n + j);
        }
      }
      for (; j < n; j++) {
        for (int r = 0; r < 4; r++) {
          c[(i + r) * n + j] = dotColumn32(k, n, a, (i + r) * aRow, aCol, b, j);
        }
      }
    }
    for (; i < m; i++) {
      int j = 0;
      for (; j + v <= n; j += v) {
        row32(k, n, a, i * aRow, aCol, b, j, c, i * n + j);
      }
      for (; j < n; j++) {
        c[i * n + j] = dotColumn32(k, n, a, i * aRow, aCol, b, j);
      }
    }
  }

  private static void tile32(int k, int n, float[] a, int a0, int aRow, int aCol, float[] b, int b0, float[] c,
      int c0) {
    final int v = F.length();
    FloatVector c00 = FloatVector.zero(F);
    FloatVector c01 = c00;
    FloatVector c10 = c00;
    FloatVector c11 = c00;
    FloatVector c20 = c00;
    FloatVector c21 = c00;
    FloatVector c30 = c00;
    FloatVector c31 = c00;
    for (int p = 0; p < k; p++) {
      int br = b0 + p * n;
      FloatVector b0v = FloatVector.fromArray(F, b, br);
      FloatVector b1v = FloatVector.fromArray(F, b, br + v);
      int ap = a0 + p * aCol;
      FloatVector x = FloatVector.broadcast(F, a[ap]);
      c00 = x.fma(b0v, c00);
      c01 = x.fma(b1v, c01);
      x = FloatVector.broadcast(F, a[ap + aRow]);
      c10 = x.fma(b0v, c10);
      c11 = x.fma(b1v, c11);
      x = FloatVector.broadcast(F, a[ap + 2 * aRow]);
      c20 = x.fma(b0v, c20);
      c21 = x.fma(b1v, c21);
      x = FloatVector.broadcast(F, a[ap + 3 * aRow]);
      c30 = x.fma(b0v, c30);
      c31 = x.fma(b1v, c31);
    }
    c00.intoArray(c, c0);
    c01.intoArray(c, c0 + v);
    c10.intoArray(c, c0 + n);
    c11.intoArray(c, c0 + n + v);
    c20.intoArray(c, c0 + 2 * n);
    c21.intoArray(c, c0 + 2 * n + v);
    c30.intoArray(c, c0 + 3 * n);
    c31.intoArray(c, c0 + 3 * n + v);
  }

  /** One row of A times one vector of B's columns from {@code j}. */
  private static void row32(int k, int n, float[] a, int ar, int aCol, float[] b, int j, float[] c, int cAt) {
    FloatVector acc = FloatVector.zero(F);
    for (int p = 0; p < k; p++) {
      acc = FloatVector.broadcast(F, a[ar + p * aCol]).fma(FloatVector.fromArray(F, b, p * n + j), acc);
    }
    acc.intoArray(c, cAt);
  }

  /** One C element: {@code Σ_p A[i, p] B[p, j]} in p order, with FMAs as the tiles use. */
  private static float dotColumn32(int k, int n, float[] a, int ar, int aCol, float[] b, int j) {
    float s = 0f;
    for (int p = 0; p < k; p++) {
      s = Math.fma(a[ar + p * aCol], b[p * n + j], s);
    }
    return s;
  }
}
