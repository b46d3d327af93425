package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;

/** The stage checklist for {@link ForecastEvaluator}, each metric against its closed form, its use on real output. */
class ForecastEvaluatorTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();

  private static final StructType SCORED = new StructType().add("actual", DataTypes.IntegerType)
      .add("forecast", DataTypes.DoubleType).add("naive", DataTypes.DoubleType)
      .add("forecast_lo_80", DataTypes.DoubleType).add("forecast_hi_80", DataTypes.DoubleType);

  /**
   * y = 1, 2, 3, 4; ŷ = 1.5, 2, 2, 6 (errors -0.5, 0, 1, -2); naive 1 (errors 0, 1, 2, 3); intervals
   * [0, 2] ∋ 1, [2.5, 3] ∌ 2, [2, 3] ∋ 3 (bounds included), [3, 3.5] ∌ 4.
   */
  private Dataset<Row> scored() {
    return spark.createDataFrame(List.of(RowFactory.create(1, 1.5, 1.0, 0.0, 2.0),
        RowFactory.create(2, 2.0, 1.0, 2.5, 3.0), RowFactory.create(3, 2.0, 1.0, 2.0, 3.0),
        RowFactory.create(4, 6.0, 1.0, 3.0, 3.5)), SCORED);
  }

  private static String message(Runnable r) {
    String m = assertThrows(IllegalArgumentException.class, r::run).getMessage();
    assertFalse(m.contains("\n"), "one line: " + m);
    return m;
  }

  @Test
  void paramsHaveDefaultsAndValidateWhenSet() {
    ForecastEvaluator e = new ForecastEvaluator();
    assertEquals("actual", e.getOrDefault(e.labelCol()));
    assertEquals("forecast", e.getOrDefault(e.predictionCol()));
    assertEquals("mse", e.getOrDefault(e.metricName()));
    assertEquals("naive", e.getOrDefault(e.naiveCol()));
    assertFalse(e.isDefined(e.intervalLevel()));
    assertEquals(5, e.params().length);
    assertThrows(IllegalArgumentException.class, () -> e.setMetricName("smape"));
    assertThrows(IllegalArgumentException.class, () -> e.setIntervalLevel(1.0));
    assertThrows(IllegalArgumentException.class, () -> e.setIntervalLevel(0.0));
    for (org.apache.spark.ml.param.Param<?> p : e.params()) {
      assertEquals(e.uid(), p.parent(), p.name());
    }
    // The defaults are the forecasters' output names.
    SsmForecaster f = new SsmForecaster();
    assertEquals(f.getOrDefault(f.predictionCol()), e.getOrDefault(e.predictionCol()));
    for (String metric : ForecastEvaluator.METRICS) {
      assertFalse(e.setMetricName(metric).isLargerBetter(), metric);
    }
  }

  @Test
  void copyKeepsUidAndAppliesExtraParams() {
    ForecastEvaluator e = new ForecastEvaluator().setMetricName("mae");
    ForecastEvaluator c = e.copy(new ParamMap().put(e.metricName().w("rmse")));
    assertNotSame(e, c);
    assertEquals(e.uid(), c.uid());
    assertEquals("rmse", c.getOrDefault(c.metricName()));
    assertEquals("mae", e.getOrDefault(e.metricName()));
  }

  @Test
  void eachMetricEqualsItsClosedForm() {
    Dataset<Row> df = scored();
    ForecastEvaluator e = new ForecastEvaluator();
    double mse = (0.25 + 0 + 1 + 4) / 4;
    assertEquals(mse, e.evaluate(df), 1e-15);
    assertEquals(Math.sqrt(mse), e.setMetricName("rmse").evaluate(df), 1e-15);
    assertEquals(3.5 / 4, e.setMetricName("mae").evaluate(df), 1e-15);
    assertEquals(3.5 / 6, e.setMetricName("mase").evaluate(df), 1e-15);
    assertEquals(0.5, e.setMetricName("coverage").setIntervalLevel(0.8).evaluate(df), 0.0);
    // As tuners call it: the metric from a param map, the evaluator itself unchanged.
    assertEquals(mse, e.evaluate(df, new ParamMap().put(e.metricName().w("mse"))), 1e-15);
    assertEquals("coverage", e.getOrDefault(e.metricName()));
    // Other column names.
    Dataset<Row> renamed = df.toDF("y", "yhat", "last", "yhat_lo_80", "yhat_hi_80");
    ForecastEvaluator r = new ForecastEvaluator().setLabelCol("y").setPredictionCol("yhat").setNaiveCol("last");
    assertEquals(3.5 / 6, r.setMetricName("mase").evaluate(renamed), 1e-15);
    assertEquals(0.5, r.setMetricName("coverage").setIntervalLevel(0.8).evaluate(renamed), 0.0);
  }

  @Test
  void coverageOfAForecastersIntervalsIsNearTheirLevelOnHeldOutWindows() {
    Dataset<Row> all = MlFixtures.frame(spark, MlFixtures.panel(91, 20, 500, 0.5));
    SsmForecasterModel m = new SsmForecaster().setModel("nlinear").setLookback(24).setHorizon(4)
        .setValidationRows(200).setIntervalLevels(new double[] {0.8, 0.9}).fit(all.filter(col("ds").lt(400)));
    // Windows with every target at ds >= 400: never seen by the fit or the calibration.
    Dataset<Row> test = m.predictWindows(all, 100).cache();
    long n = test.count();
    assertEquals(20L * 97 * 4, n);
    ForecastEvaluator e = new ForecastEvaluator().setMetricName("coverage");
    for (double level : new double[] {0.8, 0.9}) {
      String pct = level == 0.8 ? "80" : "90";
      long inside = test.filter(col("actual").geq(col("forecast_lo_" + pct))
          .and(col("actual").leq(col("forecast_hi_" + pct)))).count();
      double coverage = e.setIntervalLevel(level).evaluate(test);
      assertEquals(inside / (double) n, coverage, 0.0);
      assertEquals(level, coverage, 0.04, "coverage at " + level);
    }
    String absent = message(() -> e.setIntervalLevel(0.95).evaluate(test));
    assertTrue(absent.contains("intervalLevel 0.95") && absent.contains("'forecast_lo_95'")
        && absent.contains("forecast_lo_80"), absent);

    // The README's naive column for predictWindows output: a naive model's windows, joined.
    Dataset<Row> naive = new SsmForecaster().setModel("naive").setLookback(24).setHorizon(4)
        .fit(all.filter(col("ds").lt(400))).predictWindows(all, 100).drop("actual")
        .withColumnRenamed("forecast", "naive");
    Dataset<Row> withNaive = test.join(naive, new String[] {"unique_id", "ds", "step"});
    assertEquals(n, withNaive.count());
    Map<String, Double> y = new HashMap<>();
    for (Row row : all.collectAsList()) {
      y.put(row.getString(0) + "@" + row.getLong(1), row.getDouble(2));
    }
    double absError = 0;
    double absNaive = 0;
    for (Row r : withNaive.select("unique_id", "ds", "step", "actual", "forecast", "naive").collectAsList()) {
      assertEquals(y.get(r.getString(0) + "@" + (r.getLong(1) - r.getInt(2))), r.getDouble(5), 0.0, "the value "
          + "at the origin");
      absError += Math.abs(r.getDouble(3) - r.getDouble(4));
      absNaive += Math.abs(r.getDouble(3) - r.getDouble(5));
    }
    assertEquals(absError / absNaive, e.setMetricName("mase").evaluate(withNaive), 1e-12);
    test.unpersist();
  }

  @Test
  void scoresBacktestPredictionsAsTheBacktestsOwnMetrics() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(93, 3, 100, 0.3));
    SsmForecaster f = new SsmForecaster().setModel("nlinear").setLookback(12).setHorizon(3).setValidationRows(30)
        .setIntervalLevels(new double[] {0.8});
    SsmBacktest.Result r = SsmBacktest.of(f).nWindows(2).stepSize(5).run(df);
    Dataset<Row> predictions = r.predictions().cache();
    assertEquals(List.of("param_index", "window", "unique_id", "ds", "step", "actual", "forecast", "naive",
        "forecast_lo_80", "forecast_hi_80"), Arrays.asList(predictions.columns()));
    ForecastEvaluator e = new ForecastEvaluator();
    for (Row m : r.metrics().collectAsList()) {
      Dataset<Row> window = predictions.filter(col("window").equalTo(m.getInt(1)));
      assertEquals(m.getLong(5), window.count());
      assertEquals(m.getDouble(3), e.setMetricName("mse").evaluate(window), 1e-12);
      assertEquals(m.getDouble(4), e.setMetricName("mae").evaluate(window), 1e-12);
    }
    // The naive forecast is each series' value at the origin: window 1's origin is H rows before the end.
    Map<String, Double> y = new HashMap<>();
    for (Row row : df.collectAsList()) {
      y.put(row.getString(0) + "@" + row.getLong(1), row.getDouble(2));
    }
    double absError = 0;
    double absNaive = 0;
    List<Row> rows = predictions.collectAsList();
    for (Row p : rows) {
      long origin = p.getLong(3) - p.getInt(4);
      assertEquals(100 - 3 - (1 - p.getInt(1)) * 5 - 1, origin, "origin of window " + p.getInt(1));
      assertEquals(y.get(p.getString(2) + "@" + origin), p.getDouble(7), 0.0);
      assertEquals(y.get(p.getString(2) + "@" + p.getLong(3)), p.getDouble(5), 0.0);
      absError += Math.abs(p.getDouble(5) - p.getDouble(6));
      absNaive += Math.abs(p.getDouble(5) - p.getDouble(7));
    }
    assertEquals(2 * 3 * 3, rows.size());
    assertEquals(absError / absNaive, e.setMetricName("mase").evaluate(predictions), 1e-12);
    double coverage = e.setMetricName("coverage").setIntervalLevel(0.8).evaluate(predictions);
    assertTrue(coverage >= 0 && coverage <= 1, String.valueOf(coverage));
    predictions.unpersist();
  }

  @Test
  void saveRefusesASecondSaveOverwritesAndLoads() throws Exception {
    ForecastEvaluator e = new ForecastEvaluator().setMetricName("coverage").setIntervalLevel(0.8)
        .setLabelCol("actual");
    String path = tmp.resolve("evaluator").toString();
    e.save(path);
    assertThrows(java.io.IOException.class, () -> e.save(path));
    e.write().overwrite().save(path);
    ForecastEvaluator loaded = ForecastEvaluator.load(path);
    assertEquals(e.uid(), loaded.uid());
    assertEquals("coverage", loaded.getOrDefault(loaded.metricName()));
    assertEquals(0.8, (double) loaded.getOrDefault(loaded.intervalLevel()), 0.0);
    assertEquals(e.evaluate(scored()), loaded.evaluate(scored()), 0.0);
    ForecastEvaluator unset = new ForecastEvaluator();
    unset.write().overwrite().save(path);
    assertFalse(ForecastEvaluator.load(path).isDefined(unset.intervalLevel()));
  }

  @Test
  void badInputsFailWithOneLineNamingTheColumn() {
    Dataset<Row> df = scored();
    String missing = message(() -> new ForecastEvaluator().setPredictionCol("yhat").evaluate(df));
    assertTrue(missing.startsWith("predictionCol 'yhat': expected a column of the input"), missing);
    String naive = message(() -> new ForecastEvaluator().setMetricName("mase").evaluate(df.drop("naive")));
    assertTrue(naive.startsWith("naiveCol 'naive'"), naive);
    String type = message(() -> new ForecastEvaluator().setLabelCol("label")
        .evaluate(df.withColumn("label", col("actual").cast(DataTypes.StringType))));
    assertTrue(type.contains("labelCol 'label': expected a numeric column, got string"), type);
    String level = message(() -> new ForecastEvaluator().setMetricName("coverage").evaluate(df));
    assertTrue(level.startsWith("intervalLevel: expected a level"), level);

    Dataset<Row> nan = df.withColumn("forecast", functions.when(col("actual").equalTo(2), Double.NaN)
        .otherwise(col("forecast")));
    String nanMessage = message(() -> new ForecastEvaluator().evaluate(nan));
    assertEquals("predictionCol 'forecast': expected no null, NaN or infinite values, got 1 of 4 rows", nanMessage);
    Dataset<Row> nulls = df.withColumn("actual", functions.when(col("actual").leq(2), null)
        .otherwise(col("actual")));
    String nullMessage = message(() -> new ForecastEvaluator().setMetricName("mae").evaluate(nulls));
    assertEquals("labelCol 'actual': expected no null, NaN or infinite values, got 2 of 4 rows", nullMessage);
    Dataset<Row> openBound = df.withColumn("forecast_hi_80", functions.lit(Double.NaN));
    String bound = message(() -> new ForecastEvaluator().setMetricName("coverage").setIntervalLevel(0.8)
        .evaluate(openBound));
    assertTrue(bound.startsWith("intervalLevel 0.8, upper bound 'forecast_hi_80': expected no null"), bound);

    String empty = message(() -> new ForecastEvaluator().evaluate(df.limit(0)));
    assertTrue(empty.contains("expected at least one row"), empty);
    String exact = message(() -> new ForecastEvaluator().setMetricName("mase")
        .evaluate(df.withColumn("naive", col("actual").cast(DataTypes.DoubleType))));
    assertTrue(exact.startsWith("naiveCol 'naive'") && exact.contains("MASE undefined"), exact);
  }

  @Test
  void sparkConnectFindsTheEvaluatorThroughServiceLoader() {
    List<String> evaluators = java.util.ServiceLoader.load(org.apache.spark.ml.evaluation.Evaluator.class).stream()
        .map(p -> p.type().getName()).collect(Collectors.toList());
    assertTrue(evaluators.contains(ForecastEvaluator.class.getName()), evaluators.toString());
  }
}
