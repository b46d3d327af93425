package org.sparkssm.spark.forecast;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.sparkssm.Checks;
import org.sparkssm.spark.scan.Durations;
import org.sparkssm.spark.scan.TimeCodec;

/**
 * How a series' rows become the evenly spaced steps a forecaster reads, and what becomes of a
 * missing step. A step is missing when its row holds null, NaN or ±∞, or, on a grid, when no row
 * has its time.
 *
 * <ul>
 *   <li><b>Grid.</b> With a {@link #step} the times must lie on {@code first time + k · step}; a
 *       time between grid points fails naming the series and the time (nothing is silently
 *       rounded), and a longer gap is that many missing steps. Step 0 reads each row as the next
 *       step whatever its time (the LTSF files, row-numbered tables).
 *   <li><b>Fill.</b> A run of at most {@link #maxGap} missing steps <em>between two present
 *       values</em> is filled: {@link Fill#FFILL} with the value before it, {@link Fill#LINEAR} on
 *       the line between its neighbours, {@link Fill#ZERO} with 0. A longer run, a run at a series'
 *       start (ffill, linear) and a run at its end (every policy: nothing after it bounds it) stay
 *       missing, and no window that contains a missing step is trained, scored or forecast from.
 * </ul>
 *
 * @param step grid spacing in the time column's encoded units (microseconds for timestamps, days
 *     for dates, the value for integers); 0: rows are steps
 * @param fill the fill policy
 * @param maxGap the longest run of missing steps a policy fills
 */
public record TimeGrid(long step, Fill fill, int maxGap) implements Serializable {
  /** What fills a short run of missing steps. */
  public enum Fill {
    NONE, FFILL, LINEAR, ZERO;

    /** Parses a policy name (none, ffill, linear, zero), failing with the names. */
    public static Fill parse(String name) {
      Checks.notNull("fill", name);
      try {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw Checks.fail("fill: expected one of none, ffill, linear, zero, got '%s'", name);
      }
    }
  }

  /** Each row is the next step; missing values are left missing. */
  public static final TimeGrid ROWS = new TimeGrid(0, Fill.NONE, 0);

  /** The longest max gap: an open run's times are buffered (8 bytes each) until it closes. */
  public static final int MAX_GAP = 1_000_000;

  public TimeGrid {
    Checks.nonNegative("step", step);
    Checks.notNull("fill", fill);
    Checks.nonNegative("max gap", maxGap);
    if (maxGap > MAX_GAP) {
      Checks.fail("max gap: expected at most %d steps, got %d", MAX_GAP, maxGap);
    }
  }

  public boolean onGrid() {
    return step > 0;
  }

  /**
   * Consecutive steps after the fill policy, as a series' rows are filled when a forecaster reads
   * them ({@code WindowWalker}): a copy of {@code steps} in which a run of at most {@link #maxGap}
   * missing (non-finite) steps followed by a present value is filled, except a leading run under
   * {@link Fill#FFILL} and {@link Fill#LINEAR} (nothing before it); every other missing step stays NaN.
   */
  public double[] filled(double[] steps) {
    double[] out = steps.clone();
    boolean hasPrevious = false;
    double previous = 0;
    int gap = 0;
    for (int t = 0; t < out.length; t++) {
      double next = out[t];
      if (!Double.isFinite(next)) {
        out[t] = Double.NaN;
        gap++;
        continue;
      }
      if (gap > 0 && fill != Fill.NONE && gap <= maxGap && (hasPrevious || fill == Fill.ZERO)) {
        for (int k = 0; k < gap; k++) {
          double v;
          if (fill == Fill.ZERO) {
            v = 0;
          } else if (fill == Fill.FFILL) {
            v = previous;
          } else {
            v = previous + (next - previous) * (k + 1) / (gap + 1); // as WindowWalker computes it
          }
          out[t - gap + k] = v;
        }
      }
      gap = 0;
      hasPrevious = true;
      previous = next;
    }
    return out;
  }

  /** The frequency that infers the step from the data: the most common gap between consecutive times. */
  public static final String AUTO = "auto";

  /** The frequency that reads each row as the next step. */
  public static final String ROWS_FREQ = "rows";

  /** Whether {@code freq} has a form {@link #step} accepts for some time type (checked before Spark starts). */
  public static void checkFreq(String option, String freq) {
    Checks.notNull(option, freq);
    if (!freq.equals(AUTO) && !freq.equals(ROWS_FREQ) && !freq.matches("\\d+")) {
      Durations.parse(option, freq);
    }
  }

  /**
   * The grid step, in the encoded units of {@code df}'s time column, that a frequency names:
   * {@code auto} (the most common gap between consecutive times of a series, over all series; ties
   * go to the smaller), {@code rows} (0: each row is the next step), a duration such as {@code 1h}
   * for timestamps and dates (whole days for dates), or a positive integer for integer times.
   *
   * @param option the option or param name the messages give
   */
  public static long step(Dataset<Row> df, String series, String time, String freq, String option) {
    checkFreq(option, freq);
    DataType type = df.schema().apply(time).dataType();
    if (freq.equals(ROWS_FREQ)) {
      return 0;
    }
    if (freq.equals(AUTO)) {
      return inferredStep(df, series, time, type, option);
    }
    if (type.equals(DataTypes.LongType) || type.equals(DataTypes.IntegerType)) {
      if (!freq.matches("\\d+") || Long.parseLong(freq) < 1) {
        throw Checks.fail("%s: time column '%s' holds integers, expected a positive integer step, got '%s'", option,
            time, freq);
      }
      return Long.parseLong(freq);
    }
    if (freq.matches("\\d+")) {
      throw Checks.fail("%s: time column '%s' holds %s, expected a duration such as 1h, got '%s'", option, time,
          type.simpleString(), freq);
    }
    long micros = Durations.micros(Durations.parse(option, freq));
    if (type.equals(DataTypes.DateType)) {
      if (micros % 86_400_000_000L != 0) {
        throw Checks.fail("%s: time column '%s' holds dates, expected whole days, got '%s'", option, time, freq);
      }
      return micros / 86_400_000_000L;
    }
    return micros;
  }

  private static long inferredStep(Dataset<Row> df, String series, String time, DataType type, String option) {
    Dataset<Row> t = df.select(col(series), TimeCodec.encode(col(time), type).as("__t"));
    Dataset<Row> gaps = t.select(col("__t").minus(functions.lag(col("__t"), 1)
        .over(Window.partitionBy(col(series)).orderBy(col("__t")))).as("__gap")).where(col("__gap").gt(0));
    List<Row> mode = gaps.groupBy("__gap").count().orderBy(col("count").desc(), col("__gap")).limit(1)
        .collectAsList();
    if (mode.isEmpty()) {
      throw Checks.fail("%s auto: expected two rows with different times in some series (column '%s') to infer the "
          + "step, got none; give the step", option, time);
    }
    return mode.get(0).getLong(0);
  }
}
