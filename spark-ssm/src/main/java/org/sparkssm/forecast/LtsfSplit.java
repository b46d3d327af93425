package org.sparkssm.forecast;

import org.sparkssm.Checks;

/**
 * The train/validation/test borders of the LTSF benchmark (Informer, Autoformer, LTSF-Linear,
 * Time-Series-Library), in rows of the file: {@code [start, end)} per split. Validation and test
 * windows start L rows before their split ({@link #from}), so their first lookback lies in the
 * previous split and every target row is inside the split; rows past the test end are unused.
 */
public record LtsfSplit(int trainEnd, int valStart, int valEnd, int testStart, int testEnd) {

  /** The three splits. */
  public enum Part {
    TRAIN, VALIDATION, TEST
  }

  public LtsfSplit {
    if (!(0 < trainEnd && trainEnd <= valStart && valStart < valEnd && valEnd <= testStart && testStart < testEnd)) {
      Checks.fail("split: expected 0 < trainEnd <= valStart < valEnd <= testStart < testEnd, got %d, %d, %d, %d, %d",
          trainEnd, valStart, valEnd, testStart, testEnd);
    }
  }

  /** ETTh1/ETTh2 ({@code Dataset_ETT_hour}): 12/4/4 months of 30 days of hourly rows. */
  public static LtsfSplit ettHour() {
    int month = 30 * 24;
    return new LtsfSplit(12 * month, 12 * month, 16 * month, 16 * month, 20 * month);
  }

  /** ETTm1/ETTm2 ({@code Dataset_ETT_minute}): as {@link #ettHour()} with 4 rows an hour. */
  public static LtsfSplit ettMinute() {
    int month = 30 * 24 * 4;
    return new LtsfSplit(12 * month, 12 * month, 16 * month, 16 * month, 20 * month);
  }

  /**
   * Weather and the other {@code Dataset_Custom} files of n rows: train = int(0.7 n),
   * test = int(0.2 n), validation the rows between.
   */
  public static LtsfSplit custom(int rows) {
    int train = (int) (rows * 0.7);
    int test = (int) (rows * 0.2);
    return new LtsfSplit(train, train, rows - test, rows - test, rows);
  }

  /** The split for a benchmark file by its name: ETTh*, ETTm*, else custom. */
  public static LtsfSplit forFile(String fileName, int rows) {
    Checks.notNull("fileName", fileName);
    if (fileName.startsWith("ETTh")) {
      return ettHour();
    }
    if (fileName.startsWith("ETTm")) {
      return ettMinute();
    }
    return custom(rows);
  }

  /** The first row of the part's segment: its start, minus L for validation and test. */
  public int from(Part part, int lookback) {
    switch (part) {
      case TRAIN:
        return 0;
      case VALIDATION:
        return valStart - lookback;
      case TEST:
        return testStart - lookback;
      default:
        throw new AssertionError(part);
    }
  }

  /** The end (exclusive) of the part's segment. */
  public int to(Part part) {
    switch (part) {
      case TRAIN:
        return trainEnd;
      case VALIDATION:
        return valEnd;
      case TEST:
        return testEnd;
      default:
        throw new AssertionError(part);
    }
  }

  /** The number of windows (stride 1) of the part for lookback L and horizon H; may be ≤ 0. */
  public int windows(Part part, int lookback, int horizon) {
    return to(part) - from(part, lookback) - lookback - horizon + 1;
  }

  /**
   * Checks that a table of {@code rows} rows holds the split and that every part has at least one
   * window for L and H.
   *
   * @throws IllegalArgumentException naming {@code source}, the part and the numbers
   */
  public void check(String source, int rows, int lookback, int horizon) {
    Checks.positive("lookback (L)", lookback);
    Checks.positive("horizon (H)", horizon);
    if (testEnd > rows) {
      Checks.fail("%s: expected at least %d rows for the benchmark split, got %d", source, testEnd, rows);
    }
    for (Part part : Part.values()) {
      if (from(part, lookback) < 0) {
        Checks.fail("%s: %s: expected L = %d <= %d, the rows before it, got a lookback reaching before row 0",
            source, part, lookback, from(part, 0));
      }
      if (windows(part, lookback, horizon) < 1) {
        Checks.fail("%s: %s: expected at least L + H = %d rows in rows [%d, %d), got %d", source, part,
            lookback + horizon, from(part, lookback), to(part), to(part) - from(part, lookback));
      }
    }
  }
}
