package org.sparkssm.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Locale;

/**
 * The one tolerance policy of the test suite. A value passes when
 * {@code |expected - actual| <= abs + rel * |expected|}. Failure messages give the index, both
 * values and the largest difference seen.
 */
public final class Tolerances {
  private Tolerances() {}

  /** Fast float64 kernel vs. its float64 reference twin: same math, different order of operations. */
  public static final Tolerance F64 = new Tolerance(1e-12, 1e-10);
  /** Float64 over long sequences (10^5..10^7 steps) or through matrix functions (expm, eigen). */
  public static final Tolerance F64_LONG = new Tolerance(1e-9, 1e-7);
  /** Chunked vs. one-shot scans: rounding differs only by where the carry is taken. */
  public static final Tolerance CHUNKED = new Tolerance(1e-12, 1e-10);
  /** Results that pass through float32 (weights, float32 kernels). */
  public static final Tolerance F32 = new Tolerance(1e-5, 1e-4);
  /**
   * A float32 selective scan vs. the float64 scan of the same inputs, with {@code abs} in units of
   * the RMS of the result (y crosses zero, so a relative bound per element means nothing there).
   * Each step rounds every term to float (a few 1e-8 relative); the recurrence damps old errors by
   * {@code exp(ΔA) < 1}, so they do not grow with L but add up over a mode's memory of about
   * {@code 1/(Δ|A|)} steps (1000 at Δ = 1e-3, A = -1), largely cancelling since Δ varies per step.
   * Measured on Mamba-like inputs (D = 1536, N = 16, L up to 2048, and odd shapes): at most 5.7e-6
   * RMS on y and 3.6e-6 on the final h; the bound leaves a factor of 3.5.
   */
  public static final Tolerance F32_SCAN = new Tolerance(2e-5, 0);
  /**
   * A float32 SSD scan (Mamba-2) vs. the float64 SSD scan of the same inputs, {@code abs} in units of
   * the RMS of the result as {@link #F32_SCAN}. Each term of a block sums up to Q (≤ 256) float32
   * products; the decays damp old errors as in the selective scan. Measured (SsdScan32Test: H up to
   * 8, P up to 64, N up to 128, L up to 1024, Q up to 256): at most 6.1e-6 RMS on y and 2.1e-6 on
   * the final state with a float32 state, 4.6e-6 and 1.1e-6 with a float64 state; a factor of 4.
   */
  public static final Tolerance F32_SSD = new Tolerance(2.5e-5, 0);
  /**
   * A float32 SSD scan in pieces (state carried) vs. one shot, in units of the RMS as
   * {@link #F32_SSD}: the blocks start where each piece starts, so the rounding differs as much as
   * against float64. Measured: at most 7.1e-6 RMS on y and 2.0e-6 on the final state with a float32
   * state, 1.9e-6 and 1.0e-6 with a float64 state; a factor of 4. (Cuts at block boundaries: the
   * same bits.)
   */
  public static final Tolerance F32_SSD_CHUNKED = new Tolerance(3e-5, 0);
  /**
   * The float32 mode of the trainable selective scan ({@code SelectiveScanGrad}) vs. its float64
   * mode on the same double inputs, forward and backward (y, du, dδ, dz, dB, dC, gA, gD, gbias),
   * with {@code abs} in units of each result's RMS, as {@link #F32_SCAN}. The inputs and parameters
   * are rounded to float, every step and the adjoint run in float32, gA/gD/gbias sum in float32
   * within a chunk and in float64 across chunks. Measured (SelectiveScanGrad32Test: D up to 128,
   * N = 16, groups, L up to 4096 with Mamba-like Δ): at most 9.9e-6 RMS (dδ at L = 4096; y 9.0e-6,
   * du 7.8e-6, dz 5.1e-6, dB 4.0e-6, gA 4.6e-6, gbias 2.1e-6); the bound leaves a factor of 5.
   */
  public static final Tolerance F32_SCAN_GRAD = new Tolerance(5e-5, 0);
  /**
   * Float32 sums of the same terms in another order (a vector path's per-lane partial sums vs. its
   * scalar twin's sequential sum; float32 within a piece and float64 across pieces), {@code abs} in
   * units of the result's RMS. Measured at most 1.5e-6 (dB summed over 128 channels); the bound
   * leaves a factor of 5.
   */
  public static final Tolerance F32_SUM_ORDER = new Tolerance(8e-6, 0);
  /**
   * The float32 convolution mode of the trainable S4D layer vs. its float64 mode (S4dLayerFloat32Test),
   * y, du and every parameter gradient (per tensor), {@code abs} in units of each result's RMS. K,
   * D, u and dy are rounded to float and the convolution and both correlations sum up to len
   * float32 products per element (len ≤ 96 here); dK sums over the sequences and its chain to the
   * parameters run in float64. Measured (H 1 to 40, M 1 to 32, len 1 to 96, batch 1 to 3, six
   * seeds): at most 1.6e-5 RMS, on a one-element tensor (g log_A_real at H = M = 1, where the RMS
   * is the value itself); at most 6.8e-6 on tensors of 40 or more elements (gC, gA_imag). The bound
   * leaves a factor of 5.
   */
  public static final Tolerance F32_S4D_CONV = new Tolerance(8e-5, 0);
  /** Sample statistics of seeded random draws (thousands of samples) against their distribution. */
  public static final Tolerance SAMPLE_STATISTIC = new Tolerance(0, 0.1);
  /** Closed forms that are approximations themselves (e.g. HiPPO reconstruction of a window). */
  public static final Tolerance APPROX = new Tolerance(1e-3, 1e-3);

