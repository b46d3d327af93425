package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link SsdScan#scan32}, float32 and float64 state: the vector primitives give the scalar twins'
 * bits, the result is the float64 {@link SsdScan#scan} of the same (float-representable) inputs
 * within {@link Tolerances#F32_SSD}, and a sequence scanned in pieces with the carried state equals
 * the one-shot scan within {@link Tolerances#F32_SSD_CHUNKED}.
 */
class SsdScan32Test {
  private static final float SENTINEL = -12345f;

  /**
   * Shapes {H, P, N, G, L, Q}: the golden Mamba-2 (H = 4, P = 16, N = 8, G = 2, Q = 16), a
   * Mamba-2-sized head (P = 64, N = 64 or 128, Q = 256, up to L = 1024), three groups with a P that
   * is no multiple of a vector, and small odd ones. No L is a multiple of its Q but one.
   */
  private static final int[][] SHAPES = {
      {4, 16, 8, 2, 300, 16}, {8, 64, 64, 1, 1024, 256}, {2, 64, 128, 2, 513, 128}, {6, 24, 16, 3, 777, 64},
      {3, 5, 3, 1, 97, 7}, {1, 1, 1, 1, 40, 1}, {2, 8, 4, 1, 50, 64}};

  /**
   * Mamba-2-like random inputs, every value a float, each sequence after a random pad of NaN (read
   * outside its window, it would poison the result). {@code mamba}: A = -exp(A_log) with A in
   * [-16, -1], softplus(dt + bias) mostly in [0.001, 0.5], Dskip; else A in [-2, -0.05], Δ = dt in
   * [0, 0.3], no skip.
   */
  static final class Case {
    final SsdScan.Params params;
    final int length;
    final int q;
    final int off;
    final float[] x;
    final float[] dt;
    final float[] b;
    final float[] c;
    final float[] h0;

    Case(long seed, int[] shape, boolean mamba) {
      SplittableRandom rnd = new SplittableRandom(seed);
      int heads = shape[0];
      int pDim = shape[1];
      int nDim = shape[2];
      int groups = shape[3];
      length = shape[4];
      q = shape[5];
      if (mamba) {
        double[] aLog = TestData.uniform(rnd, heads, 0.0, Math.log(16));
        params = SsdScan.Params.of(heads, pDim, nDim, groups, floats(SsdScan.aFromLog(aLog)),
            floats(TestData.gaussian(rnd, heads, 1.0)), floats(TestData.uniform(rnd, heads, -5.0, -1.0)), true);
      } else {
        params = SsdScan.Params.of(heads, pDim, nDim, groups, floats(TestData.uniform(rnd, heads, -2.0, -0.05)),
            null, null, false);
      }
      off = rnd.nextInt(5);
      x = padded(TestData.gaussian(rnd, length * heads * pDim, 1.0), rnd);
      dt = padded(mamba ? TestData.gaussian(rnd, length * heads, 1.0) : TestData.uniform(rnd, length * heads, 0, 0.3),
          rnd);
      b = padded(TestData.gaussian(rnd, length * groups * nDim, 1.0), rnd);
      c = padded(TestData.gaussian(rnd, length * groups * nDim, 1.0), rnd);
      h0 = new float[params.stateLength()];
      for (int i = 0; i < h0.length; i++) {
        h0[i] = (float) TestData.gaussian(rnd);
      }
    }

    private static double[] floats(double[] values) {
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) values[i];
      }
      return values;
    }

    private float[] padded(double[] data, SplittableRandom rnd) {
      float[] out = new float[off + data.length + rnd.nextInt(4)];
      Arrays.fill(out, Float.NaN);
      for (int i = 0; i < data.length; i++) {
        out[off + i] = (float) data[i];
      }
      return out;
    }

    int hp() {
      return params.heads() * params.headDim();
    }

    int gn() {
      return params.groups() * params.stateSize();
    }

    /**
     * Scans steps {@code [from, to)}, y at {@code y[yOff + t*H*P ..]}, with the public entry
     * ({@code vector} null) or the kernel on the chosen path; {@code state} is float[] or double[].
     */
    void run(Boolean vector, int from, int to, float[] y, int yOff, Object state, SsdScan.Workspace32 ws) {
      int len = to - from;
      int xAt = off + from * hp();
      int dtAt = off + from * params.heads();
      int bcAt = off + from * gn();
      int yAt = yOff + from * hp();
      if (vector == null && state instanceof float[]) {
        SsdScan.scan32(params, len, q, x, xAt, dt, dtAt, b, bcAt, c, bcAt, y, yAt, (float[]) state, ws);
      } else if (vector == null) {
        SsdScan.scan32(params, len, q, x, xAt, dt, dtAt, b, bcAt, c, bcAt, y, yAt, (double[]) state, ws);
      } else if (len > 0) {
        SsdScan32.chunked(params, len, Math.min(q, len), x, xAt, dt, dtAt, b, bcAt, c, bcAt, y, yAt,
            state instanceof float[] ? (float[]) state : null, state instanceof double[] ? (double[]) state : null, ws,
            vector);
      }
    }

    /** The float64 scan of the same inputs; {@code state} holds h0 widened and receives the final state. */
    double[] float64(double[] state) {
      double[] y = new double[length * hp()];
      SsdScan.scan(params, length, q, FloatMath.toDouble(x, x.length), off, FloatMath.toDouble(dt, dt.length), off,
          FloatMath.toDouble(b, b.length), off, FloatMath.toDouble(c, c.length), off, y, 0, state);
      return y;
    }

    Object initialState(boolean wide) {
      return wide ? FloatMath.toDouble(h0, h0.length) : h0.clone();
    }

    @Override
    public String toString() {
      return params + " L=" + length + " Q=" + q;
    }
  }

  /** y and the final state (as double[]) of one whole-sequence call, y inside sentinels that must stay untouched. */
  private static double[][] runWhole(Case k, Boolean vector, boolean wide, SsdScan.Workspace32 ws) {
    int yOff = 3;
    int n = k.length * k.hp();
    float[] y = new float[yOff + n + 1];
    Arrays.fill(y, SENTINEL);
    Object state = k.initialState(wide);
    k.run(vector, 0, k.length, y, yOff, state, ws);
    assertEquals(SENTINEL, y[yOff - 1], k + ": wrote before its window");
    assertEquals(SENTINEL, y[yOff + n], k + ": wrote past its window");
    return new double[][] {FloatMath.toDouble(Arrays.copyOfRange(y, yOff, yOff + n), n), asDouble(state)};
  }

  private static double[] asDouble(Object state) {
    return state instanceof double[] ? (double[]) state : FloatMath.toDouble((float[]) state, ((float[]) state).length);
  }

  private static void assertSameBits(String what, double[] expected, double[] actual) {
    assertEquals(expected.length, actual.length, what + " length");
    for (int i = 0; i < expected.length; i++) {
      if (Double.doubleToLongBits(expected[i]) != Double.doubleToLongBits(actual[i])) {
        fail(String.format(Locale.ROOT, "%s: at index %d expected %s, got %s", what, i, expected[i], actual[i]));
      }
    }
  }

  @Test
  void vectorPrimitivesGiveTheScalarTwinsBits() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "Vector API not enabled");
    SsdScan.Workspace32 ws = new SsdScan.Workspace32();
    for (int s = 0; s < SHAPES.length; s++) {
      for (boolean mamba : new boolean[] {true, false}) {
        Case k = new Case(17L * s + (mamba ? 1 : 0), SHAPES[s], mamba);
        for (boolean wide : new boolean[] {false, true}) {
          String what = k + (wide ? " state64" : " state32");
          double[][] scalar = runWhole(k, false, wide, ws);
          double[][] vector = runWhole(k, true, wide, ws);
          double[][] pub = runWhole(k, null, wide, new SsdScan.Workspace32());
          assertSameBits(what + " vector y", scalar[0], vector[0]);
          assertSameBits(what + " vector final state", scalar[1], vector[1]);
          assertSameBits(what + " public y", scalar[0], pub[0]);
          assertSameBits(what + " public final state", scalar[1], pub[1]);
        }
      }
    }
  }

  @Test
  void matchesTheFloat64ScanWithinTheFloat32Bound() {
    SsdScan.Workspace32 ws = new SsdScan.Workspace32(); // one for every shape: grows and shrinks its use
    for (int s = 0; s < SHAPES.length; s++) {
      for (boolean mamba : new boolean[] {true, false}) {
        Case k = new Case(31L * s + (mamba ? 1 : 0), SHAPES[s], mamba);
        double[] refState = FloatMath.toDouble(k.h0, k.h0.length);
        double[] refY = k.float64(refState);
        for (boolean wide : new boolean[] {false, true}) {
          String what = k + (wide ? " state64" : " state32");
          double[][] got = runWhole(k, null, wide, ws);
          Tolerances.assertCloseToRms(what + " y", refY, got[0], Tolerances.F32_SSD);
          Tolerances.assertCloseToRms(what + " final state", refState, got[1], Tolerances.F32_SSD);
          // Computed in float32, not float64 rounded at the end: some outputs differ from that.
          int differ = 0;
          for (int i = 0; i < refY.length; i++) {
            differ += (float) refY[i] != (float) got[0][i] ? 1 : 0;
          }
          assertTrue(differ > 0, what + ": every y is float64's rounded to float32");
        }
      }
    }
  }

  @Test
  void piecesWithACarriedStateEqualTheOneShotScan() {
    SplittableRandom rnd = new SplittableRandom(2025);
    SsdScan.Workspace32 ws = new SsdScan.Workspace32();
    for (int s = 0; s < SHAPES.length; s++) {
      Case k = new Case(rnd.nextLong(), SHAPES[s], s % 2 == 0);
      for (boolean wide : new boolean[] {false, true}) {
        double[][] one = runWhole(k, null, wide, ws);
        int[][] cutsList = {TestData.randomCuts(rnd, k.length, 9), TestData.fixedCuts(k.length, 1 + rnd.nextInt(40)),
            TestData.fixedCuts(k.length, k.q)};
        for (int c = 0; c < cutsList.length; c++) {
          int[] cuts = cutsList[c];
          float[] y = new float[k.length * k.hp()];
          Object state = k.initialState(wide);
          for (int i = 0; i + 1 < cuts.length; i++) {
            k.run(null, cuts[i], cuts[i + 1], y, 0, state, ws);
          }
          String what = k + (wide ? " state64" : " state32") + " cuts " + cuts.length;
          double[] yPieces = FloatMath.toDouble(y, y.length);
          if (c == 2) {
            // Cut at the block boundaries: the same blocks, the same operations.
            assertSameBits(what + " y", one[0], yPieces);
            assertSameBits(what + " final state", one[1], asDouble(state));
          } else {
            Tolerances.assertCloseToRms(what + " y", one[0], yPieces, Tolerances.F32_SSD_CHUNKED);
            Tolerances.assertCloseToRms(what + " final state", one[1], asDouble(state), Tolerances.F32_SSD_CHUNKED);
          }
        }
      }
    }
  }

  @Test
  void zeroLengthLeavesStateAndOutputAlone() {
    Case k = new Case(5, new int[] {2, 4, 3, 1, 0, 8}, true);
    for (boolean wide : new boolean[] {false, true}) {
      Object state = k.initialState(wide);
      float[] y = {SENTINEL};
      k.run(null, 0, 0, y, 0, state, new SsdScan.Workspace32());
      assertSameBits("state", FloatMath.toDouble(k.h0, k.h0.length), asDouble(state));
      assertEquals(SENTINEL, y[0]);
    }
  }

  private static void assertRejects(String argument, String detail, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"), "message should name " + argument + ": " + e.getMessage());
    assertTrue(e.getMessage().contains(detail), "message should say '" + detail + "': " + e.getMessage());
  }

  @Test
  void rejectsBadArgumentsAndParametersThatDoNotFitFloat32() {
    int heads = 2;
    int pDim = 3;
    int nDim = 4;
    int len = 5;
    SsdScan.Params p = SsdScan.Params.of(heads, pDim, nDim, 1, new double[] {-1, -2}, null, null, true);
    float[] x = new float[len * heads * pDim];
    float[] dt = new float[len * heads];
    float[] bc = new float[len * nDim];
    float[] y = new float[x.length];
    float[] s32 = new float[p.stateLength()];
    double[] s64 = new double[p.stateLength()];
    SsdScan.Workspace32 ws = new SsdScan.Workspace32();
    SsdScan.scan32(p, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s32, ws);
    SsdScan.scan32(p, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s64, ws);

    assertRejects("params", "null", () -> SsdScan.scan32(null, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s32, ws));
    assertRejects("ws", "null", () -> SsdScan.scan32(p, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s32, null));
    assertRejects("blockLength", "", () -> SsdScan.scan32(p, len, 0, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s32, ws));
    assertRejects("x", "offset 1", () -> SsdScan.scan32(p, len, 2, x, 1, dt, 0, bc, 0, bc, 0, y, 0, s32, ws));
    assertRejects("state", "H*P*N = 2*3*4",
        () -> SsdScan.scan32(p, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, new double[3], ws));
    assertRejects("y", "overlap x", () -> SsdScan.scan32(p, len, 2, x, 0, dt, 0, bc, 0, bc, 0, x, 0, s32, ws));
    float[] bad = dt.clone();
    bad[7] = Float.NaN;
    assertRejects("dt", "step 3, head 1", () -> SsdScan.scan32(p, len, 2, x, 0, bad, 0, bc, 0, bc, 0, y, 0, s32, ws));
    SsdScan.Params plain = SsdScan.Params.of(heads, pDim, nDim, 1, new double[] {-1, -2}, null, null, false);
    bad[7] = -1e-3f;
    assertRejects("dt", "Δ >= 0", () -> SsdScan.scan32(plain, len, 2, x, 0, bad, 0, bc, 0, bc, 0, y, 0, s64, ws));
    // Valid in float64, not in float32: -1e-60 rounds to -0 (no decay), -1e60 to -∞.
    for (double a : new double[] {-1e-60, -1e60}) {
      SsdScan.Params q = SsdScan.Params.of(heads, pDim, nDim, 1, new double[] {-1, a}, null, null, true);
      assertRejects("A", "float32", () -> SsdScan.scan32(q, len, 2, x, 0, dt, 0, bc, 0, bc, 0, y, 0, s32, ws));
    }
  }
}
