package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkssm.scan.reference.SelectiveScanReference;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class SelectiveScanTest {

  /** One of the code paths under test, all with {@link SelectiveScan#scan}'s signature. */
  @FunctionalInterface
  interface Kernel {
    void scan(SelectiveScan.Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B, int bOff,
        double[] C, int cOff, double[] z, int zOff, double[] y, int yOff, int L, double[] h);
  }

  private static final Kernel PUBLIC = SelectiveScan::scan;
  private static final Kernel SCALAR = SelectiveScan::scanScalar;
  // Null when the Vector API is off: evaluating the method reference would load the vector class.
  private static final Kernel VECTOR = VectorSupport.ENABLED ? vectorKernel() : null;

  private static final double SENTINEL = -12345.0;

  private static Kernel vectorKernel() {
    return SelectiveScanVector::scan;
  }

  /** Random inputs, each sequence stored after a random pad so that offsets are exercised. */
  static final class Case {
    final int D;
    final int N;
    final int G;
    final int L;
    final SelectiveScan.Params p;
    final double[] A;
    final double[] dSkip;
    final double[] bias;
    final boolean softplus;
    final double[] u;
    final double[] delta;
    final double[] B;
    final double[] C;
    final double[] z; // null: no gate
    final int uOff;
    final int deltaOff;
    final int bOff;
    final int cOff;
    final int zOff;
    final double[] h0;

    /** Variant 0: no options; 1: everything; 2: softplus and z; 3: D-skip and bias without softplus. */
    Case(long seed, int D, int N, int G, int L, int variant) {
      SplittableRandom rnd = new SplittableRandom(seed);
      this.D = D;
      this.N = N;
      this.G = G;
      this.L = L;
      boolean withSkip = variant == 1 || variant == 3;
      boolean withBias = variant == 1 || variant == 3;
      boolean withZ = variant == 1 || variant == 2;
      softplus = variant == 1 || variant == 2;
      A = TestData.uniform(rnd, D * N, -4.0, -0.05);
      dSkip = withSkip ? TestData.gaussian(rnd, D, 1.0) : null;
      bias = withBias ? TestData.uniform(rnd, D, -0.05, 0.1) : null;
      p = SelectiveScan.Params.of(D, N, G, A, dSkip, bias, softplus);
      uOff = rnd.nextInt(6);
      deltaOff = rnd.nextInt(6);
      bOff = rnd.nextInt(6);
      cOff = rnd.nextInt(6);
      zOff = rnd.nextInt(6);
      u = padded(TestData.gaussian(rnd, L * D, 1.0), uOff, rnd);
      // Raw Δ: around 0 through softplus (some past its threshold 20), small and positive without.
      double[] raw = softplus ? TestData.gaussian(rnd, L * D, 2.0) : TestData.uniform(rnd, L * D, 0.001, 0.3);
      if (softplus && L * D > 3) {
        raw[rnd.nextInt(L * D)] = 20.5;
        raw[rnd.nextInt(L * D)] = -30.0;
      }
      delta = padded(raw, deltaOff, rnd);
      B = padded(TestData.gaussian(rnd, L * G * N, 1.0), bOff, rnd);
      C = padded(TestData.gaussian(rnd, L * G * N, 1.0), cOff, rnd);
      z = withZ ? padded(TestData.gaussian(rnd, L * D, 2.0), zOff, rnd) : null;
      h0 = TestData.gaussian(rnd, D * N, 1.0);
    }

    private static double[] padded(double[] data, int off, SplittableRandom rnd) {
      double[] a = new double[off + data.length + rnd.nextInt(4)];
      java.util.Arrays.fill(a, Double.NaN); // reading outside the window would poison the result
      System.arraycopy(data, 0, a, off, data.length);
      return a;
    }

    private static double[] window(double[] a, int off, int n) {
      return a == null ? null : java.util.Arrays.copyOfRange(a, off, off + n);
    }

    /** Reference output; {@code h} holds the initial state and receives the final one. */
    double[] reference(double[] h) {
      return SelectiveScanReference.scan(D, N, G, A, dSkip, bias, softplus, window(u, uOff, L * D),
          window(delta, deltaOff, L * D), window(B, bOff, L * G * N), window(C, cOff, L * G * N),
          window(z, zOff, L * D), L, h);
    }

    /** Scans steps {@code [from, to)} with {@code kernel}, writing {@code y[yOff + t*D + d]}. */
    void run(Kernel kernel, int from, int to, double[] y, int yOff, double[] h) {
      int n = to - from;
      kernel.scan(p, u, uOff + from * D, delta, deltaOff + from * D, B, bOff + from * G * N, C,
          cOff + from * G * N, z, zOff + from * D, y, yOff + from * D, n, h);
    }

    ChunkSummary summarize(int from, int to) {
      return SelectiveScan.summarize(p, u, uOff + from * D, delta, deltaOff + from * D, B, bOff + from * G * N,
          to - from);
    }

    @Override
    public String toString() {
      return "D=" + D + " N=" + N + " G=" + G + " L=" + L + " skip=" + (dSkip != null) + " bias=" + (bias != null)
          + " softplus=" + softplus + " z=" + (z != null);
    }
  }

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    for (int D : new int[] {1, 3, 8, 10}) {
      for (int N : new int[] {1, 4, 16}) {
        for (int G : new int[] {1, 2}) {
          if (D % G == 0) {
            out.add(Arguments.of(D, N, G));
          }
        }
      }
    }
    return out.stream();
  }

  private static List<Kernel> kernels() {
    List<Kernel> ks = new ArrayList<>(List.of(PUBLIC, SCALAR));
    if (VectorSupport.ENABLED) {
      ks.add(VECTOR);
    }
    return ks;
  }

  private static String name(Kernel k) {
    return k == PUBLIC ? "public" : k == SCALAR ? "scalar" : "vector";
  }

  private static void checkAgainstReference(Case c, Kernel kernel, String what) {
    double[] hRef = c.h0.clone();
    double[] yRef = c.reference(hRef);
    int yOff = 3;
    double[] y = new double[yOff + c.L * c.D + 2];
    java.util.Arrays.fill(y, SENTINEL);
    double[] h = c.h0.clone();
    c.run(kernel, 0, c.L, y, yOff, h);
    assertClose(what + " y", yRef, 0, y, yOff, c.L * c.D, Tolerances.F64);
    assertClose(what + " final h", hRef, h, Tolerances.F64);
    assertEquals(SENTINEL, y[yOff - 1], what + ": wrote before its window");
    assertEquals(SENTINEL, y[yOff + c.L * c.D], what + ": wrote past its window");
  }

  @ParameterizedTest(name = "D={0} N={1} G={2}")
  @MethodSource("shapes")
  void matchesReference(int D, int N, int G) {
    long seed = 1000L * D + 100L * N + G;
    for (int L : TestData.LENGTHS) {
      for (int variant = 0; variant < 4; variant++) {
        Case c = new Case(seed + 7L * L + variant, D, N, G, L, variant);
        for (Kernel k : kernels()) {
          checkAgainstReference(c, k, name(k) + " " + c);
        }
      }
    }
  }

  @Test
  void vectorPathCoversFullVectorsAndTails() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "Vector API not enabled");
    // D/G = 37: full vectors and a tail of every lane count, in each of two groups.
    for (int variant = 0; variant < 4; variant++) {
      Case c = new Case(4242 + variant, 74, 16, 2, 97, variant);
      checkAgainstReference(c, VECTOR, "vector " + c);
      checkAgainstReference(c, PUBLIC, "public " + c);
    }
  }

  @Test
  void zeroLengthLeavesStateAndOutputAlone() {
    Case c = new Case(5, 8, 4, 2, 0, 1);
    for (Kernel k : kernels()) {
      double[] h = c.h0.clone();
      double[] y = {SENTINEL};
      c.run(k, 0, 0, y, 0, h);
      assertArrayEquals(c.h0, h, name(k));
      assertEquals(SENTINEL, y[0], name(k));
    }
  }

  @Test
  void realisticMambaScale() {
    // d_inner 64, d_state 16, 300 steps, initialized as Mamba does: A = -(1..N), D-skip = 1,
    // dt bias = softplus^-1(dt) with dt log-uniform in [0.001, 0.1], softplus and the z gate on.
    int D = 64;
    int N = 16;
    int L = 300;
    SplittableRandom rnd = new SplittableRandom(64_16_300);
    double[] aLog = new double[D * N];
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        aLog[d * N + n] = Math.log(n + 1.0);
      }
    }
    double[] dSkip = new double[D];
    java.util.Arrays.fill(dSkip, 1.0);
    double[] bias = new double[D];
    for (int d = 0; d < D; d++) {
      double dt = Math.exp(Math.log(0.001) + (Math.log(0.1) - Math.log(0.001)) * rnd.nextDouble());
      bias[d] = dt + Math.log(-Math.expm1(-dt)); // inverse softplus
    }
    for (int G : new int[] {1, 2}) {
      SelectiveScan.Params p = SelectiveScan.Params.fromALog(D, N, G, aLog, dSkip, bias, true);
      double[] u = TestData.gaussian(rnd, L * D, 1.0);
      double[] delta = TestData.gaussian(rnd, L * D, 0.5);
      double[] B = TestData.gaussian(rnd, L * G * N, 1.0);
      double[] C = TestData.gaussian(rnd, L * G * N, 1.0);
      double[] z = TestData.gaussian(rnd, L * D, 1.0);
      double[] hRef = TestData.gaussian(rnd, D * N, 0.1);
      double[] h0 = hRef.clone();
      double[] yRef = SelectiveScanReference.scan(D, N, G, p.a(), dSkip, bias, true, u, delta, B, C, z, L, hRef);
      for (Kernel k : kernels()) {
        double[] h = h0.clone();
        double[] y = new double[L * D];
        k.scan(p, u, 0, delta, 0, B, 0, C, 0, z, 0, y, 0, L, h);
        assertClose(name(k) + " G=" + G + " y", yRef, y, Tolerances.F64);
        assertClose(name(k) + " G=" + G + " final h", hRef, h, Tolerances.F64);
      }
    }
  }

  /** Scans {@code c} piece by piece at {@code cuts} with one carried h; compares with one shot. */
  private static void checkPieces(Case c, Kernel kernel, int[] cuts, String what) {
    double[] hOne = c.h0.clone();
    double[] yOne = new double[c.L * c.D];
    c.run(kernel, 0, c.L, yOne, 0, hOne);
    double[] h = c.h0.clone();
    double[] y = new double[c.L * c.D];
    for (int i = 0; i + 1 < cuts.length; i++) {
      c.run(kernel, cuts[i], cuts[i + 1], y, 0, h);
    }
    assertClose(what + " y", yOne, y, Tolerances.CHUNKED);
    assertClose(what + " final h", hOne, h, Tolerances.CHUNKED);
  }

  @ParameterizedTest(name = "D={0} N={1} G={2}")
  @MethodSource("shapes")
  void chunkedEqualsOneShot(int D, int N, int G) {
    SplittableRandom rnd = new SplittableRandom(77L * D + 13L * N + G);
    for (int L : TestData.LENGTHS) {
      Case c = new Case(rnd.nextLong(), D, N, G, L, rnd.nextInt(4));
      for (Kernel k : kernels()) {
        String what = name(k) + " " + c;
        checkPieces(c, k, TestData.randomCuts(rnd, L, 8), what + " random cuts");
        checkPieces(c, k, TestData.fixedCuts(L, 1), what + " chunk 1");
        checkPieces(c, k, TestData.fixedCuts(L, 7), what + " chunk 7");
        checkPieces(c, k, TestData.fixedCuts(L, L + 5), what + " chunk > L");
      }
    }
  }

  @ParameterizedTest(name = "D={0} N={1} G={2}")
  @MethodSource("shapes")
  void summariesCombineInAnyGrouping(int D, int N, int G) {
    SplittableRandom rnd = new SplittableRandom(31L * D + 17L * N + G);
    for (int L : TestData.LENGTHS) {
      Case c = new Case(rnd.nextLong(), D, N, G, L, rnd.nextInt(4));
      double[] hRef = c.h0.clone();
      c.reference(hRef);
      // Three consecutive pieces, possibly empty.
      int a = rnd.nextInt(L + 1);
      int b = rnd.nextInt(L + 1);
      int cut1 = Math.min(a, b);
      int cut2 = Math.max(a, b);
      ChunkSummary s1 = c.summarize(0, cut1);
      ChunkSummary s2 = c.summarize(cut1, cut2);
      ChunkSummary s3 = c.summarize(cut2, L);
      assertEquals(cut2 - cut1, s2.steps());
      assertEquals(D * N, s2.size());
      ChunkSummary left = ChunkSummary.combine(ChunkSummary.combine(s1, s2), s3);
      ChunkSummary right = ChunkSummary.combine(s1, ChunkSummary.combine(s2, s3));
      assertEquals(L, left.steps());
      double[] hLeft = c.h0.clone();
      left.applyTo(hLeft, null);
      double[] hRight = c.h0.clone();
      right.applyTo(hRight, null);
      assertClose(c + " (s1∘s2)∘s3", hRef, hLeft, Tolerances.CHUNKED);
      assertClose(c + " s1∘(s2∘s3)", hRef, hRight, Tolerances.CHUNKED);
    }
  }

  @Test
  void summaryOfAChunkIsItsScan() {
    // apply(summary, h) is the scan's final state for any h, and an empty chunk is the identity.
    Case c = new Case(99, 16, 16, 2, 64, 1);
    ChunkSummary s = c.summarize(0, c.L);
    double[] hScan = c.h0.clone();
    c.run(PUBLIC, 0, c.L, new double[c.L * c.D], 0, hScan);
    double[] hSum = c.h0.clone();
    s.applyTo(hSum, null);
    assertClose("summary vs scan", hScan, hSum, Tolerances.CHUNKED);
    ChunkSummary empty = c.summarize(5, 5);
    assertArrayEquals(ChunkSummary.identity(c.D * c.N, false).decayRe(), empty.decayRe());
    assertArrayEquals(new double[c.D * c.N], empty.endRe());
  }

  @Test
  void nanDeltaPoisonsOnlyItsChannelFromThatStepOn() {
    int D = 12;
    int N = 16;
    int L = 20;
    int badT = 7;
    int badD = 5;
    for (boolean softplus : new boolean[] {false, true}) {
      Case c = new Case(2024, D, N, 1, L, softplus ? 2 : 3);
      c.delta[c.deltaOff + badT * D + badD] = Double.NaN;
      for (Kernel k : kernels()) {
        double[] h = c.h0.clone();
        double[] y = new double[L * D];
        c.run(k, 0, L, y, 0, h);
        for (int t = 0; t < L; t++) {
          for (int d = 0; d < D; d++) {
            boolean poisoned = d == badD && t >= badT;
            assertEquals(poisoned, Double.isNaN(y[t * D + d]), name(k) + " y at t=" + t + " d=" + d);
          }
        }
        for (int i = 0; i < D * N; i++) {
          assertEquals(i / N == badD, Double.isNaN(h[i]), name(k) + " h at " + i);
        }
      }
    }
  }

  @Test
  void softplusFollowsTorchThreshold() {
    assertEquals(25.0, SelectiveScan.stepSize(25.0, true));
    assertEquals(Math.log1p(Math.exp(20.0)), SelectiveScan.stepSize(20.0, true));
    assertEquals(Math.log(2.0), SelectiveScan.stepSize(0.0, true), 1e-16);
    assertTrue(SelectiveScan.stepSize(-40.0, true) > 0, "log1p keeps tiny step sizes positive");
    assertEquals(-3.0, SelectiveScan.stepSize(-3.0, false));
  }

  @Test
  void paramsFromALogAndFingerprint() {
    double[] aLog = {0.0, Math.log(2.0), Math.log(3.0), Math.log(4.0)};
    double[] a = SelectiveScan.Params.aFromALog(aLog);
    assertClose("A", new double[] {-1, -2, -3, -4}, a, Tolerances.F64);
    SelectiveScan.Params p = SelectiveScan.Params.fromALog(2, 2, 1, aLog, null, null, true);
    assertEquals(2, p.channels());
    assertEquals(2, p.stateSize());
    assertEquals(1, p.groups());
    assertEquals(4, p.stateLength());
    assertArrayEquals(a, p.a());
    assertEquals(p.fingerprint(), SelectiveScan.Params.of(2, 2, 1, a, null, null, true).fingerprint());
    assertNotEquals(p.fingerprint(), SelectiveScan.Params.of(2, 2, 1, a, null, null, false).fingerprint());
    assertNotEquals(p.fingerprint(), SelectiveScan.Params.of(2, 2, 1, a, new double[2], null, true).fingerprint());
    assertNotEquals(p.fingerprint(), SelectiveScan.Params.of(4, 1, 1, a, null, null, true).fingerprint());
    // The holder is immutable: changing the caller's array or an accessor's copy changes nothing.
    double[] mine = a.clone();
    SelectiveScan.Params q = SelectiveScan.Params.of(2, 2, 1, mine, null, null, true);
    mine[0] = -100;
    q.a()[1] = -100;
    assertArrayEquals(a, q.a());
  }

  private static void assertRejects(String argument, String detail, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"),
        "message should name " + argument + ": " + e.getMessage());
    assertTrue(e.getMessage().contains(detail), "message should say '" + detail + "': " + e.getMessage());
  }

  @Test
  void rejectsBadParameters() {
    double[] a12 = new double[12];
    java.util.Arrays.fill(a12, -1.0);
    assertRejects("D", ">= 1", () -> SelectiveScan.Params.of(0, 4, 1, new double[0], null, null, false));
    assertRejects("N", ">= 1", () -> SelectiveScan.Params.of(3, 0, 1, new double[0], null, null, false));
    assertRejects("G", ">= 1", () -> SelectiveScan.Params.of(3, 4, 0, a12, null, null, false));
    assertRejects("G", "divisor of D = 3", () -> SelectiveScan.Params.of(3, 4, 2, a12, null, null, false));
    assertRejects("A", "length 12", () -> SelectiveScan.Params.of(3, 4, 1, new double[11], null, null, false));
    assertRejects("A", "null", () -> SelectiveScan.Params.of(3, 4, 1, null, null, null, false));
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      double[] a = a12.clone();
      a[5] = bad;
      assertRejects("A", "finite", () -> SelectiveScan.Params.of(3, 4, 1, a, null, null, false));
    }
    for (double bad : new double[] {0.0, -0.0, 0.5}) {
      double[] a = a12.clone();
      a[7] = bad;
      assertRejects("A", "< 0", () -> SelectiveScan.Params.of(3, 4, 1, a, null, null, false));
    }
    assertRejects("dSkip", "length 3", () -> SelectiveScan.Params.of(3, 4, 1, a12, new double[4], null, false));
    assertRejects("dSkip", "finite",
        () -> SelectiveScan.Params.of(3, 4, 1, a12, new double[] {0, Double.NaN, 0}, null, false));
    assertRejects("deltaBias", "length 3", () -> SelectiveScan.Params.of(3, 4, 1, a12, null, new double[2], false));
    assertRejects("deltaBias", "finite",
        () -> SelectiveScan.Params.of(3, 4, 1, a12, null, new double[] {0, 0, Double.POSITIVE_INFINITY}, false));
    assertRejects("aLog", "finite", () -> SelectiveScan.Params.aFromALog(new double[] {0, Double.NaN}));
    assertRejects("aLog", "< 0", () -> SelectiveScan.Params.aFromALog(new double[] {0, -1000}));
  }

  @Test
  void rejectsBadSequences() {
    int D = 4;
    int N = 3;
    int G = 2;
    int L = 5;
    double[] a = new double[D * N];
    java.util.Arrays.fill(a, -1.0);
    SelectiveScan.Params p = SelectiveScan.Params.of(D, N, G, a, null, null, true);
    double[] u = new double[L * D];
    double[] dl = new double[L * D];
    double[] B = new double[L * G * N];
    double[] C = new double[L * G * N];
    double[] z = new double[L * D];
    double[] y = new double[L * D];
    double[] h = new double[D * N];
    // Sanity: the well-formed call passes.
    SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h);

    assertRejects("p", "null", () -> SelectiveScan.scan(null, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("L", ">= 0", () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, -1, h));
    assertRejects("u", "null", () -> SelectiveScan.scan(p, null, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("u", "20 elements from offset 1",
        () -> SelectiveScan.scan(p, u, 1, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("u", "offset -1", () -> SelectiveScan.scan(p, u, -1, dl, 0, B, 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("delta", "offset 3", () -> SelectiveScan.scan(p, u, 0, dl, 3, B, 0, C, 0, z, 0, y, 0, L, h));
    // B sized for one group while the layer has two.
    assertRejects("B", "30 elements",
        () -> SelectiveScan.scan(p, u, 0, dl, 0, new double[L * N], 0, C, 0, z, 0, y, 0, L, h));
    assertRejects("C", "30 elements",
        () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, new double[L * N], 0, z, 0, y, 0, L, h));
    assertRejects("z", "offset 2", () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 2, y, 0, L, h));
    assertRejects("y", "length 20",
        () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, Integer.MAX_VALUE, L, h));
    assertRejects("y", "null", () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, null, 0, L, h));
    assertRejects("h", "length 12 (D*N = 4*3)",
        () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L, new double[D]));
    assertRejects("u", "elements", () -> SelectiveScan.scan(p, u, 0, dl, 0, B, 0, C, 0, z, 0, y, 0, L + 1, h));
    // summarize validates the same way.
    assertRejects("L", ">= 0", () -> SelectiveScan.summarize(p, u, 0, dl, 0, B, 0, -2));
    assertRejects("B", "offset 1", () -> SelectiveScan.summarize(p, u, 0, dl, 0, B, 1, L));
    assertRejects("delta", "null", () -> SelectiveScan.summarize(p, u, 0, null, 0, B, 0, L));
  }
}
