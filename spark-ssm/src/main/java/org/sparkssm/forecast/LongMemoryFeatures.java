package org.sparkssm.forecast;

import org.sparkssm.Checks;

/**
 * The best SSM forecaster's features ({@code ssm} in {@link ForecastModels}): NLinear's raw window
 * of the last L values, plus a HiPPO-LegT memory of a longer span of {@code S = span · L} values,
 * all measured from the last value.
 *
 * <p>Why: a linear map over the last L values cannot see weekly or slower patterns when L is a few
 * days of hourly data, and a raw window long enough to see them has so many weights that ridge
 * must shrink them hard (LTSF-Linear's lookback study: longer raw windows stop helping). An SSM
 * memory compresses the long span into N Legendre coefficients (the optimal polynomial projection
 * of HiPPO), so the slow shape of the past costs N weights instead of S, while the recent window
 * keeps its full resolution for the fast dynamics. The memory is the LegT state after scanning the
 * span from zero; being linear in the window, it is one precomputed N × S map (see
 * {@link LinearWindowFeatures}). One ridge penalty fits both parts: {@link RidgeStats#solve}
 * standardizes every coordinate.
 *
 * <p>{@link #rowsRead()} is S: a window reads S values, so the first S − L rows of a series train
 * no window. Windows are still assigned to train, validation and test by their targets, so a
 * benchmark scores exactly the same test targets as a model of lookback L.
 */
public final class LongMemoryFeatures implements WindowFeatures {
  private static final long serialVersionUID = 1L;

  private final int recent;
  private final LinearWindowFeatures memory;

  private LongMemoryFeatures(int recent, LinearWindowFeatures memory) {
    this.recent = recent;
    this.memory = memory;
  }

  /**
   * @param lookback L, the raw recent window, {@code >= 1}
   * @param span the memory's span in multiples of L, {@code >= 1}
   * @param order N, the LegT memory's size, {@code >= 1}
   */
  public static LongMemoryFeatures of(int lookback, int span, int order) {
    Checks.positive("lookback (L)", lookback);
    Checks.positive("span", span);
    Checks.positive("order (N)", order);
    long s = (long) lookback * span;
    if (s > Integer.MAX_VALUE / Math.max(order, 1)) {
      Checks.fail("span: expected span · L · N to fit an array, got %d · %d · %d", span, lookback, order);
    }
    return new LongMemoryFeatures(lookback, LinearWindowFeatures.legt((int) s, order));
  }

  @Override
  public String name() {
    return "ssm";
  }

  /** S, the values a window reads. */
  @Override
  public int rowsRead() {
    return memory.rowsRead();
  }

  /** L, the raw recent window. */
  public int recentLookback() {
    return recent;
  }

  /** L − 1 raw coordinates (the last one is the level itself, identically 0) and N memory coefficients. */
  @Override
  public int featureCount() {
    return recent - 1 + memory.featureCount();
  }

  /**
   * NLinear's window alone: where the training windows are too few for the memory's extra
   * weights (a long L on a short series), the validation windows choose the window without it.
   */
  @Override
  public int[] nestedFeatureCounts() {
    return new int[] {recent - 1};
  }

  @Override
  public double level(double[] window, int off) {
    return window[off + rowsRead() - 1];
  }

  @Override
  public void features(double[] window, int off, double[] out, int outOff) {
    assert off >= 0 && off + rowsRead() <= window.length : "window range";
    assert outOff >= 0 && outOff + featureCount() <= out.length : "out range";
    int end = off + rowsRead();
    double level = window[end - 1];
    int first = end - recent;
    for (int k = 0; k < recent - 1; k++) {
      out[outOff + k] = window[first + k] - level;
    }
    memory.features(window, off, out, outOff + recent - 1);
  }
}
