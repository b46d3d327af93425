package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class DiagonalScanTest {

  /** (D, N) pairs: single state, N below / equal to / above the vector width, N not a multiple of it. */
  private static final int[][] SHAPES = {{1, 1}, {1, 16}, {3, 5}, {4, 16}, {2, 13}, {5, 3}};

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (int[] shape : SHAPES) {
      for (int length : TestData.LENGTHS) {
        for (boolean complex : new boolean[] {false, true}) {
          cases.add(Arguments.of(shape[0], shape[1], length, complex));
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "D={0} N={1} L={2} complex={3}")
  @MethodSource("cases")
  void matchesReferenceOnBothPaths(int dim, int n, int length, boolean complex) {
    SplittableRandom rnd = new SplittableRandom(1000L * dim + 31L * n + length + (complex ? 7 : 0));
    DiagonalSsm m = DiagonalSystems.random(rnd, dim, n, complex, length % 2 == 0);
    double[] u = TestData.gaussian(rnd, length * dim, 1.0);
    double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
    DiagonalSystems.Result ref = DiagonalSystems.reference(m, u, length, h0);

    // The public entry point (vector path when enabled), reading u at an offset and writing y at another.
    double[] uPadded = new double[3 + u.length];
    System.arraycopy(u, 0, uPadded, 3, u.length);
    double[] y = new double[5 + u.length];
    double[] h = h0.clone();
    DiagonalScan.scan(m, uPadded, 3, y, 5, length, h);
    assertClose("y", ref.y, 0, y, 5, ref.y.length, Tolerances.F64);
    assertClose("final h", ref.h, h, Tolerances.F64);

    // The scalar path, always.
    double[] yScalar = new double[u.length];
    double[] hScalar = h0.clone();
    if (complex) {
      DiagonalScan.scanComplexScalar(m, u, 0, yScalar, 0, length, hScalar);
    } else {
      DiagonalScan.scanRealScalar(m, u, 0, yScalar, 0, length, hScalar);
    }
    assertClose("y (scalar)", ref.y, yScalar, Tolerances.F64);
    assertClose("final h (scalar)", ref.h, hScalar, Tolerances.F64);

    // advance() computes the same final state without outputs.
    double[] hAdvance = h0.clone();
    DiagonalScan.advance(m, u, 0, length, hAdvance);
    assertClose("final h (advance)", ref.h, hAdvance, Tolerances.F64);
  }

  @Test
  void outputMayOverwriteInputInPlace() {
    SplittableRandom rnd = new SplittableRandom(5);
    DiagonalSsm m = DiagonalSystems.random(rnd, 3, 16, true, true);
    double[] u = TestData.gaussian(rnd, 3 * 41, 1.0);
    DiagonalSystems.Result ref = DiagonalSystems.reference(m, u, 41, new double[m.stateSize()]);
    double[] inPlace = u.clone();
    DiagonalScan.scan(m, inPlace, 0, inPlace, 0, 41, new double[m.stateSize()]);
    assertClose("y written over u", ref.y, inPlace, Tolerances.F64);
  }

  @ParameterizedTest(name = "complex={0}")
  @MethodSource("booleans")
  void chunkedScanEqualsOneShotForAnyCuts(boolean complex) {
    SplittableRandom rnd = new SplittableRandom(complex ? 11 : 12);
    for (int trial = 0; trial < 20; trial++) {
      int dim = 1 + rnd.nextInt(4);
      int n = 1 + rnd.nextInt(20);
      int length = 1 + rnd.nextInt(300);
      DiagonalSsm m = DiagonalSystems.random(rnd, dim, n, complex, true);
      double[] u = TestData.gaussian(rnd, length * dim, 1.0);
      double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
      double[] yOne = new double[u.length];
      double[] hOne = h0.clone();
      DiagonalScan.scan(m, u, 0, yOne, 0, length, hOne);

      List<int[]> cutSets = new ArrayList<>();
      cutSets.add(TestData.randomCuts(rnd, length, 12));
      cutSets.add(TestData.fixedCuts(length, 1));
      cutSets.add(TestData.fixedCuts(length, 7));
      cutSets.add(TestData.fixedCuts(length, length + 5));
      for (int[] cuts : cutSets) {
        double[] y = new double[u.length];
        double[] h = h0.clone();
        for (int p = 0; p + 1 < cuts.length; p++) {
          DiagonalScan.scan(m, u, cuts[p] * dim, y, cuts[p] * dim, cuts[p + 1] - cuts[p], h);
        }
        String what = "trial " + trial + " cuts " + java.util.Arrays.toString(cuts);
        assertClose(what + " y", yOne, y, Tolerances.CHUNKED);
        assertClose(what + " h", hOne, h, Tolerances.CHUNKED);
      }
      double[] yChunked = new double[u.length];
      double[] hChunked = h0.clone();
      DiagonalScan.scanChunked(m, u, 0, yChunked, 0, length, hChunked, 1 + rnd.nextInt(length + 3));
      assertClose("scanChunked y", yOne, yChunked, Tolerances.CHUNKED);
      assertClose("scanChunked h", hOne, hChunked, Tolerances.CHUNKED);
    }
  }

  static Stream<Boolean> booleans() {
    return Stream.of(false, true);
  }

  @ParameterizedTest(name = "complex={0}")
  @MethodSource("booleans")
  void summariesCombineInAnyGroupingToTheOneShotState(boolean complex) {
    SplittableRandom rnd = new SplittableRandom(complex ? 21 : 22);
    for (int trial = 0; trial < 10; trial++) {
      int dim = 1 + rnd.nextInt(3);
      int n = 1 + rnd.nextInt(9);
      int length = 1 + rnd.nextInt(400);
      DiagonalSsm m = DiagonalSystems.random(rnd, dim, n, complex, false);
      double[] u = TestData.gaussian(rnd, length * dim, 1.0);
      double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
      double[] hOne = h0.clone();
      DiagonalScan.advance(m, u, 0, length, hOne);

      int[] cuts = TestData.randomCuts(rnd, length, 9);
      List<ChunkSummary> parts = new ArrayList<>();
      for (int p = 0; p + 1 < cuts.length; p++) {
        parts.add(DiagonalScan.summarize(m, u, cuts[p] * dim, cuts[p + 1] - cuts[p]));
      }
      ChunkSummary leftFold = ChunkSummary.combineAll(dim * n, complex, parts);
      ChunkSummary rightFold = ChunkSummary.identity(dim * n, complex);
      for (int p = parts.size() - 1; p >= 0; p--) {
        rightFold = ChunkSummary.combine(parts.get(p), rightFold);
      }
      ChunkSummary tree = combineTree(parts, 0, parts.size(), rnd);
      for (ChunkSummary total : new ChunkSummary[] {leftFold, rightFold, tree}) {
        assertEquals(length, total.steps());
        double[] h = applyStacked(total, h0);
        assertClose("trial " + trial + " combined summary", hOne, h, Tolerances.CHUNKED);
      }
      // The one-shot summary itself agrees with the combined one.
      ChunkSummary whole = DiagonalScan.summarize(m, u, 0, length);
      assertClose("decay", whole.decayRe(), leftFold.decayRe(), Tolerances.CHUNKED);
      assertClose("end", whole.endRe(), leftFold.endRe(), Tolerances.CHUNKED);
    }
  }

  /** Combines parts[from, to) split at a random point, recursively: a random association order. */
  private static ChunkSummary combineTree(List<ChunkSummary> parts, int from, int to, SplittableRandom rnd) {
    if (to - from == 1) {
      return parts.get(from);
    }
    int mid = from + 1 + rnd.nextInt(to - from - 1);
    return ChunkSummary.combine(combineTree(parts, from, mid, rnd), combineTree(parts, mid, to, rnd));
  }

  static double[] applyStacked(ChunkSummary s, double[] h0) {
    int size = s.size();
    double[] re = java.util.Arrays.copyOfRange(h0, 0, size);
    double[] im = s.isComplex() ? java.util.Arrays.copyOfRange(h0, size, 2 * size) : null;
    s.applyTo(re, im);
    double[] h = h0.clone();
    System.arraycopy(re, 0, h, 0, size);
    if (im != null) {
      System.arraycopy(im, 0, h, size, size);
    }
    return h;
  }

  @Test
  void scalarDecayImpulseResponseIsClosedForm() {
    // y_t = Re(c b a^t) for an impulse at t = 0 from zero state.
    double aRe = 0.9 * Math.cos(0.3);
    double aIm = 0.9 * Math.sin(0.3);
    DiagonalSsm m = DiagonalSsm.complex(1, 1, new double[] {aRe}, new double[] {aIm}, new double[] {0.7},
        new double[] {-0.2}, new double[] {1.3}, new double[] {0.4}, null);
    int length = 60;
    double[] u = new double[length];
    u[0] = 1.0;
    double[] y = new double[length];
    DiagonalScan.scan(m, u, 0, y, 0, length, new double[2]);
    for (int t = 0; t < length; t++) {
      double modulus = Math.pow(0.9, t);
      double angle = 0.3 * t;
      double powRe = modulus * Math.cos(angle);
      double powIm = modulus * Math.sin(angle);
      // c b = (1.3 + 0.4i)(0.7 - 0.2i)
      double cbRe = 1.3 * 0.7 + 0.4 * 0.2;
      double cbIm = -1.3 * 0.2 + 0.4 * 0.7;
      assertClose("y_" + t, cbRe * powRe - cbIm * powIm, y[t], Tolerances.F64);
    }
    DiagonalSsm real = DiagonalSsm.real(1, 1, new double[] {-0.8}, new double[] {2.0}, new double[] {0.5}, null);
    double[] yReal = new double[length];
    DiagonalScan.scan(real, u, 0, yReal, 0, length, new double[1]);
    for (int t = 0; t < length; t++) {
      assertClose("real y_" + t, 0.5 * 2.0 * Math.pow(-0.8, t), yReal[t], Tolerances.F64);
    }
  }

  @Test
  void tenMillionStepsStayFiniteAndChunkingIsBitExact() {
    SplittableRandom rnd = new SplittableRandom(77);
    int length = 10_000_000;
    DiagonalSsm m = DiagonalSystems.random(rnd, 1, 4, true, true);
    double[] u = TestData.gaussian(rnd, length, 1.0);
    double[] yOne = new double[length];
    double[] hOne = new double[m.stateSize()];
    DiagonalScan.scan(m, u, 0, yOne, 0, length, hOne);
    double[] yChunked = new double[length];
    double[] hChunked = new double[m.stateSize()];
    DiagonalScan.scanChunked(m, u, 0, yChunked, 0, length, hChunked, 65_537);
    for (double v : hOne) {
      assertTrue(Double.isFinite(v), "final state finite");
    }
    double maxAbs = 0;
    for (double v : yOne) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    assertTrue(Double.isFinite(maxAbs) && maxAbs < 1e6, "outputs bounded, max |y| = " + maxAbs);
    // Every step does the same floating-point operations whatever the cut, so chunking is exact.
    assertArrayEquals(hOne, hChunked);
    assertArrayEquals(yOne, yChunked);
  }

  @Test
  void badInputIsRejectedWithTheArgumentNamed() {
    double[] four = new double[4];
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DiagonalSsm.real(2, 2, new double[3], four, four, null));
    assertTrue(e.getMessage().contains("Abar") && e.getMessage().contains("expected length 4")
        && e.getMessage().contains("got 3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> DiagonalSsm.real(2, 2, new double[] {0.5, Double.NaN, 0, 0}, four, four, null));
    assertTrue(e.getMessage().contains("Abar") && e.getMessage().contains("NaN"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> DiagonalSsm.real(0, 2, four, four, four, null));
    assertTrue(e.getMessage().contains("channels"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> DiagonalSsm.real(2, 2, four, four, four, new double[3]));
    assertTrue(e.getMessage().contains("Dskip"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> DiagonalSsm.real(1, 2, new double[] {0.5, 1.5}, new double[2], new double[2], null).requireStable());
    assertTrue(e.getMessage().contains("Abar") && e.getMessage().contains("stable"), e.getMessage());

    DiagonalSsm m = DiagonalSsm.real(2, 2, new double[] {0.5, 0.5, 0.5, 0.5}, four, four, null);
    e = assertThrows(IllegalArgumentException.class, () -> DiagonalScan.scan(m, new double[10], 0, new double[10], 0, 6, four));
    assertTrue(e.getMessage().contains("u") && e.getMessage().contains("12"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> DiagonalScan.scan(m, new double[10], 0, new double[10], 0, 2, new double[3]));
    assertTrue(e.getMessage().startsWith("h:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> DiagonalScan.scan(m, new double[10], 0, new double[10], 0, -1, four));
    assertTrue(e.getMessage().contains("length"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> DiagonalScan.scanChunked(m, new double[10], 0, new double[10], 0, 5, four, 0));
    assertTrue(e.getMessage().contains("chunkSize") && e.getMessage().contains("got 0"), e.getMessage());
  }
}
