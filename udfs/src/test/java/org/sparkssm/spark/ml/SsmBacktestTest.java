package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.tuning.ParamGridBuilder;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparkssm.spark.SparkTests;

/** Rolling-origin backtests: windows, refit, gap and the grid, checked against direct fits. */
class SsmBacktestTest {
  private final SparkSession spark = SparkTests.session();

  private static SsmForecaster forecaster() {
    return new SsmForecaster().setModel("nlinear").setLookback(12).setHorizon(3).setValidationRows(9);
  }

  /** MSE of a model fitted on each series minus its last {@code holdOut} rows, scored on the next H rows. */
  private double directMse(Dataset<Row> df, SsmForecaster f, int rowsPerSeries, int holdOut) {
    Dataset<Row> train = df.filter(col("ds").lt(rowsPerSeries - holdOut));
    SsmForecasterModel m = f.fit(train);
    int h = (Integer) f.getOrDefault(f.horizon());
    Dataset<Row> scoredOn = df.filter(col("ds").lt(rowsPerSeries - holdOut + h));
    List<Row> w = m.predictWindows(scoredOn, h).collectAsList();
    double sum = 0;
    for (Row r : w) {
      double e = r.getDouble(r.fieldIndex("actual")) - r.getDouble(r.fieldIndex("forecast"));
      sum += e * e;
    }
    return sum / w.size();
  }

  @Test
  void eachWindowEqualsAFitOnTheRowsBeforeItsOrigin() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(81, 4, 120, 0.3));
    SsmForecaster f = forecaster();
    ParamMap[] grid = new ParamGridBuilder().addGrid(f.lookback(), new int[] {12, 24}).build();
    SsmBacktest.Result r = SsmBacktest.of(f).paramMaps(grid).nWindows(3).stepSize(5).run(df);
    List<Row> metrics = r.metrics().orderBy("param_index", "window").collectAsList();
    assertEquals(6, metrics.size());
    for (Row m : metrics) {
      assertEquals(4L * 3, m.getLong(5), "H values of every series");
      int offset = m.getInt(2);
      assertEquals(3 + (2 - m.getInt(1)) * 5, offset);
    }
    // The last window of grid point 1 (lookback 24): origin H rows before the end, training = history.
    SsmForecaster second = f.copy(grid[1]);
    assertEquals(directMse(df, second, 120, 3), metrics.get(5).getDouble(3), 1e-9);
    // The oldest window of grid point 0: origin 13 rows before the end.
    assertEquals(directMse(df, f.copy(grid[0]), 120, 13), metrics.get(0).getDouble(3), 1e-9);
    double[] avg = r.averageMse();
    assertSame(avg[0] <= avg[1] ? grid[0] : grid[1], r.bestParamMap());
  }

  @Test
  void withoutRefitTheFirstWindowsModelServesEveryWindowAndTheGapShrinksTraining() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(83, 3, 100, 0.3));
    SsmBacktest refit = SsmBacktest.of(forecaster()).nWindows(2).stepSize(6);
    List<Row> every = refit.run(df).metrics().orderBy("window").collectAsList();
    List<Row> once = SsmBacktest.of(forecaster()).nWindows(2).stepSize(6).refit(false).run(df).metrics()
        .orderBy("window").collectAsList();
    assertEquals(every.get(0).getDouble(3), once.get(0).getDouble(3), 0.0, "same model on window 0");
    assertNotEquals(every.get(1).getDouble(3), once.get(1).getDouble(3), "window 1 refitted or not");
    double gapped = SsmBacktest.of(forecaster()).nWindows(1).gap(20).run(df).metrics().first().getDouble(3);
    assertNotEquals(every.get(1).getDouble(3), gapped, "training ends 20 rows before the origin");
    assertThrows(IllegalArgumentException.class, () -> SsmBacktest.of(forecaster()).nWindows(0));
    assertTrue(every.get(1).getDouble(4) > 0);
  }

  @Test
  void aTrainedNetworkIsBacktestedLikeTheClosedFormForecasters() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(85, 3, 160, 0.2));
    SsmNetForecaster net = new SsmNetForecaster().setModel("s4dnet").setDModel(8).setLayers(1).setDState(4)
        .setDFf(8).setLookback(24).setHorizon(4).setValidationRows(16).setEpochs(1).setBatchSize(16)
        .setWindowsPerEpoch(32).setNumPartitions(2).setSeed(3).setIntervalLevels(new double[] {0.8});
    SsmBacktest.Result r = SsmBacktest.of(net).nWindows(2).stepSize(8).run(df);
    List<Row> metrics = r.metrics().orderBy("window").collectAsList();
    assertEquals(2, metrics.size());
    // The last window: trained on every row but the last H, scored on them, as a direct fit is.
    SsmNetForecasterModel direct = net.fit(df.filter(col("ds").lt(160 - 4)));
    List<Row> w = direct.predictWindows(df, 4).collectAsList();
    assertEquals(3 * 4, w.size());
    double sum = 0;
    for (Row row : w) {
      double e = row.getDouble(row.fieldIndex("actual")) - row.getDouble(row.fieldIndex("forecast"));
      sum += e * e;
    }
    assertEquals(sum / w.size(), metrics.get(1).getDouble(3), 1e-9);
    assertEquals(3L * 4, metrics.get(0).getLong(5));
    assertTrue(List.of(r.predictions().columns()).containsAll(List.of("forecast_lo_80", "forecast_hi_80", "naive")));
  }
}
