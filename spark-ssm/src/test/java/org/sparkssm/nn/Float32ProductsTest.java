package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The float32 products of the trained layers: the vector kernel against its scalar twin (bit for
 * bit), and each product against the float64 sum of the same operands, within the float32 bound
 * {@code (k + 2) · 2⁻²⁴ · Σ|a b|} per element (k terms summed in float32, plus each operand's
 * rounding to float32); on shapes that hit every remainder of the 4-row, 1- and 2-vector tiles.
 */
class Float32ProductsTest {
  private static final double U = 0x1p-24;
  /** (rows, in, out): remainders of every tile loop, the S-Mamba block's shapes, a long dyᵀ x sum. */
  private static final int[][] SHAPES = {
      {1, 1, 1}, {3, 5, 7}, {4, 8, 16}, {5, 17, 33}, {8, 16, 32}, {9, 31, 47}, {224, 128, 512}, {224, 256, 40},
      {224, 8, 256}, {13, 64, 15}, {2048, 9, 6}, {6, 300, 3},
  };

  @Test
  void vectorKernelEqualsScalarTwinBitForBit() {
    SplittableRandom rnd = new SplittableRandom(5);
    for (int trial = 0; trial < 60; trial++) {
      int m = 1 + rnd.nextInt(23);
      int n = 1 + rnd.nextInt(70);
      int k = 1 + rnd.nextInt(90);
      boolean transposed = rnd.nextBoolean();
      int aRow = transposed ? 1 : k;
      int aCol = transposed ? m : 1;
      float[] a = floats(rnd, m * k);
      float[] b = floats(rnd, k * n);
      float[] c = new float[m * n];
      float[] twin = new float[m * n];
      Float32Products.aTimesB(m, n, k, a, aRow, aCol, b, c);
      Float32Products.aTimesBScalar(m, n, k, a, aRow, aCol, b, twin);
      for (int e = 0; e < c.length; e++) {
        assertEquals(Float.floatToRawIntBits(twin[e]), Float.floatToRawIntBits(c[e]),
            String.format(Locale.ROOT, "m %d, n %d, k %d, transposed %b: element %d", m, n, k, transposed, e));
      }
    }
  }

  @Test
  void eachProductIsWithinTheFloat32BoundOfTheFloat64One() {
    SplittableRandom rnd = new SplittableRandom(7);
    Products f32 = Products.of(Precision.FLOAT32);
    for (int[] s : SHAPES) {
      check(f32, rnd, s[0], s[1], s[2]);
    }
    for (int trial = 0; trial < 30; trial++) { // one instance: its scratch grows and shrinks between calls
      check(f32, rnd, 1 + rnd.nextInt(40), 1 + rnd.nextInt(80), 1 + rnd.nextInt(80));
    }
  }