  /** Absolute and relative tolerance. */
  public static final class Tolerance {
    public final double abs;
    public final double rel;

    public Tolerance(double abs, double rel) {
      this.abs = abs;
      this.rel = rel;
    }

    public boolean accepts(double expected, double actual) {
      if (Double.isNaN(expected) || Double.isNaN(actual)) {
        return Double.isNaN(expected) && Double.isNaN(actual);
      }
      if (expected == actual) {
        return true; // infinities of the same sign
      }
      return Math.abs(expected - actual) <= abs + rel * Math.abs(expected);
    }
  }

  public static void assertClose(String what, double expected, double actual, Tolerance tol) {
    if (!tol.accepts(expected, actual)) {
      fail(String.format(Locale.ROOT, "%s: expected %.17g, got %.17g (diff %.3g, abs %.1g + rel %.1g)",
          what, expected, actual, Math.abs(expected - actual), tol.abs, tol.rel));
    }
  }

  /** Compares {@code expected[eOff..eOff+n)} with {@code actual[aOff..aOff+n)}. */
  public static void assertClose(String what, double[] expected, int eOff, double[] actual, int aOff, int n,
      Tolerance tol) {
    int firstBad = -1;
    double maxDiff = 0;
    int maxAt = -1;
    for (int i = 0; i < n; i++) {
      double e = expected[eOff + i];
      double a = actual[aOff + i];
      double diff = Math.abs(e - a);
      if (!(diff <= maxDiff)) {
        maxDiff = diff;
        maxAt = i;
      }
      if (firstBad < 0 && !tol.accepts(e, a)) {
        firstBad = i;
      }
    }
    if (firstBad >= 0) {
      fail(String.format(Locale.ROOT,
          "%s: at index %d expected %.17g, got %.17g; max diff %.3g at index %d (abs %.1g + rel %.1g)",
          what, firstBad, expected[eOff + firstBad], actual[aOff + firstBad], maxDiff, maxAt, tol.abs, tol.rel));
    }
  }

  /**
   * Checks {@code actual[aOff..aOff+n)} against {@code expected[eOff..eOff+n)} with {@code tol.abs} in
   * units of the RMS of expected (for results that cross zero, such as a float32 scan against its
   * float64 twin: a relative bound per element means nothing there) plus {@code tol.rel} of each
   * element, and returns the largest difference in units of that RMS (the measured error that the
   * tolerances' comments quote).
   */
  public static double assertCloseToRms(String what, double[] expected, int eOff, double[] actual, int aOff, int n,
      Tolerance tol) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += expected[eOff + i] * expected[eOff + i];
    }
    double rms = Math.sqrt(sum / n);
    assertClose(what + String.format(Locale.ROOT, " (RMS %.3g)", rms), expected, eOff, actual, aOff, n,
        new Tolerance(tol.abs * rms, tol.rel));
    double max = 0;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, Math.abs(expected[eOff + i] - actual[aOff + i]));
    }
    return max / rms;
  }

  /** {@link #assertCloseToRms(String, double[], int, double[], int, int, Tolerance)} over whole arrays. */
  public static double assertCloseToRms(String what, double[] expected, double[] actual, Tolerance tol) {
    if (expected.length != actual.length) {
      fail(what + ": expected length " + expected.length + ", got " + actual.length);
    }
    return assertCloseToRms(what, expected, 0, actual, 0, expected.length, tol);
  }

  public static void assertClose(String what, double[] expected, double[] actual, Tolerance tol) {
    if (expected.length != actual.length) {
      fail(what + ": expected length " + expected.length + ", got " + actual.length);
    }
    assertClose(what, expected, 0, actual, 0, expected.length, tol);
  }
}
