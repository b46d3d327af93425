package org.sparkssm.spark.forecast;

import java.util.Objects;
import org.apache.spark.sql.types.DataType;
import org.sparkssm.spark.scan.TimeCodec;

/**
 * Walks rows sorted by series and time and reports every stride-1 window of {@code span}
 * consecutive present steps, holding only the last span values: a ring written twice
 * ({@code v[i]} and {@code v[i + span]}), so every window is one contiguous slice of it whatever
 * the series' length. Rows become steps by the {@link TimeGrid}: missing grid times are missing
 * steps, a short run of missing steps between present values is filled by its policy, and a run
 * left missing breaks the windows (no window contains a missing step). Only a run's times are
 * buffered (at most the grid's max gap), so memory stays O(span + max gap) per task.
 */
final class WindowWalker {
  /** What a window is handed to. */
  interface Visitor {
    /**
     * @param values the ring; the window is {@code values[off .. off + span)}, oldest first
     * @param times the times, same layout
     * @param lastRow step number in its series (from 0) of the window's last step
     */
    void window(Object key, double[] values, long[] times, int off, long lastRow);
  }

  private final int span;
  private final String timeColumn;
  private final String seriesColumn;
  private final DataType timeType;
  private final TimeGrid grid;
  private final double[] values;
  private final long[] times;
  private final long[] gapTimes; // times of the pending run of missing steps, up to the max gap
  private Object key;
  private boolean started;
  private long row; // steps resolved (pushed or left missing) in the current series
  private long present; // consecutive present steps ending at the last resolved one
  private long gap; // missing steps after the last present value, not yet resolved
  private long unfilled; // steps left missing in the current series, the pending run excluded
  private boolean hasPrevious;
  private double previous;
  private long lastTime;

  WindowWalker(int span, String seriesColumn, String timeColumn, DataType timeType, TimeGrid grid) {
    this.span = span;
    this.seriesColumn = seriesColumn;
    this.timeColumn = timeColumn;
    this.timeType = timeType;
    this.grid = grid;
    this.values = new double[2 * span];
    this.times = new long[2 * span];
    this.gapTimes = new long[grid.maxGap()];
  }

  /** The values a window holds. */
  int span() {
    return span;
  }

  /** The series being walked, or null before the first row. */
  Object key() {
    return key;
  }

  /** Steps seen of the current series (missing ones included). */
  long rows() {
    return row + gap;
  }

  /** Steps of the current series that are missing after the fill policy. */
  long missing() {
    return unfilled + gap;
  }

  /** Whether the last {@code n <= span} steps of the current series are all present. */
  boolean lastPresent(int n) {
    return gap == 0 && present >= n;
  }

  /** Whether the last {@code span} steps of the current series were all present. */
  boolean lastSpanPresent() {
    return lastPresent(span);
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
          "series column '%s': expected no null keys, got null", seriesColumn));
    }
    boolean first = startsSeries(rowKey);
    if (first) {
      key = rowKey;
      started = true;
      row = 0;
      present = 0;
      gap = 0;
      unfilled = 0;
      hasPrevious = false;
    }
    if (timeIsNull) {
      throw new IllegalArgumentException(String.format(
          "column '%s': expected a time in every row, got null in series %s = '%s'", timeColumn, seriesColumn, key));
    }
    if (!first) {
      if (time <= lastTime) {
        throw new IllegalArgumentException(String.format(
            "column '%s': expected strictly increasing times, got %s twice in series %s = '%s' (duplicate time)",
            timeColumn, TimeCodec.format(time, timeType), seriesColumn, key));
      }
      if (grid.onGrid()) {
        long between = time - lastTime;
        if (between % grid.step() != 0) {
          throw new IllegalArgumentException(String.format("column '%s': expected times on a grid of %s, got %s "
              + "after %s in series %s = '%s' (off the grid; give the frequency with --freq)", timeColumn,
              TimeCodec.formatStep(grid.step(), timeType), TimeCodec.format(time, timeType),
              TimeCodec.format(lastTime, timeType), seriesColumn, key));
        }
        long absent = between / grid.step() - 1;
        if (gap + absent <= gapTimes.length) {
          for (long k = 1; k <= absent; k++) {
            missingStep(lastTime + k * grid.step());
          }
        } else {
          gap += absent; // too long to fill: the times are not needed, and a loop could run for ages
        }
      }
    }
    lastTime = time;
    if (!Double.isFinite(value)) {
      missingStep(time);
      return;
    }
    resolveGap(value, visitor);
    push(time, value, visitor);
    hasPrevious = true;
    previous = value;
  }

  private void missingStep(long time) {
    if (gap < gapTimes.length) {
      gapTimes[(int) gap] = time;
    }
    gap++;
  }

  /** A present value {@code next} ends the pending run of missing steps: fill it, or leave it missing. */
  private void resolveGap(double next, Visitor visitor) {
    if (gap == 0) {
      return;
    }
    TimeGrid.Fill fill = grid.fill();
    boolean filled = fill != TimeGrid.Fill.NONE && gap <= grid.maxGap() && (hasPrevious || fill == TimeGrid.Fill.ZERO);
    if (filled) {
      for (int k = 0; k < gap; k++) {
        double v;
        if (fill == TimeGrid.Fill.ZERO) {
          v = 0;
        } else if (fill == TimeGrid.Fill.FFILL) {
          v = previous;
        } else {
          v = previous + (next - previous) * (k + 1) / (gap + 1);
        }
        push(gapTimes[k], v, visitor);
      }
    } else {
      row += gap;
      unfilled += gap;
      present = 0;
    }
    gap = 0;
  }

  private void push(long time, double value, Visitor visitor) {
    int slot = (int) (row % span);
    row++;
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
