package org.sparkssm.spark.forecast;

import java.io.Serializable;
import java.util.Locale;
import org.sparkssm.Checks;

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

}
