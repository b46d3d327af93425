package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The packed float32 projection against its scalar twin (bit for bit, the determinism contract) and
 * against a float64 sum (within the float32 rounding bound), on shapes that hit every remainder of
 * the kernel: rows not a multiple of the 4-row tile nor of the 256-row block, out not a multiple of
 * the panel, in not a multiple of the k-block and smaller than a vector.
 */
class PackedLinearTest {
  /** Shapes (rows, out, in): remainders of every loop, Mamba-130m's x_proj, and one-token calls. */
  private static final int[][] SHAPES = {
      {1, 1, 1}, {1, 3, 5}, {2, 17, 3}, {7, 47, 15}, {8, 48, 16}, {9, 49, 17}, {17, 96, 255}, {16, 97, 256},
      {15, 150, 257}, {33, 80, 600}, {300, 37, 40}, {257, 65, 513}, {1, 3072, 7}, {24, 80, 1536},
  };

  @Test
  void vectorPathEqualsScalarTwinBitForBit() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int[] shape : SHAPES) {
      checkAgainstTwin(rnd, shape[0], shape[1], shape[2]);
    }
    for (int trial = 0; trial < 40; trial++) {
      checkAgainstTwin(rnd, 1 + rnd.nextInt(40), 1 + rnd.nextInt(130), 1 + rnd.nextInt(700));
    }
  }

  /** Offsets and sentinels around x and y: y outside its rows stays untouched, padding included. */
  private static void checkAgainstTwin(SplittableRandom rnd, int rows, int out, int in) {
    PackedLinear layer = PackedLinear.pack(gaussian(rnd, 3 + out * in), 3, out, in);
    float[] x = gaussian(rnd, 5 + rows * in + 2);
    int yOff = 4;
    float[] y = filled(yOff + rows * out + 3, Float.NaN);
    float[] twin = filled(y.length, Float.NaN);
    layer.xWt(x, 5, rows, y, yOff);
    layer.xWtScalar(x, 5, rows, twin, yOff);
    String what = String.format(Locale.ROOT, "rows %d, out %d, in %d", rows, out, in);
    assertSameBits(what, twin, y);
    for (int k = 0; k < yOff; k++) {
      assertTrue(Float.isNaN(y[k]), what + ": y before yOff written at " + k);
    }
    for (int k = yOff + rows * out; k < y.length; k++) {
      assertTrue(Float.isNaN(y[k]), what + ": y after the last row written at " + k);
    }
  }

  @Test
  void aRowsResultDoesNotDependOnTheRowsSharingItsCall() {
    SplittableRandom rnd = new SplittableRandom(12);
    int rows = 37;
    int out = 100;
    int in = 300;
    PackedLinear layer = PackedLinear.pack(gaussian(rnd, out * in), 0, out, in);
    float[] x = gaussian(rnd, rows * in);
    float[] all = new float[rows * out];
    layer.xWt(x, 0, rows, all, 0);
    float[] split = new float[rows * out];
    int[] cuts = {0, 1, 4, 13, 21, 29, 37}; // tiles of 4 and the one-row remainder, in different places
    for (int c = 0; c + 1 < cuts.length; c++) {
      layer.xWt(x, cuts[c] * in, cuts[c + 1] - cuts[c], split, cuts[c] * out);
    }
    assertSameBits("37 rows in one call vs. split calls", all, split);
  }

  /**
   * Against a float64 sum of the same float32 inputs (their products are exact in float64, and the
   * float64 sum's own error, about in · 2⁻⁵³, is negligible here). A float32 recursive sum of n
   * products with FMA rounds once per step, so its error is at most γ_n Σ_i |x_i W_oi| with
   * γ_n = n u / (1 - n u), u = 2⁻²⁴ (Higham, Accuracy and Stability, 3.1): for in = 1536 that is
   * 9.2e-5 of Σ|x w|. The bound is relative to Σ|x w|, not to |y|, because y can cancel to near zero.
   */
  @Test
  void matchesFloat64SumWithinFloat32RoundingBound() {
    SplittableRandom rnd = new SplittableRandom(13);
    int[][] shapes = {{24, 80, 1536}, {9, 3072, 768}, {5, 768, 1536}, {33, 150, 257}, {3, 7, 2}};
    for (int[] shape : shapes) {
      int rows = shape[0];
      int out = shape[1];
      int in = shape[2];
      float[] w = gaussian(rnd, out * in);
      float[] x = gaussian(rnd, rows * in);
      float[] y = new float[rows * out];
      PackedLinear.pack(w, 0, out, in).xWt(x, 0, rows, y, 0);
      double nu = in * 0x1p-24;
      double gamma = nu / (1 - nu);
      for (int r = 0; r < rows; r++) {
        for (int o = 0; o < out; o++) {
          double sum = 0;
          double absSum = 0;
          for (int i = 0; i < in; i++) {
            double p = (double) x[r * in + i] * w[o * in + i];
            sum += p;
            absSum += Math.abs(p);
          }
          double err = Math.abs(y[r * out + o] - sum);
          if (!(err <= gamma * absSum + Float.MIN_VALUE)) {
            fail(String.format(Locale.ROOT, "(%d, %d, %d) at row %d, output %d: float64 %.9g, float32 %.9g, "
                + "error %.3g > bound %.3g", rows, out, in, r, o, sum, y[r * out + o], err, gamma * absSum));
          }
        }
      }
    }
  }

  @Test
  void doubleActivationsGoThroughTheFloatKernelInChunksOfTheScratch() {
    SplittableRandom rnd = new SplittableRandom(14);
    int rows = 19;
    int out = 53;
    int in = 70;
    double[] w = new double[out * in];
    for (int k = 0; k < w.length; k++) {
      w[k] = rnd.nextGaussian();
    }
    PackedLinear layer = PackedLinear.pack(w, 0, out, in);
    double[] x = new double[2 + rows * in];
    float[] xf = new float[rows * in];
    for (int k = 0; k < rows * in; k++) {
      x[2 + k] = rnd.nextGaussian();
      xf[k] = (float) x[2 + k];
    }
    float[] expected = new float[rows * out];
    layer.xWt(xf, 0, rows, expected, 0);
    // Scratch for all rows, for one row, and for 3 rows (x) but 5 rows (y): the smaller one sets the chunk.
    int[][] scratchRows = {{rows, rows}, {1, 1}, {3, 5}};
    for (int[] s : scratchRows) {
      double[] y = new double[1 + rows * out];
      layer.xWt(x, 2, rows, y, 1, new float[s[0] * in], new float[s[1] * out]);
      for (int k = 0; k < rows * out; k++) {
        if (y[1 + k] != expected[k]) {
          fail("scratch of " + s[0] + "/" + s[1] + " rows at " + k + ": expected " + expected[k] + ", got " + y[1 + k]);
        }
      }
    }
    assertThrows(IllegalArgumentException.class,
        () -> layer.xWt(x, 2, rows, new double[rows * out], 0, new float[in - 1], new float[out]));
  }

  @Test
  void packingDoublesRoundsEachWeightToFloat32() {
    SplittableRandom rnd = new SplittableRandom(15);
    int out = 33;
    int in = 21;
    double[] w = new double[out * in];
    float[] wf = new float[out * in];
    for (int k = 0; k < w.length; k++) {
      w[k] = rnd.nextGaussian();
      wf[k] = (float) w[k];
    }
    float[] x = gaussian(rnd, 4 * in);
    float[] fromDouble = new float[4 * out];
    float[] fromFloat = new float[4 * out];
    PackedLinear.pack(w, 0, out, in).xWt(x, 0, 4, fromDouble, 0);
    PackedLinear.pack(wf, 0, out, in).xWt(x, 0, 4, fromFloat, 0);
    assertSameBits("packed from double vs. float", fromFloat, fromDouble);
    double[] unpacked = PackedLinear.pack(w, 0, out, in).unpack(); // the float32 weights, row-major, widened
    for (int k = 0; k < w.length; k++) {
      assertEquals((double) wf[k], unpacked[k], 0.0, "unpacked weight " + k);
    }
  }

  @Test
  void serializedLayerIsPackedAgainAndComputesTheSame() throws Exception {
    SplittableRandom rnd = new SplittableRandom(16);
    PackedLinear layer = PackedLinear.pack(gaussian(rnd, 50 * 30), 0, 50, 30);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream os = new ObjectOutputStream(bytes)) {
      os.writeObject(layer);
    }
    PackedLinear copy;
    try (ObjectInputStream is = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      copy = (PackedLinear) is.readObject();
    }
    assertEquals(50, copy.out());
    assertEquals(30, copy.in());
    float[] x = gaussian(rnd, 3 * 30);
    float[] y = new float[3 * 50];
    float[] yCopy = new float[3 * 50];
    layer.xWt(x, 0, 3, y, 0);
    copy.xWt(x, 0, 3, yCopy, 0);
    assertSameBits("deserialized copy", y, yCopy);
  }

  @Test
  void shapesAndRangesAreCheckedAtTheBoundary() {
    float[] w = new float[12];
    assertThrows(IllegalArgumentException.class, () -> PackedLinear.pack(w, 0, 0, 4));
    assertThrows(IllegalArgumentException.class, () -> PackedLinear.pack(w, 0, 3, 0));
    assertThrows(IllegalArgumentException.class, () -> PackedLinear.pack(w, 1, 3, 4));
    PackedLinear layer = PackedLinear.pack(w, 0, 3, 4);
    assertThrows(IllegalArgumentException.class, () -> layer.xWt(new float[7], 0, 2, new float[6], 0));
    assertThrows(IllegalArgumentException.class, () -> layer.xWt(new float[8], 0, 2, new float[6], 1));
    assertThrows(IllegalArgumentException.class, () -> layer.xWt(new float[8], 0, -1, new float[6], 0));
    layer.xWt(new float[8], 0, 0, new float[0], 0); // zero rows: nothing to do
  }

  private static void assertSameBits(String what, float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int k = 0; k < expected.length; k++) {
      if (Float.floatToRawIntBits(expected[k]) != Float.floatToRawIntBits(actual[k])) {
        fail(String.format(Locale.ROOT, "%s: at index %d expected %s, got %s (diff %.3g)", what, k, expected[k],
            actual[k], Math.abs(expected[k] - actual[k])));
      }
    }
  }

  private static float[] gaussian(SplittableRandom rnd, int n) {
    float[] a = new float[n];
    for (int k = 0; k < n; k++) {
      a[k] = (float) rnd.nextGaussian();
    }
    return a;
  }

  private static float[] filled(int n, float value) {
    float[] a = new float[n];
    java.util.Arrays.fill(a, value);
    return a;
  }
}
