package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link SelectiveScan#scan32}: the vector path gives the scalar twin's bits, chunked scans give
 * the one-shot bits, and the result is the float64 {@link SelectiveScan#scan} of the same
 * (float-representable) inputs to within {@link Tolerances#F32_SCAN}.
 */
class SelectiveScan32Test {

  /** One of the float32 code paths, all with {@link SelectiveScan#scan32}'s signature. */
  @FunctionalInterface
  interface Kernel32 {
    void scan(SelectiveScan.Params p, float[] u, int uOff, float[] delta, int deltaOff, float[] B, int bOff,
        float[] C, int cOff, float[] z, int zOff, float[] y, int yOff, int L, float[] h);
  }

  private static final Kernel32 PUBLIC = SelectiveScan::scan32;
  private static final Kernel32 SCALAR = SelectiveScan::scanScalar32;
  // Null when the Vector API is off: evaluating the method reference would load the vector class.
  private static final Kernel32 VECTOR = VectorSupport.ENABLED ? vectorKernel() : null;

  private static final float SENTINEL = -12345f;

  private static Kernel32 vectorKernel() {
    return SelectiveScanVector::scan32;
  }

  /**
   * Mamba-like random inputs, every value a float (so the float64 scan sees the same inputs), each
   * sequence after a random pad of NaN so that offsets are exercised: A = -(1..N) per channel
   * (A_log = log(1..N)), Δ bias the inverse softplus of a log-uniform step in [1e-3, 0.1] and raw Δ
   * around 0 with spread 0.5 (so Δ after softplus stays within about [5e-4, 0.2]).
   */
  static final class Case {
    final int D;
    final int N;
    final int G;
    final int L;
    final SelectiveScan.Params p;
    final float[] u;
    final float[] delta;
    final float[] B;
    final float[] C;
    final float[] z; // null: no gate
    final int off; // the pad in front of every sequence
    final float[] h0;

    /** Variant 0: no options; 1: everything (Mamba's forward); 2: softplus and z; 3: D-skip and bias, no softplus. */
    Case(long seed, int D, int N, int G, int L, int variant) {
      SplittableRandom rnd = new SplittableRandom(seed);
      this.D = D;
      this.N = N;
      this.G = G;
      this.L = L;
      boolean softplus = variant == 1 || variant == 2;
      double[] a = new double[D * N];
      for (int i = 0; i < a.length; i++) {
        a[i] = -(i % N + 1.0); // -exp(A_log) for Mamba's A_log = log(1..N)
      }
      double[] dSkip = variant == 1 || variant == 3 ? floats(TestData.gaussian(rnd, D, 1.0)) : null;
      double[] bias = null;
      if (variant == 1 || variant == 3) {
        bias = new double[D];
        for (int d = 0; d < D; d++) {
          double dt = Math.exp(Math.log(1e-3) + (Math.log(0.1) - Math.log(1e-3)) * rnd.nextDouble());
          bias[d] = (float) (softplus ? dt + Math.log(-Math.expm1(-dt)) : dt);
        }
      }
      p = SelectiveScan.Params.of(D, N, G, a, dSkip, bias, softplus);
      off = rnd.nextInt(5);
      u = padded(TestData.gaussian(rnd, L * D, 1.0), rnd);
      // Without softplus, Δ = raw + bias must stay > 0: small positive raw values.
      delta = padded(softplus ? TestData.gaussian(rnd, L * D, 0.5) : TestData.uniform(rnd, L * D, 1e-3, 0.05), rnd);
      B = padded(TestData.gaussian(rnd, L * G * N, 1.0), rnd);
      C = padded(TestData.gaussian(rnd, L * G * N, 1.0), rnd);
      z = variant == 1 || variant == 2 ? padded(TestData.gaussian(rnd, L * D, 1.0), rnd) : null;
      h0 = new float[D * N];
      for (int i = 0; i < h0.length; i++) {
        h0[i] = (float) (0.1 * TestData.gaussian(rnd));
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
      Arrays.fill(out, Float.NaN); // reading outside the window would poison the result
      for (int i = 0; i < data.length; i++) {
        out[off + i] = (float) data[i];
      }
      return out;
    }

    /** Scans steps {@code [from, to)} with {@code kernel}, writing {@code y[yOff + t*D + d]}. */
    void run(Kernel32 kernel, int from, int to, float[] y, int yOff, float[] h) {
      kernel.scan(p, u, off + from * D, delta, off + from * D, B, off + from * G * N, C, off + from * G * N, z,
          off + from * D, y, yOff + from * D, to - from, h);
    }

    /** The float64 scan of the same inputs; {@code h} holds the initial state and receives the final one. */
    double[] float64(double[] h) {
      double[] y = new double[L * D];
      SelectiveScan.scan(p, FloatMath.toDouble(u, u.length), off, FloatMath.toDouble(delta, delta.length), off,
          FloatMath.toDouble(B, B.length), off, FloatMath.toDouble(C, C.length), off,
          z == null ? null : FloatMath.toDouble(z, z.length), off, y, 0, L, h);
      return y;
    }

    @Override
    public String toString() {
      return "D=" + D + " N=" + N + " G=" + G + " L=" + L + " skip=" + (p.dSkip() != null) + " bias="
          + (p.deltaBias() != null) + " softplus=" + p.deltaSoftplus() + " z=" + (z != null);
    }
  }


  private static void assertSameBits(String what, float[] expected, int eOff, float[] actual, int aOff, int n) {
    for (int i = 0; i < n; i++) {
      if (Float.floatToIntBits(expected[eOff + i]) != Float.floatToIntBits(actual[aOff + i])) {
        fail(String.format(java.util.Locale.ROOT, "%s: at index %d expected %s, got %s", what, i, expected[eOff + i],
            actual[aOff + i]));
      }
    }
  }

  /** y and the final state of one whole-sequence call, y inside sentinels that must stay untouched. */
  private static float[][] runWhole(Case c, Kernel32 kernel, String what) {
    int yOff = 2;
    float[] y = new float[yOff + c.L * c.D + 1];
    Arrays.fill(y, SENTINEL);
    float[] h = c.h0.clone();
    c.run(kernel, 0, c.L, y, yOff, h);
    assertEquals(SENTINEL, y[yOff - 1], what + ": wrote before its window");
    assertEquals(SENTINEL, y[yOff + c.L * c.D], what + ": wrote past its window");
    return new float[][] {Arrays.copyOfRange(y, yOff, yOff + c.L * c.D), h};
  }

  @Test
  void vectorPathGivesTheScalarTwinsBitsForEveryShapeAndOption() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "Vector API not enabled");
    // Groups with a whole number of vectors (1536), full vectors and tails (74 / 2 = 37, 100),
    // and groups smaller than a vector (8 / 2: the public entry takes the scalar path).
    int[][] shapes = {{1536, 16, 1, 40}, {74, 16, 2, 97}, {100, 4, 1, 64}, {37, 1, 1, 7}, {8, 16, 2, 5}};
    // Step sizes that make Δ·A leave exp's clamp-free range (the vector path's other branch):
    // huge, negative (no softplus: Δ·A > 0), infinite, signed zeros, NaN.
    float[] wild = {5000f, -3f, 1e30f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f, Float.NaN};
    for (int[] s : shapes) {
      for (int variant = 0; variant < 8; variant++) {
        Case c = new Case(31L * s[0] + s[1] + variant, s[0], s[1], s[2], s[3], variant % 4);
        if (variant >= 4) {
          SplittableRandom rnd = new SplittableRandom(variant);
          for (int k = 0; k < 2 * wild.length; k++) {
            c.delta[c.off + rnd.nextInt(c.L * c.D)] = wild[k % wild.length];
          }
        }
        float[][] scalar = runWhole(c, SCALAR, "scalar " + c);
        for (Kernel32 k : new Kernel32[] {VECTOR, PUBLIC}) {
          if (k == VECTOR && !SelectiveScanVector.fillsVector32(c.D / c.G)) {
            continue;
          }
          String what = (k == VECTOR ? "vector " : "public ") + c;
          float[][] got = runWhole(c, k, what);
          assertSameBits(what + " y", scalar[0], 0, got[0], 0, c.L * c.D);
          assertSameBits(what + " final h", scalar[1], 0, got[1], 0, c.D * c.N);
        }
      }
    }
  }

  /**
   * Against the float64 scan: relative to the size of y and h (their RMS), since y crosses zero.
   * Returns {max |y32 - y64| / rms(y64), max |h32 - h64| / rms(h64)}.
   */
  private static double[] float32Error(Case c) {
    double[] hRef = new double[c.D * c.N];
    for (int i = 0; i < hRef.length; i++) {
      hRef[i] = c.h0[i];
    }
    double[] yRef = c.float64(hRef);
    float[][] got = runWhole(c, PUBLIC, "public " + c);
    return new double[] {
        relativeToRms(c + " y", yRef, got[0]), relativeToRms(c + " final h", hRef, got[1])};
  }

  private static double relativeToRms(String what, double[] expected, float[] actual) {
    return Tolerances.assertCloseToRms(what, expected, FloatMath.toDouble(actual, actual.length), Tolerances.F32_SCAN);
  }

  @Test
  void matchesTheFloat64ScanAtMambaScaleForEveryLength() {
    // Mamba-130m's layer: D = 1536, N = 16, G = 1, with softplus, bias, D-skip and gate.
    for (int L : new int[] {1, 2, 7, 97, 250, 2048}) {
      Case c = new Case(2048L + L, 1536, 16, 1, L, 1);
      float32Error(c);
    }
  }

  @Test
  void matchesTheFloat64ScanOnOddShapesAndOptions() {
    int[][] shapes = {{74, 16, 2, 300}, {100, 4, 1, 500}, {37, 1, 1, 64}, {8, 16, 2, 200}, {96, 16, 2, 1000}};
    for (int[] s : shapes) {
      for (int variant = 0; variant < 4; variant++) {
        float32Error(new Case(7L * s[0] + s[3] + variant, s[0], s[1], s[2], s[3], variant));
      }
    }
  }

  @Test
  void chunkedScansGiveTheOneShotBits() {
    SplittableRandom rnd = new SplittableRandom(99);
    int[][] shapes = {{1536, 16, 1, 300}, {74, 16, 2, 97}, {8, 4, 2, 64}};
    for (int[] s : shapes) {
      Case c = new Case(rnd.nextLong(), s[0], s[1], s[2], s[3], rnd.nextInt(4));
      float[][] one = runWhole(c, PUBLIC, "one shot " + c);
      int[][] cutsList = {TestData.randomCuts(rnd, c.L, 9), TestData.fixedCuts(c.L, 1), TestData.fixedCuts(c.L, 7),
          TestData.fixedCuts(c.L, c.L + 5)};
      for (int[] cuts : cutsList) {
        float[] y = new float[c.L * c.D];
        float[] h = c.h0.clone();
        for (int i = 0; i + 1 < cuts.length; i++) {
          c.run(PUBLIC, cuts[i], cuts[i + 1], y, 0, h);
        }
        String what = c + " cuts " + Arrays.toString(cuts).substring(0, Math.min(60, Arrays.toString(cuts).length()));
        assertSameBits(what + " y", one[0], 0, y, 0, c.L * c.D);
        assertSameBits(what + " final h", one[1], 0, h, 0, c.D * c.N);
      }
    }
  }

  @Test
  void zeroLengthLeavesStateAndOutputAlone() {
    Case c = new Case(5, 32, 4, 2, 0, 1);
    float[] h = c.h0.clone();
    float[] y = {SENTINEL};
    c.run(PUBLIC, 0, 0, y, 0, h);
    assertSameBits("h", c.h0, 0, h, 0, h.length);
    assertEquals(SENTINEL, y[0]);
  }

  @Test
  void nanDeltaPoisonsOnlyItsChannelFromThatStepOn() {
    int D = 40;
    int N = 16;
    int L = 20;
    int badT = 7;
    for (int badD : new int[] {5, 37}) { // in a vector, in the scalar tail
      Case c = new Case(2024, D, N, 1, L, 1);
      c.delta[c.off + badT * D + badD] = Float.NaN;
      float[][] got = runWhole(c, PUBLIC, "public " + c);
      for (int t = 0; t < L; t++) {
        for (int d = 0; d < D; d++) {
          assertEquals(d == badD && t >= badT, Float.isNaN(got[0][t * D + d]), "y at t=" + t + " d=" + d);
        }
      }
      for (int i = 0; i < D * N; i++) {
        assertEquals(i / N == badD, Float.isNaN(got[1][i]), "h at " + i);
      }
    }
  }

  private static void assertRejects(String argument, String detail, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"), "message should name " + argument + ": " + e.getMessage());
    assertTrue(e.getMessage().contains(detail), "message should say '" + detail + "': " + e.getMessage());
  }

  @Test
  void rejectsBadSequencesAndParametersThatDoNotFitFloat32() {
    int D = 4;
    int N = 3;
    int G = 2;
    int L = 5;
    double[] a = new double[D * N];
    Arrays.fill(a, -1.0);
    SelectiveScan.Params p = SelectiveScan.Params.of(D, N, G, a, null, null, true);
    float[] u = new float[L * D];
    float[] dl = new float[L * D];
    float[] B = new float[L * G * N];
    float[] C = new float[L * G * N];
    float[] z = new float[L * D];
    float[] y = new float[L * D];
    float[] h = new float[D * N];
    SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h);
    SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, null, 99, y, 0, L, h); // no gate: zOff ignored

    assertRejects("p", "null", () -> SelectiveScan.scan32(null, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("L", ">= 0", () -> SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, -1, h));
    assertRejects("u", "20 elements from offset 1",
        () -> SelectiveScan.scan32(p, u, 1, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("delta", "null", () -> SelectiveScan.scan32(p, u, 0, null, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("B", "30 elements",
        () -> SelectiveScan.scan32(p, u, 0, dl, 0, new float[L * N], 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("C", "offset -1", () -> SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, -1, z, 0, y, 0, L, h));
    assertRejects("z", "offset 2", () -> SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, z, 2, y, 0, L, h));
    assertRejects("y", "null", () -> SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, z, 0, null, 0, L, h));
    assertRejects("h", "length 12 (D*N = 4*3)",
        () -> SelectiveScan.scan32(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, new float[D]));
    // Valid in float64, not in float32: -1e-60 rounds to -0 (no decay), -1e60 to -∞.
    for (double bad : new double[] {-1e-60, -1e60}) {
      double[] a2 = a.clone();
      a2[7] = bad;
      SelectiveScan.Params q = SelectiveScan.Params.of(D, N, G, a2, null, null, true);
      assertRejects("A", "float32", () -> SelectiveScan.scan32(q, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    }
  }
}
