package org.sparkssm.spark.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.LtsfData;
import org.sparkssm.forecast.LtsfEvaluation;
import org.sparkssm.forecast.LtsfSplit;
import org.sparkssm.forecast.RidgeStats;
import org.sparkssm.forecast.WindowFeatures;
import org.sparkssm.spark.SparkTests;

class SsmForecastTest {
  private final SparkSession spark = SparkTests.session();

  static final StructType LONG_FORMAT = new StructType().add("unique_id", DataTypes.StringType)
      .add("ds", DataTypes.LongType).add("y", DataTypes.DoubleType);

  /** Seasonal + trend + noise series of different lengths, times with a per-series step. */
  static List<double[]> panel(long seed, int count, List<Row> rows) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<double[]> series = new ArrayList<>();
    for (int s = 0; s < count; s++) {
      int n = 200 + rnd.nextInt(150);
      double[] y = new double[n];
      double phase = rnd.nextDouble() * 6;
      long step = 1 + s % 3;
      for (int i = 0; i < n; i++) {
        y[i] = Math.sin(2 * Math.PI * i / 24 + phase) + 0.01 * i * (s % 2 == 0 ? 1 : -1) + 0.1 * rnd.nextGaussian()
            + s;
        rows.add(RowFactory.create("s" + s, 1000 + step * i, y[i]));
      }
      series.add(y);
    }
    return series;
  }

  @Test
  void theDistributedFitEqualsTheSequentialStatisticsAndIsIndependentOfInputPartitioning() {
    List<Row> rows = new ArrayList<>();
    List<double[]> series = panel(1, 9, rows);
    int l = 48;
    int h = 12;
    int val = 24;
    int test = 12;
    // Sequential reference: the same windows through the engine alone.
    WindowFeatures features = ForecastModels.features("legt", l);
    RidgeStats train = new RidgeStats(features.featureCount(), h);
    RidgeStats validation = new RidgeStats(features.featureCount(), h);
    for (double[] y : series) {
      int n = y.length;
      LinearForecaster.accumulate(features, y, 0, n - test - val, h, train);
      LinearForecaster.accumulate(features, y, n - test - val - l, val + l, h, validation);
    }
    RidgeStats.Selection pick = RidgeStats.select(train, validation, RidgeStats.DEFAULT_LAMBDAS);

    double[] first = null;
    for (int partitions : new int[] {1, 4}) {
      Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT).repartition(partitions);
      SsmForecast.Fitted fit = SsmForecast.on(df).model("legt").lookback(l).horizon(h)
          .split(WindowSplit.lastRows(val, test)).fit();
      assertEquals(train.count(), fit.trainWindows());
      assertEquals(validation.count(), fit.validationWindows());
      assertEquals(pick.best().lambdaRel(), fit.lambdaRel());
      double[] beta = fit.linear().weights().beta();
      double[] expected = pick.best().beta();
      for (int i = 0; i < beta.length; i++) {
        assertEquals(expected[i], beta[i], 1e-9 + 1e-7 * Math.abs(expected[i]), "beta " + i);
      }
      if (first == null) {
        first = beta.clone();
      } else {
        assertArrayEquals(first, beta, "bit-identical whatever the input partitioning");
      }
    }
  }

  @Test
  void forecastsContinueEachSeriesAndEvaluationScoresTheTestWindows() {
    List<Row> rows = new ArrayList<>();
    List<double[]> series = panel(2, 5, rows);
    int l = 36;
    int h = 8;
    Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT);
    SsmForecast.Fitted fit = SsmForecast.on(df).model("nlinear").lookback(l).horizon(h)
        .split(WindowSplit.lastRows(16, h)).fit();
    LinearForecaster f = fit.linear();

    List<Row> future = fit.forecast(df).orderBy("unique_id", "step").collectAsList();
    assertEquals(5 * h, future.size());
    double[] yhat = new double[h];
    double squared = 0;
    double absolute = 0;
    for (int s = 0; s < 5; s++) {
      double[] y = series.get(s);
      int n = y.length;
      long step = 1 + s % 3;
      f.predict(y, n - l, yhat, 0, new double[f.workspaceSize()]);
      for (int k = 0; k < h; k++) {
        Row r = future.get(s * h + k);
        assertEquals("s" + s, r.getString(0));
        assertEquals(1000 + step * (n - 1) + step * (k + 1), r.getLong(1), "future time continues at the last gap");
        assertEquals(k + 1, r.getInt(2));
        assertEquals(yhat[k], r.getDouble(3), 1e-12);
      }
      // The test window: the last H rows of each series.
      f.predict(y, n - h - l, yhat, 0, new double[f.workspaceSize()]);
      for (int k = 0; k < h; k++) {
        double e = y[n - h + k] - yhat[k];
        squared += e * e;
        absolute += Math.abs(e);
      }
    }
    SsmForecast.Metrics m = fit.evaluate(df);
    assertEquals(5, m.windows());
    assertEquals(squared / (5 * h), m.mse(), 1e-12);
    assertEquals(absolute / (5 * h), m.mae(), 1e-12);
    assertEquals(5 * h, fit.testPredictions(df).count());

    // nlinear beats repeating the last value on seasonal data.
    SsmForecast.Metrics naive = SsmForecast.on(df).model("naive").lookback(l).horizon(h)
        .split(WindowSplit.lastRows(16, h)).fit().evaluate(df);
    assertTrue(m.mse() < naive.mse(), m + " vs naive " + naive);
  }

  @Test
  void missingValuesSkipWindowsAndBadInputFailsNamingTheColumnAndSeries() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      rows.add(RowFactory.create("a", (long) i, i == 40 || i == 98 ? null : Math.sin(i)));
      rows.add(RowFactory.create("b", (long) i, Math.cos(i)));
    }
    Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT);
    SsmForecast.Fitted fit = SsmForecast.on(df).model("nlinear").lookback(10).horizon(5)
        .split(WindowSplit.lastRows(10, 0)).fit();
    // Windows of 15 rows: series a loses those touching rows 40 and 98.
    long trainB = 90 - 15 + 1; // windows whose targets end before row 90 (validation: the last 10 rows)
    long trainA = trainB - 15; // minus the 15 windows that contain row 40
    assertEquals(trainA + trainB, fit.trainWindows());
    // Never a NaN forecast: series a (a missing value in its last L rows) gets none and is named.
    List<Row> future = fit.forecast(df).orderBy("unique_id", "step").collectAsList();
    assertEquals(5, future.size());
    assertTrue(future.stream().allMatch(r -> r.getString(0).equals("b") && Double.isFinite(r.getDouble(3))));
    List<Row> skipped = fit.skippedSeries(df).collectAsList();
    assertEquals(1, skipped.size(), skipped::toString);
    assertEquals("a", skipped.get(0).getString(0));
    assertEquals(100L, skipped.get(0).getLong(1));
    assertEquals(2L, skipped.get(0).getLong(2));
    assertFalse(skipped.get(0).getBoolean(4));
    assertTrue(skipped.get(0).getString(5).contains("a missing value in its last L = 10 steps"), skipped::toString);

    // Linear fill of runs up to 2 steps: a's gaps are filled, it trains fully and gets a forecast.
    SsmForecast.Fitted filled = SsmForecast.on(df).model("nlinear").lookback(10).horizon(5)
        .split(WindowSplit.lastRows(10, 0)).grid(new TimeGrid(0, TimeGrid.Fill.LINEAR, 2)).fit();
    assertEquals(2 * trainB, filled.trainWindows());
    assertEquals(10, filled.forecast(df).count());
    assertEquals(0, filled.skippedSeries(df).count());

    rows.add(RowFactory.create("b", 50L, 1.0));
    Dataset<Row> dup = spark.createDataFrame(rows, LONG_FORMAT);
    Exception e = assertThrows(Exception.class, () -> SsmForecast.on(dup).lookback(10).horizon(5).fit());
    String message = SparkTests.rootMessage(e);
    assertTrue(message.contains("duplicate") && message.contains("unique_id = 'b'"), message);

    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> SsmForecast.on(df).value("nope").fit());
    assertTrue(bad.getMessage().startsWith("value column 'nope'"), bad.getMessage());
    bad = assertThrows(IllegalArgumentException.class, () -> SsmForecast.on(df).model("arima"));
    assertTrue(bad.getMessage().startsWith("model:"), bad.getMessage());
  }

  @Test
  void nullSeriesKeysFailCountedEvenWhenFewerThanTheMinimumLength() {
    List<Row> rows = new ArrayList<>();
    panel(3, 3, rows);
    rows.add(RowFactory.create(null, 1005L, 1.0));
    rows.add(RowFactory.create(null, 1003L, 2.0));
    Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT).repartition(3);
    // Two null-key rows are far fewer than the minimum length: they must not be filtered out unseen.
    SsmForecast spec = SsmForecast.on(df).model("nlinear").lookback(24).horizon(6).minLength(30);
    Exception e = assertThrows(Exception.class, spec::fit);
    String message = SparkTests.rootMessage(e);
    assertTrue(message.contains("series column 'unique_id': expected no null keys, got null on 2 rows (first time "
        + "1003)"), message);
    SsmForecast.Fitted naive = SsmForecast.on(df).model("naive").lookback(24).horizon(6).minLength(30).fit();
    e = assertThrows(Exception.class, () -> naive.forecast(df).count());
    message = SparkTests.rootMessage(e);
    assertTrue(message.contains("series column 'unique_id': expected no null keys, got null on 2 rows (first time "
        + "1003)"), message);
  }

  @Test
  void aTimeGridInsertsMissingStepsFillsShortRunsAndRejectsOffGridTimes() {
    // Series a: every 2 time units, with t = 40, 42 absent (a run of 2) and t = 100..104 absent (3).
    List<Row> rows = new ArrayList<>();
    for (long t = 0; t < 200; t += 2) {
      if (t != 40 && t != 42 && (t < 100 || t > 104)) {
        rows.add(RowFactory.create("a", t, Math.sin(t / 7.0)));
      }
    }
    Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT);
    SsmForecast on = SsmForecast.on(df).model("nlinear").lookback(8).horizon(4).split(WindowSplit.lastRows(8, 4));
    // 100 grid steps; runs left missing break windows: each run of k missing steps costs 12 - 1 + k windows.
    long all = 100 - 12 + 1;
    SsmForecast.Fitted none = on.grid(new TimeGrid(2, TimeGrid.Fill.NONE, 0)).fit();
    SsmForecast.Fitted linear2 = on.grid(new TimeGrid(2, TimeGrid.Fill.LINEAR, 2)).fit();
    SsmForecast.Fitted linear3 = on.grid(new TimeGrid(2, TimeGrid.Fill.LINEAR, 3)).fit();
    long trainAll = all - 1 - 8 - 3; // the last 4 + 8 steps hold the test and validation targets
    assertEquals(trainAll - (11 + 2) - (11 + 3), none.trainWindows());
    assertEquals(trainAll - (11 + 3), linear2.trainWindows());
    assertEquals(trainAll, linear3.trainWindows());
    // Future times step by the grid, after the last time 198.
    List<Row> future = linear3.forecast(df).orderBy("step").collectAsList();
    assertEquals(List.of(200L, 202L, 204L, 206L), future.stream().map(r -> r.getLong(1)).toList());

    // A gap of 10^15 steps costs no time: series d's two halves are windowed apart.
    List<Row> far = new ArrayList<>();
    for (long t = 0; t < 30; t++) {
      far.add(RowFactory.create("d", t, Math.sin(t)));
      far.add(RowFactory.create("d", 1_000_000_000_000_000L + t, Math.sin(t)));
    }
    SsmForecast.Fitted split = SsmForecast.on(spark.createDataFrame(far, LONG_FORMAT)).model("nlinear").lookback(8)
        .horizon(4).split(WindowSplit.byTime(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE))
        .grid(new TimeGrid(1, TimeGrid.Fill.LINEAR, 3)).fit();
    assertEquals(2 * (30 - 12 + 1), split.trainWindows());

    rows.add(RowFactory.create("b", 0L, 1.0));
    rows.add(RowFactory.create("b", 3L, 1.0));
    Dataset<Row> offGrid = spark.createDataFrame(rows, LONG_FORMAT);
    Exception e = assertThrows(Exception.class, () -> SsmForecast.on(offGrid).model("nlinear").lookback(8).horizon(4)
        .split(WindowSplit.lastRows(8, 4)).grid(new TimeGrid(2, TimeGrid.Fill.NONE, 0)).fit());
    String message = SparkTests.rootMessage(e);
    assertTrue(message.contains("got 3 after 0 in series unique_id = 'b'") && message.contains("grid of 2"), message);
  }

  /** The benchmark files, found as the engine's protocol test finds them (never copied in). */
  static Path benchmarkData() {
    String property = System.getProperty("sparkssm.data");
    if (property != null) {
      return Paths.get(property);
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("shared/data/ETTh1.csv"))) {
        return dir.resolve("shared/data");
      }
    }
    return null;
  }

  @Test
  void onEtth1TheSparkPathReproducesTheLtsfProtocolAndTheDriverSideFit() throws Exception {
    Path data = benchmarkData();
    Assumptions.assumeTrue(data != null, "benchmark data not found: set -Dsparkssm.data=<dir with ETTh1.csv>");
    LtsfData ett = LtsfData.read(data.resolve("ETTh1.csv"));
    LtsfSplit split = LtsfSplit.ettHour();
    double[][] z = ett.standardized(split.trainEnd());
    List<Row> rows = new ArrayList<>();
    for (int c = 0; c < z.length; c++) {
      for (int t = 0; t < split.testEnd(); t++) {
        rows.add(RowFactory.create(ett.column(c), (long) t, z[c][t]));
      }
    }
    Dataset<Row> df = spark.createDataFrame(rows, LONG_FORMAT).cache();
    WindowSplit protocol = WindowSplit.byTime(split.trainEnd(), split.valEnd(), split.testEnd());

    SsmForecast.Metrics naive = SsmForecast.on(df).model("naive").lookback(96).horizon(96).split(protocol).fit()
        .evaluate(df);
    assertEquals(1.2944, naive.mse(), 5e-4, "published Repeat baseline, ETTh1 H=96");
    assertEquals(0.7132, naive.mae(), 5e-4);

    SsmForecast.Fitted fit = SsmForecast.on(df).model("nlinear").lookback(96).horizon(96).split(protocol).fit();
    SsmForecast.Metrics spark = fit.evaluate(df);
    LtsfEvaluation.Result driver = LtsfEvaluation.evaluate(ett, split, "nlinear", 96, 96);
    assertEquals(driver.testWindows(), spark.windows()); // every channel's windows
    assertEquals(driver.lambdaRel(), fit.lambdaRel());
    assertEquals(driver.mse(), spark.mse(), 1e-9);
    assertEquals(driver.mae(), spark.mae(), 1e-9);
    df.unpersist();
  }
}
