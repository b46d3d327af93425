package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.init.ContinuousSystem;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.Hippo;
import org.sparkssm.init.S4dInit;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;
import org.sparkssm.testing.Tolerances.Tolerance;

/**
 * {@link LinearWindowFeatures} against references that run the SSM the features stand for,
 * step by step, instead of the precomputed map:
 * <ul>
 *   <li>LegT: HiPPO-LegT ({@link Hippo#legT}) discretized by the bilinear rule at Δt = 1/L with
 *       the test's own Gaussian elimination ({@link NaiveLinearAlgebra#bilinear}), scanned
 *       {@code h_k = Ā h_{k-1} + B̄ (w_k - level)} from h = 0 over the window, coefficient n
 *       divided by √(2n+1);</li>
 *   <li>LegS: the same with step k = 1 … L discretizing A/k, B/k at Δ = 1 (the Javadoc's
 *       recurrence);</li>
 *   <li>S4D: a complex diagonal scan per bank with ZOH written from its definition,
 *       {@code Ā = exp(Δa)}, {@code B̄ = (exp(Δa) - 1)/a · b}, read out as Re h_j for every mode
 *       then Im h_j for j ≥ 1;</li>
 *   <li>naive, linear, nlinear, {@code of} and concat: their layouts written out index by
 *       index.</li>
 * </ul>
 * Tolerance: {@link Tolerances#F64}. The reference and the map compute the same float64 quantity
 * in a different order (a different solve for {@code (I - Δ/2 A)⁻¹}, L recurrence steps instead
 * of one dot product per row, level subtracted before instead of after the product), with small
 * L and N and unit-scale windows, so they agree to about 1e-15. Level invariance shifts
 * the window by {@value #SHIFT}: the map subtracts {@code level · (M 1)} after the product, which
 * cancels about SHIFT·ε·Σ_k |M_rk| absolutely, hence {@link #LEVEL_SHIFT}. (Observed: under 1% of
 * either tolerance.)
 */
class LinearWindowFeaturesTest {
  static final double SHIFT = 250.0;
  /**
   * The cancellation of {@code SHIFT · (M 1)} against {@code M w}: about SHIFT·ε·Σ_k |M_rk|, which
   * is SHIFT · 1e-15 for these maps (Σ_k |M_rk| of a few); SHIFT · 1e-14 leaves a margin of ten.
   */
  static final Tolerance LEVEL_SHIFT = new Tolerance(SHIFT * 1e-14, 1e-10);

  private static final int[] LOOKBACKS = {1, 2, 7, 16, 33};

  // ---- references -------------------------------------------------------------------------

  /** LegT features of {@code window[off .. off+L)}: bilinear at 1/L, scanned, scaled by 1/√(2n+1). */
  static double[] legtReference(double[] window, int off, int lookback, int order) {
    ContinuousSystem sys = Hippo.legT(order);
    double[][] a = NaiveLinearAlgebra.fromRowMajor(sys.A(), order, order);
    double[][][] d = NaiveLinearAlgebra.bilinear(a, sys.B(), 1.0 / lookback);
    double level = window[off + lookback - 1];
    double[] h = new double[order];
    for (int k = 0; k < lookback; k++) {
      h = step(d[0], d[1], h, window[off + k] - level);
    }
    double[] out = new double[order];
    for (int n = 0; n < order; n++) {
      out[n] = h[n] / Math.sqrt(2 * n + 1);
    }
    return out;
  }

  /** LegS features: step k = 1 … L discretizes (A/k, B/k) by the bilinear rule at Δ = 1. */
  static double[] legsReference(double[] window, int off, int lookback, int order) {
    ContinuousSystem sys = Hippo.legS(order);
    double level = window[off + lookback - 1];
    double[] h = new double[order];
    for (int k = 1; k <= lookback; k++) {
      double[][] ak = NaiveLinearAlgebra.fromRowMajor(sys.A(), order, order);
      double[] bk = sys.B();
      for (int i = 0; i < order; i++) {
        for (int j = 0; j < order; j++) {
          ak[i][j] /= k;
        }
        bk[i] /= k;
      }
      double[][][] d = NaiveLinearAlgebra.bilinear(ak, bk, 1.0);
      h = step(d[0], d[1], h, window[off + k - 1] - level);
    }
    return h;
  }

  /** {@code Ā h + B̄ u}. */
  private static double[] step(double[][] abar, double[][] bbar, double[] h, double u) {
    double[] next = NaiveLinearAlgebra.multiply(abar, h);
    for (int i = 0; i < next.length; i++) {
      next[i] += bbar[i][0] * u;
    }
    return next;
  }

