package org.sparkssm.spark.forecast;

import java.io.Serializable;
import org.sparkssm.Checks;

/**
 * Which stride-1 windows of a series train, validate or test a forecaster. A window is assigned by
 * where its H targets lie, and a window whose targets straddle a border belongs to no part, so no
 * target row is ever seen by two parts (the lookback may reach back into the previous part, as in
 * the LTSF protocol, whose val/test windows start L rows early).
 */
public final class WindowSplit implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The parts; {@link #NONE} for windows that straddle a border or lie past the test part. */
  public enum Part {
    TRAIN, VALIDATION, TEST, NONE
  }

  private final boolean byTime;
  private final long trainEnd;
  private final long validationEnd;
  private final long testEnd;
  private final int validationRows;
  private final int testRows;

  private WindowSplit(boolean byTime, long trainEnd, long validationEnd, long testEnd, int validationRows,
      int testRows) {
    this.byTime = byTime;
    this.trainEnd = trainEnd;
    this.validationEnd = validationEnd;
    this.testEnd = testEnd;
    this.validationRows = validationRows;
    this.testRows = testRows;
  }

  /**
   * Borders in the time column's encoded units (the value for long/int times, microseconds for
   * timestamps, days for dates): train targets before {@code trainEnd}, validation targets in
   * {@code [trainEnd, validationEnd)}, test targets in {@code [validationEnd, testEnd)}. With row
   * numbers as times this is the LTSF split.
   */
  public static WindowSplit byTime(long trainEnd, long validationEnd, long testEnd) {
    if (!(trainEnd <= validationEnd && validationEnd <= testEnd)) {
      Checks.fail("split: expected trainEnd <= validationEnd <= testEnd, got %d, %d, %d", trainEnd, validationEnd,
          testEnd);
    }
    return new WindowSplit(true, trainEnd, validationEnd, testEnd, 0, 0);
  }

  /**
   * Per series, counted from its end: test targets in the last {@code testRows} rows, validation
   * targets in the {@code validationRows} rows before them, training targets before those.
   */
  public static WindowSplit lastRows(int validationRows, int testRows) {
    Checks.nonNegative("validationRows", validationRows);
    Checks.nonNegative("testRows", testRows);
    return new WindowSplit(false, 0, 0, 0, validationRows, testRows);
  }

  /** Whether any window can fall in the test part. */
  boolean hasTest() {
    return byTime ? validationEnd < testEnd : testRows > 0;
  }

  /** Whether {@link #partOf} needs each series' row count. */
  boolean needsSeriesRows() {
    return !byTime;
  }

  /**
   * @param firstTarget row number (from 0 in its series) of the window's first target
   * @param horizon H
   * @param seriesRows the series' rows (only read by {@link #lastRows})
   * @param firstTargetTime encoded time of the first target
   * @param lastTargetTime encoded time of the last target
   */
  Part partOf(long firstTarget, int horizon, long seriesRows, long firstTargetTime, long lastTargetTime) {
    if (byTime) {
      if (lastTargetTime < trainEnd) {
        return Part.TRAIN;
      }
      if (firstTargetTime >= trainEnd && lastTargetTime < validationEnd) {
        return Part.VALIDATION;
      }
      if (firstTargetTime >= validationEnd && lastTargetTime < testEnd) {
        return Part.TEST;
      }
      return Part.NONE;
    }
    long testStart = seriesRows - testRows;
    long validationStart = testStart - validationRows;
    long end = firstTarget + horizon; // one past the last target
    if (firstTarget >= testStart) {
      return Part.TEST;
    }
    if (firstTarget >= validationStart && end <= testStart) {
      return Part.VALIDATION;
    }
    return end <= validationStart ? Part.TRAIN : Part.NONE;
  }
}
