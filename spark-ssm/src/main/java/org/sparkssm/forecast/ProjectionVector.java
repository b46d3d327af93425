package org.sparkssm.forecast;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel of a block of forecasts {@code out += X β} ({@link LinearForecaster}),
 * loaded only when {@link org.sparkssm.scan.VectorSupport#ENABLED}: X holds the features of
 * {@code count} windows (count × F), β the weights (F × H).
 *
 * <p>Why blocks: one window's forecast reads all of β (F · H doubles, 1 MB for {@code ssm} at
 * L = H = 336), which does not stay in cache from one window to the next, so a window at a time is
 * bound by memory. Here a strip of 2 · LANES columns of β (F × 16 doubles) stays in L2 while every
 * window of the block passes it, four windows at a time in eight vector registers.
 *
 * <p>Every element is {@code out[j, c]} followed by one fused multiply-add per feature in
 * ascending order, in the tiles, the narrow tiles and the scalar tail alike (and in
 * {@link LinearForecaster#projectScalar}): a window's forecast has the same bits whatever the
 * block it is in and whichever path computes it.
 */
final class ProjectionVector {
  private ProjectionVector() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  /** Windows per register tile. */
  private static final int TILE_ROWS = 4;
  /** Columns per register tile. */
  private static final int TILE_COLS = 2 * LANES;

  /** {@code out[outOff + j h + c] += Σ_i x[xOff + j f + i] · β[i h + c]} for {@code j < count}, {@code c < h}. */
  static void project(double[] x, int xOff, int count, int f, double[] beta, int h, double[] out, int outOff) {
    int c = 0;
    for (; c + TILE_COLS <= h; c += TILE_COLS) {
      int j = 0;
      for (; j + TILE_ROWS <= count; j += TILE_ROWS) {
        tile(x, xOff + j * f, f, beta, c, h, out, outOff + j * h + c);
      }
      for (; j < count; j++) {
        row(x, xOff + j * f, f, beta, c, h, out, outOff + j * h + c);
        row(x, xOff + j * f, f, beta, c + LANES, h, out, outOff + j * h + c + LANES);
      }
    }
    for (; c + LANES <= h; c += LANES) {
      for (int j = 0; j < count; j++) {
        row(x, xOff + j * f, f, beta, c, h, out, outOff + j * h + c);
      }
    }
    if (c < h) {
      for (int j = 0; j < count; j++) {
        LinearForecaster.projectScalar(x, xOff + j * f, 1, f, beta, h, c, h, out, outOff + j * h);
      }
    }
  }

  /** Four windows × 2 · LANES columns. */
  private static void tile(double[] x, int xOff, int f, double[] beta, int c, int h, double[] out, int oOff) {
    DoubleVector o00 = DoubleVector.fromArray(SPECIES, out, oOff);
    DoubleVector o01 = DoubleVector.fromArray(SPECIES, out, oOff + LANES);
    DoubleVector o10 = DoubleVector.fromArray(SPECIES, out, oOff + h);
    DoubleVector o11 = DoubleVector.fromArray(SPECIES, out, oOff + h + LANES);
    DoubleVector o20 = DoubleVector.fromArray(SPECIES, out, oOff + 2 * h);
    DoubleVector o21 = DoubleVector.fromArray(SPECIES, out, oOff + 2 * h + LANES);
    DoubleVector o30 = DoubleVector.fromArray(SPECIES, out, oOff + 3 * h);
    DoubleVector o31 = DoubleVector.fromArray(SPECIES, out, oOff + 3 * h + LANES);
    for (int i = 0; i < f; i++) {
      int b = i * h + c;
      DoubleVector b0 = DoubleVector.fromArray(SPECIES, beta, b);
      DoubleVector b1 = DoubleVector.fromArray(SPECIES, beta, b + LANES);
      DoubleVector x0 = DoubleVector.broadcast(SPECIES, x[xOff + i]);
      o00 = x0.fma(b0, o00);
      o01 = x0.fma(b1, o01);
      DoubleVector x1 = DoubleVector.broadcast(SPECIES, x[xOff + f + i]);
      o10 = x1.fma(b0, o10);
      o11 = x1.fma(b1, o11);
      DoubleVector x2 = DoubleVector.broadcast(SPECIES, x[xOff + 2 * f + i]);
      o20 = x2.fma(b0, o20);
      o21 = x2.fma(b1, o21);
      DoubleVector x3 = DoubleVector.broadcast(SPECIES, x[xOff + 3 * f + i]);
      o30 = x3.fma(b0, o30);
      o31 = x3.fma(b1, o31);
    }
    o00.intoArray(out, oOff);
    o01.intoArray(out, oOff + LANES);
    o10.intoArray(out, oOff + h);
    o11.intoArray(out, oOff + h + LANES);
    o20.intoArray(out, oOff + 2 * h);
    o21.intoArray(out, oOff + 2 * h + LANES);
    o30.intoArray(out, oOff + 3 * h);
    o31.intoArray(out, oOff + 3 * h + LANES);
  }

  /** One window × LANES columns. */
  private static void row(double[] x, int xOff, int f, double[] beta, int c, int h, double[] out, int oOff) {
    DoubleVector o = DoubleVector.fromArray(SPECIES, out, oOff);
    for (int i = 0; i < f; i++) {
      o = DoubleVector.broadcast(SPECIES, x[xOff + i]).fma(DoubleVector.fromArray(SPECIES, beta, i * h + c), o);
    }
    o.intoArray(out, oOff);
  }
}