  private static void check(Products f32, SplittableRandom rnd, int rows, int in, int out) {
    String what = String.format(Locale.ROOT, "rows %d, in %d, out %d", rows, in, out);
    int off = 3;
    double[] x = doubles(rnd, off + rows * in);
    double[] w = doubles(rnd, off + out * in);
    double[] dy = doubles(rnd, off + rows * out);
    // y = x Wᵀ (overwrites): every element sums in terms.
    double[] y = doubles(rnd, off + rows * out + 2);
    double[] before = y.clone();
    f32.xWt(x, off, rows, in, w, off, out, y, off);
    for (int r = 0; r < rows; r++) {
      for (int o = 0; o < out; o++) {
        double exact = 0;
        double abs = 0;
        for (int i = 0; i < in; i++) {
          exact += x[off + r * in + i] * w[off + o * in + i];
          abs += Math.abs(x[off + r * in + i] * w[off + o * in + i]);
        }
        within(what + " x Wᵀ", exact, y[off + r * out + o], in, abs);
      }
    }
    untouched(what + " x Wᵀ", before, y, off, rows * out);
    // dx = dy W, then dx += dy W.
    double[] dx = doubles(rnd, off + rows * in + 2);
    double[] start = dx.clone();
    f32.accumulateDyW(dy, off, rows, out, w, off, in, dx, off);
    double[] overwritten = dx.clone();
    f32.dyW(dy, off, rows, out, w, off, in, overwritten, off);
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < in; i++) {
        double exact = 0;
        double abs = 0;
        for (int o = 0; o < out; o++) {
          exact += dy[off + r * out + o] * w[off + o * in + i];
          abs += Math.abs(dy[off + r * out + o] * w[off + o * in + i]);
        }
        int e = off + r * in + i;
        within(what + " dy W", exact, overwritten[e], out, abs);
        within(what + " dx + dy W", start[e] + exact, dx[e], out, abs + Math.abs(start[e]) * 1e-9);
      }
    }
    untouched(what + " dy W", start, overwritten, off, rows * in);
    // gW += dyᵀ x.
    double[] gw = doubles(rnd, off + out * in + 2);
    double[] g0 = gw.clone();
    f32.accumulateDyTx(dy, off, rows, out, x, off, in, gw, off);
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < in; i++) {
        double exact = 0;
        double abs = 0;
        for (int r = 0; r < rows; r++) {
          exact += dy[off + r * out + o] * x[off + r * in + i];
          abs += Math.abs(dy[off + r * out + o] * x[off + r * in + i]);
        }
        int e = off + o * in + i;
        within(what + " dyᵀ x", g0[e] + exact, gw[e], rows, abs + Math.abs(g0[e]) * 1e-9);
      }
    }
    untouched(what + " dyᵀ x", g0, gw, off, out * in);
  }

  @Test
  void float64ProductsAreMatMul() {
    assertSame(Products.FLOAT64, Products.of(Precision.FLOAT64));
    assertTrue(Products.of(Precision.FLOAT32) instanceof Float32Products);
    assertTrue(Products.of(Precision.FLOAT32_STATE64) instanceof Float32Products);
    SplittableRandom rnd = new SplittableRandom(9);
    double[] x = doubles(rnd, 7 * 13);
    double[] w = doubles(rnd, 5 * 13);
    double[] y = new double[7 * 5];
    double[] ref = new double[7 * 5];
    Products.FLOAT64.xWt(x, 0, 7, 13, w, 0, 5, y, 0);
    MatMul.xWt(x, 0, 7, 13, w, 0, 5, ref, 0);
    for (int e = 0; e < y.length; e++) {
      assertEquals(Double.doubleToRawLongBits(ref[e]), Double.doubleToRawLongBits(y[e]));
    }
  }

  /** {@code |got − exact| <= (k + 2) · 2⁻²⁴ · Σ|a b|} (+ float64 rounding of the sum itself). */
  private static void within(String what, double exact, double got, int k, double abs) {
    double bound = (k + 2) * U * 1.0001 * abs + 1e-12 * Math.abs(exact);
    assertTrue(Math.abs(got - exact) <= bound,
        String.format(Locale.ROOT, "%s: got %.9g, float64 %.9g, bound %.3g", what, got, exact, bound));
  }

  /** Values outside the written range keep their bits. */
  private static void untouched(String what, double[] before, double[] after, int off, int count) {
    for (int e = 0; e < after.length; e++) {
      if (e < off || e >= off + count) {
        assertEquals(before[e], after[e], what + ": written outside its range at " + e);
      }
    }
  }

  private static double[] doubles(SplittableRandom rnd, int n) {
    double[] v = new double[n];
    for (int k = 0; k < n; k++) {
      v[k] = rnd.nextDouble(-1, 1);
    }
    return v;
  }

  private static float[] floats(SplittableRandom rnd, int n) {
    float[] v = new float[n];
    for (int k = 0; k < n; k++) {
      v[k] = (float) rnd.nextDouble(-1, 1);
    }
    return v;
  }
}
