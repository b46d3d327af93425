package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;

import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.sparkssm.spark.forecast.SsmForecast;

/**
 * Split-conformal half-widths per level and horizon step (see {@link SsmForecaster}): the
 * {@code ⌈(n + 1) α⌉}-th smallest absolute error of the n calibration windows at each step, exact
 * (a ranked sort per step, not an approximate quantile).
 */
final class ConformalIntervals {
  private ConformalIntervals() {}

  /**
   * @param calibration the fitted forecaster whose test split selects the calibration windows
   * @return {@code [level][step]} half-widths; empty when {@code levels} is
   */
  static double[][] halfWidths(SsmForecast.Fitted calibration, Dataset<Row> df, double[] levels) {
    int h = calibration.forecaster().horizon();
    double[][] out = new double[levels.length][h];
    if (levels.length == 0) {
      return out;
    }
    // Cached: counted, then ranked; forecasting the calibration windows is the expensive part.
    Dataset<Row> errors = calibration.testPredictions(df)
        .select(col(SsmForecast.STEP),
            functions.abs(col(SsmForecast.ACTUAL).minus(col(SsmForecast.FORECAST))).as("error"))
        .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
    try {
      return ranked(errors, levels, out);
    } finally {
      errors.unpersist();
    }
  }

  private static double[][] ranked(Dataset<Row> errors, double[] levels, double[][] out) {
    // Every calibration window gives one error per step, so each step has the same n.
    long n = errors.filter(col(SsmForecast.STEP).equalTo(1)).count();
    int[] ranks = new int[levels.length];
    for (int i = 0; i < levels.length; i++) {
      long rank = (long) Math.ceil((n + 1) * levels[i]);
      if (rank > n) {
        throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
            "intervalLevels: level %s needs at least %d calibration windows (validation windows, see "
                + "validationRows), got %d", levels[i], (long) Math.ceil(levels[i] / (1 - levels[i])), n));
      }
      ranks[i] = (int) rank;
    }
    List<Row> picked = errors
        .withColumn("rank", functions.row_number().over(Window.partitionBy(SsmForecast.STEP).orderBy(col("error"))))
        .filter(col("rank").isin((Object[]) boxed(ranks))).select(SsmForecast.STEP, "rank", "error").collectAsList();
    for (Row r : picked) {
      int step = r.getInt(0);
      int rank = r.getInt(1);
      for (int i = 0; i < ranks.length; i++) {
        if (ranks[i] == rank) {
          out[i][step - 1] = r.getDouble(2);
        }
      }
    }
    return out;
  }

  private static Integer[] boxed(int[] values) {
    Integer[] out = new Integer[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = values[i];
    }
    return out;
  }
}