  /** S4D-Lin banks, ZOH per mode from its definition, complex arithmetic written out. */
  static double[] s4dReference(double[] window, int off, int lookback, int order, double[] dts) {
    DiagonalSystem sys = S4dInit.lin(order);
    int modes = sys.modes();
    double level = window[off + lookback - 1];
    double[] out = new double[dts.length * (2 * modes - 1)];
    int at = 0;
    for (double dt : dts) {
      double[] hRe = new double[modes];
      double[] hIm = new double[modes];
      for (int j = 0; j < modes; j++) {
        double ar = sys.aRe()[j];
        double ai = sys.aIm()[j];
        // Ā = exp(Δa)
        double er = Math.exp(dt * ar) * Math.cos(dt * ai);
        double ei = Math.exp(dt * ar) * Math.sin(dt * ai);
        // (Ā - 1) / a
        double den = ar * ar + ai * ai;
        double qr = ((er - 1) * ar + ei * ai) / den;
        double qi = (ei * ar - (er - 1) * ai) / den;
        // · b
        double br = qr * sys.bRe()[j] - qi * sys.bIm()[j];
        double bi = qr * sys.bIm()[j] + qi * sys.bRe()[j];
        double re = 0;
        double im = 0;
        for (int k = 0; k < lookback; k++) {
          double u = window[off + k] - level;
          double nr = er * re - ei * im + br * u;
          double ni = er * im + ei * re + bi * u;
          re = nr;
          im = ni;
        }
        hRe[j] = re;
        hIm[j] = im;
      }
      for (int j = 0; j < modes; j++) {
        out[at++] = hRe[j];
      }
      for (int j = 1; j < modes; j++) {
        out[at++] = hIm[j];
      }
    }
    return out;
  }

  /** Features into a fresh array at a nonzero offset, so the offsets are exercised too. */
  static double[] featuresOf(WindowFeatures f, double[] window, int off) {
    int outOff = 3;
    double[] out = new double[outOff + f.featureCount() + 2];
    Arrays.fill(out, Double.NaN);
    f.features(window, off, out, outOff);
    assertTrue(Double.isNaN(out[outOff - 1]) && Double.isNaN(out[outOff + f.featureCount()]),
        "features wrote outside out[outOff .. outOff+F)");
    return Arrays.copyOfRange(out, outOff, outOff + f.featureCount());
  }

