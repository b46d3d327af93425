package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.sparkssm.scan.reference.SsdScanReference;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class SsdScanTest {

  /** One random problem: parameters, inputs and a nonzero initial state. */
  private static final class Problem {
    final SsdScan.Params params;
    final int length;
    final double[] x;
    final double[] dt;
    final double[] b;
    final double[] c;
    final double[] h0;

    /**
     * {@code mamba} chooses Mamba-2's setting (A = -exp(A_log) with A in [1, 16], raw dt through
     * softplus with a bias, Dskip) over the plain one (A in [-2, -0.05], Δ = dt directly, no skip).
     */
    Problem(long seed, int length, int heads, int headDim, int stateSize, int groups, boolean mamba) {
      SplittableRandom rnd = new SplittableRandom(seed);
      this.length = length;
      if (mamba) {
        double[] aLog = TestData.uniform(rnd, heads, 0.0, Math.log(16));
        // softplus(dt + bias) lands mostly in [0.001, 0.5], the range Mamba-2 initializes Δ in.
        double[] dtBias = TestData.uniform(rnd, heads, -5.0, -1.0);
        params = SsdScan.Params.of(heads, headDim, stateSize, groups, SsdScan.aFromLog(aLog),
            TestData.gaussian(rnd, heads, 1.0), dtBias, true);
        dt = TestData.gaussian(rnd, length * heads, 1.0);
      } else {
        params = SsdScan.Params.of(heads, headDim, stateSize, groups,
            TestData.uniform(rnd, heads, -2.0, -0.05), null, null, false);
        dt = TestData.uniform(rnd, length * heads, 0.0, 0.3);
      }
      x = TestData.gaussian(rnd, length * heads * headDim, 1.0);
      b = TestData.gaussian(rnd, length * groups * stateSize, 1.0);
      c = TestData.gaussian(rnd, length * groups * stateSize, 1.0);
      h0 = TestData.gaussian(rnd, params.stateLength(), 1.0);
    }

    int yLength() {
      return length * params.heads() * params.headDim();
    }

    /** The reference outputs; leaves the reference final state in {@code finalState}. */
    double[] reference(double[] finalState) {
      System.arraycopy(h0, 0, finalState, 0, h0.length);
      double[] y = new double[yLength()];
      SsdScanReference.scan(params, length, x, 0, dt, 0, b, 0, c, 0, y, 0, finalState);
      return y;
    }

    double[] fast(int blockLength, double[] finalState) {
      System.arraycopy(h0, 0, finalState, 0, h0.length);
      double[] y = new double[yLength()];
      SsdScan.scan(params, length, blockLength, x, 0, dt, 0, b, 0, c, 0, y, 0, finalState);
      return y;
    }

    /** Scans {@code [from, to)} in place of the carried {@code state}, writing into {@code y}. */
    void fastPiece(int from, int to, int blockLength, double[] y, double[] state) {
      int hp = params.heads() * params.headDim();
      int gn = params.groups() * params.stateSize();
      SsdScan.scan(params, to - from, blockLength, x, from * hp, dt, from * params.heads(), b, from * gn,
          c, from * gn, y, from * hp, state);
    }

    ChunkSummary summary(int from, int to) {
      int hp = params.heads() * params.headDim();
      int gn = params.groups() * params.stateSize();
      return SsdScan.summarize(params, to - from, x, from * hp, dt, from * params.heads(), b, from * gn);
    }
  }

  static Stream<Arguments> shapes() {
    List<Arguments> out = new ArrayList<>();
    for (int length : TestData.LENGTHS) {
      for (int heads : new int[] {1, 3}) {
        for (int headDim : new int[] {1, 4}) {
          for (int stateSize : new int[] {1, 8}) {
            for (int groups = 1; groups <= heads; groups++) {
              if (heads % groups == 0) {
                out.add(Arguments.of(length, heads, headDim, stateSize, groups));
              }
            }
          }
        }
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "L={0} H={1} P={2} N={3} G={4}")
  @MethodSource("shapes")
  void matchesReferenceForEveryBlockLength(int length, int heads, int headDim, int stateSize, int groups) {
    for (boolean mamba : new boolean[] {false, true}) {
      long seed = 1000L * length + 100L * heads + 10L * headDim + stateSize + (mamba ? 7 : 0) + 31L * groups;
      Problem pr = new Problem(seed, length, heads, headDim, stateSize, groups, mamba);
      double[] refState = new double[pr.h0.length];
      double[] refY = pr.reference(refState);
      for (int q : new int[] {1, 5, 16, length + 3}) {
        String what = "seed " + seed + ", " + pr.params + ", L=" + length + ", Q=" + q;
        double[] state = new double[pr.h0.length];
        double[] y = pr.fast(q, state);
        Tolerances.assertClose(what + ": y", refY, y, Tolerances.F64);
        Tolerances.assertClose(what + ": final state", refState, state, Tolerances.F64);
      }
    }
  }

  @Test
  void lengthZeroLeavesStateAndOutputAlone() {
    Problem pr = new Problem(5, 0, 3, 4, 8, 3, true);
    double[] state = pr.h0.clone();
    double[] y = {42.0};
    SsdScan.scan(pr.params, 0, 4, new double[0], 0, new double[0], 0, new double[0], 0, new double[0], 0, y, 0,
        state);
    assertArrayEquals(pr.h0, state);
    assertEquals(42.0, y[0]);
    ChunkSummary s = SsdScan.summarize(pr.params, 0, new double[0], 0, new double[0], 0, new double[0], 0);
    assertEquals(0, s.steps());
    double[] h = pr.h0.clone();
    s.applyTo(h, null);
    assertArrayEquals(pr.h0, h);
  }

  @Test
  void offsetsAddressAChunkOfALargerBuffer() {
    int length = 23;
    int heads = 3;
    int headDim = 4;
    int stateSize = 5;
    int groups = 1;
    Problem pr = new Problem(77, length, heads, headDim, stateSize, groups, true);
    double[] refState = new double[pr.h0.length];
    double[] refY = pr.reference(refState);
    int xOff = 11;
    int dtOff = 3;
    int bOff = 7;
    int cOff = 2;
    int yOff = 9;
    double[] x = pad(pr.x, xOff);
    double[] dt = pad(pr.dt, dtOff);
    double[] b = pad(pr.b, bOff);
    double[] c = pad(pr.c, cOff);
    double[] y = new double[yOff + refY.length + 4];
    java.util.Arrays.fill(y, -3.5);
    double[] state = pr.h0.clone();
    SsdScan.scan(pr.params, length, 6, x, xOff, dt, dtOff, b, bOff, c, cOff, y, yOff, state);
    Tolerances.assertClose("y", refY, 0, y, yOff, refY.length, Tolerances.F64);
    Tolerances.assertClose("final state", refState, state, Tolerances.F64);
    for (int i = 0; i < yOff; i++) {
      assertEquals(-3.5, y[i], "y before yOff is untouched");
    }
    for (int i = yOff + refY.length; i < y.length; i++) {
      assertEquals(-3.5, y[i], "y after the output range is untouched");
    }
  }

  private static double[] pad(double[] a, int offset) {
    double[] out = new double[offset + a.length + 5];
    java.util.Arrays.fill(out, Double.NaN); // reading outside the range would poison the result
    System.arraycopy(a, 0, out, offset, a.length);
    return out;
  }

  @Test
  void chunkedWithCarriedStateEqualsOneShot() {
    SplittableRandom cutRnd = new SplittableRandom(20240611);
    for (int length : TestData.LENGTHS) {
      for (boolean mamba : new boolean[] {false, true}) {
        long seed = 500 + length + (mamba ? 1 : 0);
        Problem pr = new Problem(seed, length, 4, 3, 5, 2, mamba);
        double[] refState = new double[pr.h0.length];
        double[] refY = pr.reference(refState);
        for (int q : new int[] {1, 7, length + 1}) {
          int[] cuts = TestData.randomCuts(cutRnd, length, 6);
          double[] state = pr.h0.clone();
          double[] y = new double[pr.yLength()];
          for (int k = 0; k + 1 < cuts.length; k++) {
            pr.fastPiece(cuts[k], cuts[k + 1], q, y, state);
          }
          String what = "seed " + seed + ", L=" + length + ", Q=" + q + ", cuts " + java.util.Arrays.toString(cuts);
          Tolerances.assertClose(what + ": y", refY, y, Tolerances.CHUNKED);
          Tolerances.assertClose(what + ": final state", refState, state, Tolerances.CHUNKED);
        }
      }
    }
  }

  @Test
  void summaryOfOneChunkIsDecayAndEndStateFromZero() {
    Problem pr = new Problem(31, 64, 3, 2, 4, 3, true);
    ChunkSummary s = pr.summary(0, pr.length);
    assertEquals(pr.length, s.steps());
    assertEquals(pr.params.stateLength(), s.size());
    double[] zero = new double[pr.params.stateLength()];
    double[] y = new double[pr.yLength()];
    SsdScanReference.scan(pr.params, pr.length, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, zero);
    Tolerances.assertClose("end state from zero", zero, s.endRe(), Tolerances.F64);
    double[] decay = s.decayRe();
    double[] a = pr.params.a();
    int block = pr.params.headDim() * pr.params.stateSize();
    for (int h = 0; h < pr.params.heads(); h++) {
      double sum = 0;
      for (int t = 0; t < pr.length; t++) {
        sum += pr.params.delta(h, pr.dt[t * pr.params.heads() + h]);
      }
      for (int i = 0; i < block; i++) {
        Tolerances.assertClose("decay of head " + h, Math.exp(a[h] * sum), decay[h * block + i], Tolerances.F64);
      }
    }
  }

  @Test
  void summariesCombineInAnyGroupingToTheOneShotState() {
    SplittableRandom cutRnd = new SplittableRandom(4242);
    for (int length : TestData.LENGTHS) {
      // Slow decay (plain setting), so early pieces still matter at the end.
      Problem pr = new Problem(900 + length, length, 3, 2, 4, 1, false);
      double[] refState = new double[pr.h0.length];
      pr.reference(refState);
      int[] cuts = TestData.randomCuts(cutRnd, length, 7);
      List<ChunkSummary> pieces = new ArrayList<>();
      for (int k = 0; k + 1 < cuts.length; k++) {
        pieces.add(pr.summary(cuts[k], cuts[k + 1]));
      }
      int size = pr.params.stateLength();
      ChunkSummary left = ChunkSummary.combineAll(size, false, pieces);
      ChunkSummary right = ChunkSummary.identity(size, false);
      for (int k = pieces.size() - 1; k >= 0; k--) {
        right = ChunkSummary.combine(pieces.get(k), right);
      }
      ChunkSummary tree = tree(pieces, 0, pieces.size());
      ChunkSummary whole = pr.summary(0, length);
      String what = "L=" + length + ", cuts " + java.util.Arrays.toString(cuts);
      for (ChunkSummary s : new ChunkSummary[] {left, right, tree, whole}) {
        assertEquals(length, s.steps(), what);
        double[] h = pr.h0.clone();
        s.applyTo(h, null);
        Tolerances.assertClose(what + ": state via " + s, refState, h, Tolerances.CHUNKED);
      }
      Tolerances.assertClose(what + ": left vs tree decay", left.decayRe(), tree.decayRe(), Tolerances.CHUNKED);
      Tolerances.assertClose(what + ": left vs right end", left.endRe(), right.endRe(), Tolerances.CHUNKED);
    }
  }

  private static ChunkSummary tree(List<ChunkSummary> pieces, int from, int to) {
    if (to - from == 1) {
      return pieces.get(from);
    }
    int mid = (from + to) >>> 1;
    return ChunkSummary.combine(tree(pieces, from, mid), tree(pieces, mid, to));
  }

  @Test
  void longSequenceStaysFiniteAndMatchesReference() {
    int length = 2000;
    Problem pr = new Problem(2000, length, 4, 16, 16, 2, true);
    double[] refState = new double[pr.h0.length];
    double[] refY = pr.reference(refState);
    double[] state = new double[pr.h0.length];
    double[] y = pr.fast(64, state);
    for (int i = 0; i < y.length; i++) {
      assertTrue(Double.isFinite(y[i]), "y finite at " + i);
    }
    for (int i = 0; i < state.length; i++) {
      assertTrue(Double.isFinite(state[i]), "state finite at " + i);
    }
    Tolerances.assertClose("y", refY, y, Tolerances.F64);
    Tolerances.assertClose("final state", refState, state, Tolerances.F64);
  }

  @Test
  void aFromLogAndSoftplus() {
    double[] a = SsdScan.aFromLog(new double[] {0.0, Math.log(16), -3.0});
    Tolerances.assertClose("A", new double[] {-1.0, -16.0, -Math.exp(-3.0)}, a, Tolerances.F64);
    assertEquals(Math.log(2), SsdScan.softplus(0.0), 1e-16);
    assertEquals(800.0, SsdScan.softplus(800.0), 0.0);
    assertEquals(Math.exp(-800.0), SsdScan.softplus(-800.0), 0.0);
    Tolerances.assertClose("softplus(3)", Math.log(1 + Math.exp(3)), SsdScan.softplus(3), Tolerances.F64);
    assertMessage("aLog", () -> SsdScan.aFromLog(new double[] {Double.NaN}));
  }

  @Test
  void paramsAreCopiedAndFingerprinted() {
    double[] a = {-1.0, -2.0};
    double[] dSkip = {0.5, 0.25};
    SsdScan.Params p = SsdScan.Params.of(2, 3, 4, 1, a, dSkip, null, true);
    a[0] = -9.0;
    dSkip[0] = 9.0;
    assertEquals(-1.0, p.a()[0]);
    assertEquals(0.5, p.dSkip()[0]);
    p.a()[1] = 7.0;
    assertEquals(-2.0, p.a()[1]);
    assertEquals(24, p.stateLength());

    long f = p.fingerprint();
    assertEquals(f, SsdScan.Params.of(2, 3, 4, 1, new double[] {-1.0, -2.0}, new double[] {0.5, 0.25}, null, true)
        .fingerprint());
    assertNotEquals(f, SsdScan.Params.of(2, 3, 4, 1, new double[] {-1.0, -2.5}, new double[] {0.5, 0.25}, null, true)
        .fingerprint());
    assertNotEquals(f, SsdScan.Params.of(2, 3, 4, 1, new double[] {-1.0, -2.0}, new double[] {0.5, 0.25}, null, false)
        .fingerprint());
    assertNotEquals(f, SsdScan.Params.of(2, 3, 4, 2, new double[] {-1.0, -2.0}, new double[] {0.5, 0.25}, null, true)
        .fingerprint());
    assertNotEquals(f, SsdScan.Params.of(2, 3, 4, 1, new double[] {-1.0, -2.0}, null, null, true).fingerprint());
    assertNotEquals(f, SsdScan.Params.of(2, 3, 4, 1, new double[] {-1.0, -2.0}, new double[] {0.5, 0.25},
        new double[] {0.0, 0.0}, true).fingerprint());
  }

  @Test
  void badParametersNameTheArgument() {
    double[] a2 = {-1.0, -2.0};
    assertMessage("groups", () -> SsdScan.Params.of(3, 2, 2, 2, new double[] {-1, -1, -1}, null, null, false));
    assertMessage("groups", () -> SsdScan.Params.of(2, 2, 2, 0, a2, null, null, false));
    assertMessage("heads", () -> SsdScan.Params.of(0, 2, 2, 1, new double[0], null, null, false));
    assertMessage("headDim", () -> SsdScan.Params.of(2, 0, 2, 1, a2, null, null, false));
    assertMessage("stateSize", () -> SsdScan.Params.of(2, 2, -1, 1, a2, null, null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, new double[] {-1.0}, null, null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, null, null, null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, new double[] {-1.0, Double.NaN}, null, null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, new double[] {-1.0, Double.NEGATIVE_INFINITY}, null,
        null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, new double[] {-1.0, 0.0}, null, null, false));
    assertMessage("A", () -> SsdScan.Params.of(2, 2, 2, 1, new double[] {0.5, -1.0}, null, null, false));
    assertMessage("Dskip", () -> SsdScan.Params.of(2, 2, 2, 1, a2, new double[] {1.0}, null, false));
    assertMessage("Dskip", () -> SsdScan.Params.of(2, 2, 2, 1, a2, new double[] {1.0, Double.NaN}, null, false));
    assertMessage("dtBias", () -> SsdScan.Params.of(2, 2, 2, 1, a2, null, new double[] {1, 2, 3}, true));
    assertMessage("dtBias", () -> SsdScan.Params.of(2, 2, 2, 1, a2, null, new double[] {1, Double.NaN}, true));
  }

  @Test
  void badScanArgumentsNameTheArgument() {
    Problem pr = new Problem(3, 10, 3, 2, 4, 1, false);
    SsdScan.Params p = pr.params;
    int len = pr.length;
    double[] y = new double[pr.yLength()];
    double[] st = pr.h0.clone();
    double[] longer = new double[1000];
    assertMessage("params", () -> SsdScan.scan(null, len, 4, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("blockLength", () -> SsdScan.scan(p, len, 0, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("blockLength", () -> SsdScan.scan(p, len, -3, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("length", () -> SsdScan.scan(p, -1, 4, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("x", () -> SsdScan.scan(p, len, 4, new double[5], 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("x", () -> SsdScan.scan(p, len, 4, pr.x, 1, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("x", () -> SsdScan.scan(p, len, 4, null, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("dt", () -> SsdScan.scan(p, len, 4, pr.x, 0, new double[3], 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("B", () -> SsdScan.scan(p, len, 4, pr.x, 0, pr.dt, 0, pr.b, -1, pr.c, 0, y, 0, st));
    assertMessage("C", () -> SsdScan.scan(p, len, 4, pr.x, 0, pr.dt, 0, pr.b, 0, new double[1], 0, y, 0, st));
    assertMessage("y", () -> SsdScan.scan(p, len, 4, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, new double[2], 0, st));
    assertMessage("state", () -> SsdScan.scan(p, len, 4, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, new double[2]));
    assertMessage("state", () -> SsdScan.scan(p, len, 4, pr.x, 0, pr.dt, 0, pr.b, 0, pr.c, 0, y, 0, null));

    double[] negDt = pr.dt.clone();
    negDt[4] = -0.1;
    assertMessage("dt", () -> SsdScan.scan(p, len, 4, pr.x, 0, negDt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    assertMessage("dt", () -> SsdScan.summarize(p, len, pr.x, 0, negDt, 0, pr.b, 0));
    double[] nanDt = pr.dt.clone();
    nanDt[7] = Double.NaN;
    assertMessage("dt", () -> SsdScan.scan(p, len, 4, pr.x, 0, nanDt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    SsdScan.Params soft = SsdScan.Params.of(3, 2, 4, 1, p.a(), null, null, true);
    double[] infDt = pr.dt.clone();
    infDt[0] = Double.POSITIVE_INFINITY;
    assertMessage("dt", () -> SsdScan.scan(soft, len, 4, pr.x, 0, infDt, 0, pr.b, 0, pr.c, 0, y, 0, st));
    // With softplus a negative raw dt is fine: Δ = softplus(dt) > 0.
    SsdScan.scan(soft, len, 4, pr.x, 0, negDt, 0, pr.b, 0, pr.c, 0, y, 0, pr.h0.clone());

    // The output may not overwrite inputs it still has to read.
    System.arraycopy(pr.x, 0, longer, 0, pr.x.length);
    assertMessage("y", () -> SsdScan.scan(p, len, 4, longer, 0, pr.dt, 0, pr.b, 0, pr.c, 0, longer, 30, st));
    assertArrayEquals(pr.h0, st, "a rejected call leaves the state alone");

    assertMessage("x", () -> SsdScan.summarize(p, len, new double[1], 0, pr.dt, 0, pr.b, 0));
    assertMessage("B", () -> SsdScan.summarize(p, len, pr.x, 0, pr.dt, 0, null, 0));
    assertMessage("params", () -> SsdScan.summarize(null, len, pr.x, 0, pr.dt, 0, pr.b, 0));
  }

  private static void assertMessage(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument) || e.getMessage().contains(argument + ":"),
        (Supplier<String>) () -> "message should name " + argument + ": " + e.getMessage());
  }
}
