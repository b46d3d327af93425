package org.sparkssm.train;

import org.sparkssm.Checks;

/**
 * The forecasting windows of one part of a multichannel series: window i reads rows
 * {@code [start_i, start_i + L)} and is scored on {@code [start_i + L, start_i + L + H)}, every
 * channel at once. Windows with a non-finite value anywhere in their L + H rows are skipped
 * (the documented policy: a missing value never reaches a weight) and counted, so a report can
 * say how many were left out.
 */
public final class Windows {
  private final double[][] series; // [channel][row]
  private final int lookback;
  private final int horizon;
  private final int[] starts; // each window's first row in series
  private final long[] phases; // each window's first row on its series' time axis; null: starts
  private final long skipped;

  private Windows(double[][] series, int lookback, int horizon, int[] starts, long[] phases, long skipped) {
    this.series = series;
    this.lookback = lookback;
    this.horizon = horizon;
    this.starts = starts;
    this.phases = phases;
    this.skipped = skipped;
  }

  /**
   * Windows at given rows of packed series (several series end to end, as a Spark task holds
   * them): window i reads rows {@code [starts[i], starts[i] + L + H)}, which must all be finite
   * (the caller left out windows with a missing value, and counts them in {@code skipped}), and
   * {@code phases[i]} is its first row's position on its own series' time axis.
   */
  public static Windows at(double[][] series, int[] starts, long[] phases, int lookback, int horizon, long skipped) {
    Checks.notNull("series", series);
    Checks.notNull("starts", starts);
    Checks.notNull("phases", phases);
    Checks.positive("lookback", lookback);
    Checks.positive("horizon", horizon);
    Checks.nonNegative("skipped", skipped);
    if (series.length == 0) {
      Checks.fail("series: expected at least one channel, got none");
    }
    if (phases.length != starts.length) {
      Checks.fail("phases: expected one per window (%d), got %d", starts.length, phases.length);
    }
    int rows = series[0].length;
    for (int i = 0; i < starts.length; i++) {
      if (starts[i] < 0 || starts[i] + lookback + horizon > rows) {
        Checks.fail("starts: expected window %d within the %d rows, got rows [%d, %d)", i, rows, starts[i],
            starts[i] + lookback + horizon);
      }
    }
    return new Windows(series, lookback, horizon, starts, phases, skipped);
  }

  /**
   * Windows starting at {@code from, from + 1, ...} whose last target row is before {@code to}.
   *
   * @param series the channels, {@code series[c][row]}, all the same length
   */
  public static Windows of(double[][] series, int from, int to, int lookback, int horizon) {
    Checks.notNull("series", series);
    if (series.length == 0) {
      Checks.fail("series: expected at least one channel, got none");
    }
    Checks.positive("lookback", lookback);
    Checks.positive("horizon", horizon);
    int rows = series[0].length;
    for (int c = 1; c < series.length; c++) {
      if (series[c].length != rows) {
        Checks.fail("series: channel %d has %d rows, channel 0 has %d", c, series[c].length, rows);
      }
    }
    if (from < 0 || to > rows || from > to) {
      Checks.fail("window range: expected 0 <= from <= to <= %d, got [%d, %d)", rows, from, to);
    }
    int span = lookback + horizon;
    int count = Math.max(0, to - from - span + 1);
    // bad[r]: some channel is not finite at row r; a window is kept when its span has none.
    int[] badBefore = new int[rows + 1];
    for (int r = 0; r < rows; r++) {
      boolean bad = false;
      for (double[] s : series) {
        if (!Double.isFinite(s[r])) {
          bad = true;
          break;
        }
      }
      badBefore[r + 1] = badBefore[r] + (bad ? 1 : 0);
    }
    int[] kept = new int[count];
    int n = 0;
    for (int i = 0; i < count; i++) {
      int s = from + i;
      if (badBefore[s + span] == badBefore[s]) {
        kept[n++] = s;
      }
    }
    return new Windows(series, lookback, horizon, java.util.Arrays.copyOf(kept, n), null, count - n);
  }

  public int size() {
    return starts.length;
  }

  /** Windows left out because they held a non-finite value. */
  public long skipped() {
    return skipped;
  }

  public int channels() {
    return series.length;
  }

  public int lookback() {
    return lookback;
  }

  public int horizon() {
    return horizon;
  }

  /** The first row of window i on its series' time axis (the phase of a periodic component). */
  public long start(int i) {
    return phases == null ? starts[i] : phases[i];
  }

  /** Copies window i's lookback into {@code x} ({@code L × C} from {@code off}) and its targets into {@code y}. */
  public void copy(int i, double[] x, int xOff, double[] y, int yOff) {
    int s = starts[i];
    int C = series.length;
    for (int c = 0; c < C; c++) {
      double[] col = series[c];
      for (int t = 0; t < lookback; t++) {
        x[xOff + t * C + c] = col[s + t];
      }
      if (y != null) {
        for (int t = 0; t < horizon; t++) {
          y[yOff + t * C + c] = col[s + lookback + t];
        }
      }
    }
  }
}