  private static void assertFailsNaming(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"),
        "expected the message to name '" + argument + "', got: " + e.getMessage());
  }

  // ---- SSM memories vs. their scans -------------------------------------------------------

  @Test
  void legtEqualsTheBilinearLegTScanOfTheLevelSubtractedWindow() {
    SplittableRandom rnd = new SplittableRandom(101);
    for (int lookback : LOOKBACKS) {
      for (int order : new int[] {1, 2, 5, 8}) {
        LinearWindowFeatures f = LinearWindowFeatures.legt(lookback, order);
        assertEquals("legt", f.name());
        assertEquals(lookback, f.rowsRead());
        assertEquals(order, f.featureCount());
        assertEquals(0, f.rawCount());
        int off = rnd.nextInt(5);
        double[] window = TestData.gaussian(rnd, off + lookback + 2, 1.0);
        assertClose("legt L=" + lookback + " N=" + order, legtReference(window, off, lookback, order),
            featuresOf(f, window, off), Tolerances.F64);
        assertEquals(window[off + lookback - 1], f.level(window, off));
      }
    }
  }

  @Test
  void legsEqualsThePerStepBilinearLegSScanOfTheLevelSubtractedWindow() {
    SplittableRandom rnd = new SplittableRandom(102);
    for (int lookback : LOOKBACKS) {
      for (int order : new int[] {1, 2, 5, 8}) {
        LinearWindowFeatures f = LinearWindowFeatures.legs(lookback, order);
        assertEquals("legs", f.name());
        assertEquals(order, f.featureCount());
        int off = rnd.nextInt(5);
        double[] window = TestData.gaussian(rnd, off + lookback + 2, 1.0);
        assertClose("legs L=" + lookback + " N=" + order, legsReference(window, off, lookback, order),
            featuresOf(f, window, off), Tolerances.F64);
        assertEquals(window[off + lookback - 1], f.level(window, off));
      }
    }
  }

  @Test
  void s4dEqualsTheComplexZohScanOfEveryBankInTheDocumentedLayout() {
    SplittableRandom rnd = new SplittableRandom(103);
    double[][] banks = {{0.1}, {0.001, 0.05, 0.5, 2.0}};
    for (int lookback : LOOKBACKS) {
      for (int order : new int[] {2, 4, 8}) {
        for (double[] dts : banks) {
          LinearWindowFeatures f = LinearWindowFeatures.s4d(lookback, order, dts);
          assertEquals("s4d", f.name());
          assertEquals(dts.length * (order - 1), f.featureCount(), "N - 1 per bank");
          int off = rnd.nextInt(5);
          double[] window = TestData.gaussian(rnd, off + lookback + 2, 1.0);
          assertClose("s4d L=" + lookback + " N=" + order + " dts=" + Arrays.toString(dts),
              s4dReference(window, off, lookback, order, dts), featuresOf(f, window, off), Tolerances.F64);
          assertEquals(window[off + lookback - 1], f.level(window, off));
        }
      }
    }
  }

  // ---- layouts ----------------------------------------------------------------------------

  @Test
  void naiveLinearAndNlinearHaveTheDocumentedLayoutsAndLevels() {
    SplittableRandom rnd = new SplittableRandom(104);
    for (int lookback : LOOKBACKS) {
      int off = rnd.nextInt(4);
      double[] window = TestData.gaussian(rnd, off + lookback + 1, 1.0);
      double last = window[off + lookback - 1];

      LinearWindowFeatures naive = LinearWindowFeatures.naive(lookback);
      assertEquals("naive", naive.name());
      assertEquals(lookback, naive.rowsRead());
      assertEquals(0, naive.featureCount());
      assertEquals(0, naive.map().length);
      assertEquals(last, naive.level(window, off));

      LinearWindowFeatures linear = LinearWindowFeatures.linear(lookback);
      assertEquals("linear", linear.name());
      assertEquals(lookback, linear.featureCount());
      assertEquals(lookback, linear.rawCount());
      assertEquals(0.0, linear.level(window, off));
      assertArrayEquals(Arrays.copyOfRange(window, off, off + lookback), featuresOf(linear, window, off));

      LinearWindowFeatures nlinear = LinearWindowFeatures.nlinear(lookback);
      assertEquals("nlinear", nlinear.name());
      assertEquals(lookback - 1, nlinear.featureCount());
      assertEquals(last, nlinear.level(window, off));
      double[] expected = new double[lookback - 1];
      for (int k = 0; k < lookback - 1; k++) {
        expected[k] = window[off + k] - last;
      }
      assertArrayEquals(expected, featuresOf(nlinear, window, off));
    }
  }

  @Test
  void ofAppliesRawCoordinatesThenTheMapToTheLevelSubtractedWindow() {
    SplittableRandom rnd = new SplittableRandom(105);
    for (int lookback : LOOKBACKS) {
      for (boolean subtractLevel : new boolean[] {true, false}) {
        int raw = rnd.nextInt(lookback + 1);
        int rows = rnd.nextInt(4);
        double[] map = TestData.gaussian(rnd, rows * lookback, 1.0);
        LinearWindowFeatures f = LinearWindowFeatures.of("custom", lookback, subtractLevel, raw, map);
        assertEquals("custom", f.name());
        assertEquals(raw + rows, f.featureCount());
        assertEquals(raw, f.rawCount());
        assertArrayEquals(map, f.map());
        int off = rnd.nextInt(4);
        double[] window = TestData.gaussian(rnd, off + lookback, 1.0);
        double level = subtractLevel ? window[off + lookback - 1] : 0;
        assertEquals(level, f.level(window, off));
        double[] expected = new double[raw + rows];
        for (int k = 0; k < raw; k++) {
          expected[k] = window[off + k] - level;
        }
        for (int r = 0; r < rows; r++) {
          double s = 0;
          for (int k = 0; k < lookback; k++) {
            s += map[r * lookback + k] * (window[off + k] - level);
          }
          expected[raw + r] = s;
        }
        assertClose("of L=" + lookback + " R=" + raw + " rows=" + rows + " level " + subtractLevel, expected,
            featuresOf(f, window, off), Tolerances.F64);
      }
    }
  }

  @Test
  void ofCopiesItsMap() {
    double[] map = {1, 2, 3};
    LinearWindowFeatures f = LinearWindowFeatures.of("copy", 3, false, 0, map);
    map[0] = 100;
    f.map()[1] = 100;
    assertArrayEquals(new double[] {1, 2, 3}, f.map());
  }

  @Test
  void concatEqualsThePartsSideBySideWithRawCoordinatesFirst() {
    SplittableRandom rnd = new SplittableRandom(106);
    int lookback = 12;
    LinearWindowFeatures nlinear = LinearWindowFeatures.nlinear(lookback);
    LinearWindowFeatures legt = LinearWindowFeatures.legt(lookback, 4);
    LinearWindowFeatures legs = LinearWindowFeatures.legs(lookback, 3);
    LinearWindowFeatures s4d = LinearWindowFeatures.s4d(lookback, 4, new double[] {0.01, 0.3});
    double[] window = TestData.gaussian(rnd, lookback + 3, 1.0);
    int off = 2;

    // Same rows, same per-row arithmetic: the concatenation is bit-equal to the parts.
    LinearWindowFeatures all = LinearWindowFeatures.concat("all", nlinear, legt, legs, s4d);
    assertEquals("all", all.name());
    assertEquals(lookback, all.rowsRead());
    assertEquals(lookback - 1, all.rawCount());
    double[] expected = new double[all.featureCount()];
    int at = 0;
    for (LinearWindowFeatures part : new LinearWindowFeatures[] {nlinear, legt, legs, s4d}) {
      double[] p = featuresOf(part, window, off);
      System.arraycopy(p, 0, expected, at, p.length);
      at += p.length;
    }
    assertEquals(expected.length, at);
    assertArrayEquals(expected, featuresOf(all, window, off));
    assertEquals(window[off + lookback - 1], all.level(window, off));

    // The raw part comes first wherever it is listed (the Javadoc's "they come first").
    LinearWindowFeatures rawLast = LinearWindowFeatures.concat("rawLast", legt, nlinear);
    double[] r = featuresOf(nlinear, window, off);
    double[] m = featuresOf(legt, window, off);
    double[] both = new double[r.length + m.length];
    System.arraycopy(r, 0, both, 0, r.length);
    System.arraycopy(m, 0, both, r.length, m.length);
    assertArrayEquals(both, featuresOf(rawLast, window, off));

    // One part: the same features under a new name.
    assertArrayEquals(m, featuresOf(LinearWindowFeatures.concat("again", legt), window, off));
  }

  @Test
  void concatRejectsMismatchedParts() {
    int lookback = 6;
    LinearWindowFeatures legt = LinearWindowFeatures.legt(lookback, 3);
    assertFailsNaming("parts", () -> LinearWindowFeatures.concat("x"));
    assertFailsNaming("parts", () -> LinearWindowFeatures.concat("x", (LinearWindowFeatures[]) null));
    assertFailsNaming("parts[1]", () -> LinearWindowFeatures.concat("x", legt, null));
    assertFailsNaming("parts[1]",
        () -> LinearWindowFeatures.concat("x", legt, LinearWindowFeatures.legt(lookback + 1, 3)));
    assertFailsNaming("parts[1]", () -> LinearWindowFeatures.concat("x", legt,
        LinearWindowFeatures.of("nolevel", lookback, false, 0, new double[lookback])));
    assertFailsNaming("parts[2]", () -> LinearWindowFeatures.concat("x", LinearWindowFeatures.nlinear(lookback),
        legt, LinearWindowFeatures.nlinear(lookback)));
    assertFailsNaming("name", () -> LinearWindowFeatures.concat(null, legt));
  }

  // ---- arguments --------------------------------------------------------------------------

  @Test
  void badArgumentsFailNamingTheArgument() {
    double[] dts = {0.1};
    for (int bad : new int[] {0, -3}) {
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.naive(bad));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.linear(bad));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.nlinear(bad));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.legt(bad, 4));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.legs(bad, 4));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.s4d(bad, 4, dts));
      assertFailsNaming("lookback (L)", () -> LinearWindowFeatures.of("x", bad, true, 0, new double[0]));
      assertFailsNaming("order (N)", () -> LinearWindowFeatures.legt(5, bad));
      assertFailsNaming("order (N)", () -> LinearWindowFeatures.legs(5, bad));
    }
    assertFailsNaming("raw (R)", () -> LinearWindowFeatures.of("x", 4, true, 5, new double[0]));
    assertFailsNaming("raw (R)", () -> LinearWindowFeatures.of("x", 4, true, -1, new double[0]));
    assertFailsNaming("map", () -> LinearWindowFeatures.of("x", 4, true, 0, new double[6]));
    assertFailsNaming("map", () -> LinearWindowFeatures.of("x", 4, true, 0, null));
    assertFailsNaming("map", () -> LinearWindowFeatures.of("x", 2, true, 0, new double[] {1, Double.NaN}));
    assertFailsNaming("name", () -> LinearWindowFeatures.of(null, 2, true, 0, new double[0]));
    assertFailsNaming("dts", () -> LinearWindowFeatures.s4d(5, 4, new double[0]));
    assertFailsNaming("dts", () -> LinearWindowFeatures.s4d(5, 4, null));
    assertFailsNaming("order (N)", () -> LinearWindowFeatures.s4d(5, 3, dts));
    assertFailsNaming("order (N)", () -> LinearWindowFeatures.s4d(5, 0, dts));
    assertFailsNaming("dts[1]", () -> LinearWindowFeatures.s4d(5, 4, new double[] {0.1, 0}));
    assertFailsNaming("dts[0]", () -> LinearWindowFeatures.s4d(5, 4, new double[] {Double.NaN}));
  }

  // ---- level invariance -------------------------------------------------------------------

  @Test
  void levelSubtractingFeaturesIgnoreAConstantAddedToTheWindow() {
    SplittableRandom rnd = new SplittableRandom(107);
    int lookback = 20;
    LinearWindowFeatures[] subtracting = {
        LinearWindowFeatures.nlinear(lookback),
        LinearWindowFeatures.legt(lookback, 8),
        LinearWindowFeatures.legs(lookback, 8),
        LinearWindowFeatures.s4d(lookback, 8, new double[] {0.001, 0.05, 0.5}),
        LinearWindowFeatures.of("custom", lookback, true, 5, TestData.gaussian(rnd, 3 * lookback, 1.0)),
    };
    for (LinearWindowFeatures f : subtracting) {
      double[] window = TestData.gaussian(rnd, lookback, 1.0);
      double[] shifted = window.clone();
      for (int k = 0; k < lookback; k++) {
        shifted[k] += SHIFT;
      }
      assertClose(f.name() + " under a level shift", featuresOf(f, window, 0), featuresOf(f, shifted, 0),
          LEVEL_SHIFT);
      assertEquals(f.level(window, 0) + SHIFT, f.level(shifted, 0), 1e-12 * SHIFT, f.name() + " level");
    }

    // linear has level 0: its features move with the window instead.
    LinearWindowFeatures linear = LinearWindowFeatures.linear(lookback);
    double[] window = TestData.gaussian(rnd, lookback, 1.0);
    double[] shifted = window.clone();
    for (int k = 0; k < lookback; k++) {
      shifted[k] += SHIFT;
    }
    assertArrayEquals(shifted, featuresOf(linear, shifted, 0));
    assertEquals(0.0, linear.level(shifted, 0));
  }

  // ---- the registry -----------------------------------------------------------------------

  @Test
  void registeredNamesBuildTheDocumentedFeaturizations() {
    int lookback = 10;
    assertArrayEquals(LinearWindowFeatures.legt(lookback, 64).map(),
        ((LinearWindowFeatures) ForecastModels.features("legt", lookback)).map());
    assertArrayEquals(LinearWindowFeatures.legt(lookback, 5).map(),
        ((LinearWindowFeatures) ForecastModels.features("LegT:5", lookback)).map());
    assertArrayEquals(LinearWindowFeatures.legs(lookback, 64).map(),
        ((LinearWindowFeatures) ForecastModels.features("legs", lookback)).map());
    assertArrayEquals(LinearWindowFeatures.legs(lookback, 7).map(),
        ((LinearWindowFeatures) ForecastModels.features("legs:7", lookback)).map());
    double[] dts = {0.001, 0.005, 0.02, 0.1};
    assertArrayEquals(LinearWindowFeatures.s4d(lookback, 32, dts).map(),
        ((LinearWindowFeatures) ForecastModels.features("s4d", lookback)).map());
    assertArrayEquals(LinearWindowFeatures.s4d(lookback, 6, dts).map(),
        ((LinearWindowFeatures) ForecastModels.features("s4d:6", lookback)).map());
    for (String name : new String[] {"naive", "linear", "nlinear"}) {
      WindowFeatures f = ForecastModels.features(" " + name.toUpperCase(java.util.Locale.ROOT) + " ", lookback);
      assertInstanceOf(LinearWindowFeatures.class, f);
      assertEquals(name, f.name());
      assertEquals(lookback, f.rowsRead());
    }
    assertEquals(false, ForecastModels.isFitted("naive"));
    assertEquals(true, ForecastModels.isFitted("legt:4"));
    assertFailsNaming("model", () -> ForecastModels.features("nope", lookback));
    assertFailsNaming("model", () -> ForecastModels.features("legt:0", lookback));
    assertFailsNaming("model", () -> ForecastModels.features("legt:x", lookback));
    assertFailsNaming("model", () -> ForecastModels.features("nlinear:4", lookback));
    assertFailsNaming("model", () -> ForecastModels.features(null, lookback));
  }
}
