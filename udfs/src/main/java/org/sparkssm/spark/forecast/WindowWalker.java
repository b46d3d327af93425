package org.sparkssm.spark.forecast;

import java.util.Objects;

/**
 * Walks rows sorted by series and time and reports every stride-1 window of {@code span}
 * consecutive present values, holding only the last span values: a ring written twice
 * ({@code v[i]} and {@code v[i + span]}), so every window is one contiguous slice of it whatever
 * the series' length. A missing value (null, NaN, infinite) breaks the run: no window contains one.
 */
final class WindowWalker {
  /** What a window is handed to. */
  interface Visitor {
    /**
     * @param values the ring; the window is {@code values[off .. off + span)}, oldest first
     * @param times the times, same layout
     * @param lastRow row number in its series (from 0) of the window's last row
     */
    void window(Object key, double[] values, long[] times, int off, long lastRow);
  }

  private final int span;
  private final String timeColumn;
  private final String seriesColumn;
  private final double[] values;
  private final long[] times;
  private Object key;
  private boolean started;
  private long row;
  private long present; // consecutive present values ending at the last row
  private long lastTime;

  WindowWalker(int span, String seriesColumn, String timeColumn) {
    this.span = span;
    this.seriesColumn = seriesColumn;
    this.timeColumn = timeColumn;
    this.values = new double[2 * span];
    this.times = new long[2 * span];
  }

  /** The series being walked, or null before the first row. */
  Object key() {
    return key;
  }

  /** Rows seen of the current series. */
  long rows() {
    return row;
  }

  /** Whether the last {@code span} rows of the current series were all present. */
  boolean lastSpanPresent() {
    return present >= span;
  }

  /** The start of the last span values in the ring (valid when {@link #lastSpanPresent()}). */
  int lastSpanOffset() {
    return (int) ((row - span) % span);
  }

  double[] values() {
    return values;
  }

  long[] times() {
    return times;
  }

  /** True when {@code key} starts a new series (the caller finishes the previous one first). */
  boolean startsSeries(Object rowKey) {
    return !started || !Objects.equals(key, rowKey);
  }

  void add(Object rowKey, boolean timeIsNull, long time, double value, Visitor visitor) {
    if (rowKey == null) {
      throw new IllegalArgumentException(String.format(
          "column '%s': expected a series key in every row, got null", seriesColumn));
    }
    if (startsSeries(rowKey)) {
      key = rowKey;
      started = true;
      row = 0;
      present = 0;
    } else if (!timeIsNull && time <= lastTime) {
      throw new IllegalArgumentException(String.format(
          "column '%s': expected strictly increasing times, got %d twice in series %s = '%s' (duplicate timestamp)",
          timeColumn, time, seriesColumn, key));
    }
    if (timeIsNull) {
      throw new IllegalArgumentException(String.format(
          "column '%s': expected a time in every row, got null in series %s = '%s'", timeColumn, seriesColumn, key));
    }
    lastTime = time;
    int slot = (int) (row % span);
    row++;
    if (!Double.isFinite(value)) {
      present = 0;
      return;
    }
    values[slot] = value;
    values[slot + span] = value;
    times[slot] = time;
    times[slot + span] = time;
    present++;
    if (present >= span && visitor != null) {
      visitor.window(key, values, times, lastSpanOffset(), row - 1);
    }
  }
}
