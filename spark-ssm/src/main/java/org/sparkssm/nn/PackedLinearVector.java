package org.sparkssm.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel of {@link PackedLinear}: {@code y[r, o] = Σ_i x[r, i] W[o, i]} in float32
 * over W packed as panels of {@link #PANEL_WIDTH} outputs, each panel {@code [in][P]}.
 *
 * <p>The micro-kernel is an outer product: for each i it loads one panel row (3 vectors of W[o, i]
 * for consecutive o), broadcasts x[r, i] of 4 rows and does 12 FMAs into 12 register accumulators.
 * No lane ever needs a horizontal sum, each loaded vector feeds 4 FMAs and each broadcast 3: 7
 * loads per 12 FMAs, within what the core loads while it retires two FMAs per cycle. Why 4 × 3 and
 * not a bigger tile that would reuse each load more: with more than about 15 accumulators C2 (JDK
 * 17) spills one of them to the stack, and that accumulator's chain (reload, FMA, store every step)
 * then sets the pace: 8 × 3, 6 × 4, 12 × 2, 6 × 3 and 4 × 4 all ran at 45-65 % of the float32
 * peak on AVX-512 where 4 × 3 runs at 80-90 % (6 × 2 and 5 × 2 close behind; unrolling i by 2 or 4,
 * or packing x so the broadcasts share one index, did not help). On AVX2 (16 registers) the same
 * code runs, only closer to the register limit.
 *
 * <p>Cache blocking, from the outside in: blocks of {@link #ROW_BLOCK} rows; panels; k-blocks of
 * {@link #K_BLOCK} inputs; row tiles. A panel slice ({@code K_BLOCK · P · 4} bytes, 24 KB on
 * AVX-512) stays in L1 while every row tile of the block reads it, and the block's x slice
 * ({@code ROW_BLOCK · K_BLOCK · 4} bytes, 128 KB) stays in L2 while every panel passes. At Mamba's
 * shapes this matters less than one might think: each panel row of 192 bytes feeds 48 FMAs per
 * row, so even streaming from L2 keeps up; k-blocks of 128, 256 and all of {@code in}, and row
 * blocks of 64 to 256, measured within the noise of each other, 128 and 256 slightly ahead.
 *
 * <p>Between k-blocks the partial sums wait in y, stored and reloaded as the float32 values the
 * registers held, so blocking changes no rounding: every y[r, o] is still
 * {@code acc = fma(x[r, i], W[o, i], acc)} for i = 0, 1, ..., in - 1 from {@code acc = 0}, which is
 * what {@link PackedLinear#xWtScalar} computes, bit for bit. The tile, block or number of rows in
 * the call never reorders a sum.
 *
 * <p>Only loaded behind {@link org.sparkssm.scan.VectorSupport#ENABLED}.
 */
final class PackedLinearVector {
  private PackedLinearVector() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int LANES = S.length();

  /** Outputs per panel: the 3 vectors of one micro-kernel row. */
  static final int PANEL_WIDTH = 3 * LANES;
  /** Inputs per k-block: the panel slice the row tiles share stays in L1 (24 KB of 48). */
  static final int K_BLOCK = 128;
  /** Rows per row block: their x slice of a k-block (128 KB) stays in L2 while the panels pass. */
  static final int ROW_BLOCK = 256;

  /**
   * {@code y[r, o] = Σ_i x[r, i] W[o, i]} (overwrites y) for W packed by {@link PackedLinear}
   * with this class's {@link #PANEL_WIDTH}; x row stride {@code in}, y row stride {@code out}.
   */
  static void xWt(float[] panels, int out, int in, float[] x, int xOff, int rows, float[] y, int yOff) {
    final int p = PANEL_WIDTH;
    int panelCount = (out + p - 1) / p;
    for (int r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      int rowEnd = Math.min(rows, r0 + ROW_BLOCK);
      for (int panel = 0; panel < panelCount; panel++) {
        int o0 = panel * p;
        int valid = Math.min(p, out - o0);
        int panelStart = panel * in * p;
        for (int k0 = 0; k0 < in; k0 += K_BLOCK) {
          int kLen = Math.min(K_BLOCK, in - k0);
          boolean first = k0 == 0;
          int w0 = panelStart + k0 * p;
          int r = r0;
          for (; r + 4 <= rowEnd; r += 4) {
            tile4x3(x, xOff + r * in + k0, in, panels, w0, kLen, y, yOff + r * out + o0, out, valid, first);
          }
          for (; r < rowEnd; r++) {
            tile1x3(x, xOff + r * in + k0, panels, w0, kLen, y, yOff + r * out + o0, valid, first);
          }
        }
      }
    }
  }

  /**
   * Four rows of x from {@code x0} (stride {@code in}) times {@code kLen} rows of a panel from
   * {@code w0}, into y from {@code y0} (stride {@code out}); only the first {@code valid} outputs
   * of the panel exist in y (the last panel is padded with zero weights).
   */
  private static void tile4x3(float[] x, int x0, int in, float[] w, int w0, int kLen, float[] y, int y0, int out,
      int valid, boolean first) {
    final int l = LANES;
    final int p = PANEL_WIDTH;
    int x1 = x0 + in;
    int x2 = x1 + in;
    int x3 = x2 + in;
    int y1 = y0 + out;
    int y2 = y1 + out;
    int y3 = y2 + out;
    int v1 = valid - l;
    int v2 = valid - 2 * l;
    FloatVector c00 = start(y, y0, valid, first);
    FloatVector c01 = start(y, y0 + l, v1, first);
    FloatVector c02 = start(y, y0 + 2 * l, v2, first);
    FloatVector c10 = start(y, y1, valid, first);
    FloatVector c11 = start(y, y1 + l, v1, first);
    FloatVector c12 = start(y, y1 + 2 * l, v2, first);
    FloatVector c20 = start(y, y2, valid, first);
    FloatVector c21 = start(y, y2 + l, v1, first);
    FloatVector c22 = start(y, y2 + 2 * l, v2, first);
    FloatVector c30 = start(y, y3, valid, first);
    FloatVector c31 = start(y, y3 + l, v1, first);
    FloatVector c32 = start(y, y3 + 2 * l, v2, first);
    for (int k = 0; k < kLen; k++) {
      int wk = w0 + k * p;
      FloatVector b0 = FloatVector.fromArray(S, w, wk);
      FloatVector b1 = FloatVector.fromArray(S, w, wk + l);
      FloatVector b2 = FloatVector.fromArray(S, w, wk + 2 * l);
      FloatVector a = FloatVector.broadcast(S, x[x0 + k]);
      c00 = a.fma(b0, c00);
      c01 = a.fma(b1, c01);
      c02 = a.fma(b2, c02);
      a = FloatVector.broadcast(S, x[x1 + k]);
      c10 = a.fma(b0, c10);
      c11 = a.fma(b1, c11);
      c12 = a.fma(b2, c12);
      a = FloatVector.broadcast(S, x[x2 + k]);
      c20 = a.fma(b0, c20);
      c21 = a.fma(b1, c21);
      c22 = a.fma(b2, c22);
      a = FloatVector.broadcast(S, x[x3 + k]);
      c30 = a.fma(b0, c30);
      c31 = a.fma(b1, c31);
      c32 = a.fma(b2, c32);
    }
    store(c00, y, y0, valid);
    store(c01, y, y0 + l, v1);
    store(c02, y, y0 + 2 * l, v2);
    store(c10, y, y1, valid);
    store(c11, y, y1 + l, v1);
    store(c12, y, y1 + 2 * l, v2);
    store(c20, y, y2, valid);
    store(c21, y, y2 + l, v1);
    store(c22, y, y2 + 2 * l, v2);
    store(c30, y, y3, valid);
    store(c31, y, y3 + l, v1);
    store(c32, y, y3 + 2 * l, v2);
  }

  /** One row: the remainder of a row block (and the whole of a one-token call). */
  private static void tile1x3(float[] x, int x0, float[] w, int w0, int kLen, float[] y, int y0, int valid,
      boolean first) {
    final int l = LANES;
    final int p = PANEL_WIDTH;
    int v1 = valid - l;
    int v2 = valid - 2 * l;
    FloatVector c0 = start(y, y0, valid, first);
    FloatVector c1 = start(y, y0 + l, v1, first);
    FloatVector c2 = start(y, y0 + 2 * l, v2, first);
    for (int k = 0; k < kLen; k++) {
      int wk = w0 + k * p;
      FloatVector a = FloatVector.broadcast(S, x[x0 + k]);
      c0 = a.fma(FloatVector.fromArray(S, w, wk), c0);
      c1 = a.fma(FloatVector.fromArray(S, w, wk + l), c1);
      c2 = a.fma(FloatVector.fromArray(S, w, wk + 2 * l), c2);
    }
    store(c0, y, y0, valid);
    store(c1, y, y0 + l, v1);
    store(c2, y, y0 + 2 * l, v2);
  }

  /**
   * The accumulator of {@code valid} outputs of y from {@code off}: zero in the first k-block, else
   * the partial sums the previous k-block left in y. Lanes past {@code valid} are padding (zero).
   */
  private static FloatVector start(float[] y, int off, int valid, boolean first) {
    if (first || valid <= 0) {
      return FloatVector.zero(S);
    }
    if (valid >= LANES) {
      return FloatVector.fromArray(S, y, off);
    }
    return FloatVector.fromArray(S, y, off, S.indexInRange(0, valid));
  }

  /** Stores the first {@code valid} lanes (padding lanes have no place in y). */
  private static void store(FloatVector acc, float[] y, int off, int valid) {
    if (valid >= LANES) {
      acc.intoArray(y, off);
    } else if (valid > 0) {
      acc.intoArray(y, off, S.indexInRange(0, valid));
    }
  }
}
