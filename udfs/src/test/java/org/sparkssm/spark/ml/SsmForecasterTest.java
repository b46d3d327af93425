package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.WindowSplit;

/** The stage checklist for {@link SsmForecaster} and {@link SsmForecasterModel}, and the intervals' coverage. */
class SsmForecasterTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();

  private static SsmForecaster legt() {
    return new SsmForecaster().setModel("legt:8").setLookback(24).setHorizon(4).setValidationRows(40);
  }

  private static List<String> sorted(Dataset<Row> df) {
    return df.collectAsList().stream().map(Row::toString).sorted().collect(Collectors.toList());
  }

  @Test
  void paramsHaveDefaultsAndValidateWhenSet() {
    SsmForecaster f = new SsmForecaster();
    assertEquals("ssm", f.getOrDefault(f.model()));
    assertEquals(96, (int) f.getOrDefault(f.lookback()));
    assertEquals(24, (int) f.getOrDefault(f.horizon()));
    assertEquals(-1, (int) f.getOrDefault(f.validationRows()));
    assertEquals(0, f.getOrDefault(f.intervalLevels()).length);
    assertEquals(14, f.params().length);
    assertEquals("rows", f.getOrDefault(f.freq()));
    assertThrows(IllegalArgumentException.class, () -> f.setFreq("1 fortnight"));
    assertThrows(IllegalArgumentException.class, () -> f.setFill("mean"));
    assertThrows(IllegalArgumentException.class, () -> f.setMaxGap(-1));
    assertThrows(IllegalArgumentException.class, () -> f.setModel("prophet"));
    assertThrows(IllegalArgumentException.class, () -> f.setModel("legt:0"));
    assertThrows(IllegalArgumentException.class, () -> f.setHorizon(0));
    assertThrows(IllegalArgumentException.class, () -> f.setIntervalLevels(new double[] {0.9, 1.0}));
    assertThrows(IllegalArgumentException.class, () -> f.setLambdas(new double[0]));
    f.setModel("legt:32");
    for (org.apache.spark.ml.param.Param<?> p : f.params()) {
      assertEquals(f.uid(), p.parent(), p.name());
    }
  }

  @Test
  void copyKeepsUidAndAppliesExtraParams() {
    SsmForecaster f = legt();
    SsmForecaster c = f.copy(new ParamMap().put(f.horizon().w(8)));
    assertNotSame(f, c);
    assertEquals(f.uid(), c.uid());
    assertEquals(8, (int) c.getOrDefault(c.horizon()));
    assertEquals(4, (int) f.getOrDefault(f.horizon()));
  }

  @Test
  void transformSchemaChecksColumnsBeforeAnyJob() {
    String missing = assertThrows(IllegalArgumentException.class,
        () -> legt().setValueCol("load").transformSchema(MlFixtures.SCHEMA)).getMessage();
    assertTrue(missing.contains("'load'"), missing);
    String time = assertThrows(IllegalArgumentException.class,
        () -> legt().setTimeCol("when").transformSchema(MlFixtures.SCHEMA.add("when", DataTypes.StringType)))
        .getMessage();
    assertTrue(time.contains("time column 'when'") && time.contains("string"), time);
    String names = assertThrows(IllegalArgumentException.class,
        () -> legt().setPredictionCol("step").transformSchema(MlFixtures.SCHEMA)).getMessage();
    assertTrue(names.contains("distinct"), names);
    assertEquals(List.of("unique_id", "ds", "step", "forecast", "forecast_lo_80", "forecast_hi_80", "forecast_lo_97_5",
        "forecast_hi_97_5"), List.of(legt().setIntervalLevels(new double[] {0.8, 0.975})
            .transformSchema(MlFixtures.SCHEMA).fieldNames()));
  }

  @Test
  void fitAndTransformGiveTheForecastJobsModel() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(21, 6, 200, 0.3));
    SsmForecasterModel m = legt().fit(df);
    SsmForecast.Fitted direct = SsmForecast.on(df).model("legt:8").lookback(24).horizon(4)
        .split(WindowSplit.lastRows(40, 0)).fit();
    assertArrayEquals(direct.linear().weights().beta(), m.forecaster().weights().beta(), 0.0);
    assertEquals(direct.validationMse(), m.validationMse(), 0.0);
    assertTrue(m.trainWindows() > 0 && m.validationWindows() == 6 * 37, String.valueOf(m.validationWindows()));
    assertEquals(sorted(direct.forecast(df)), sorted(m.transform(df)));
    assertTrue(m.parent() instanceof SsmForecaster);
  }

  @Test
  void conformalIntervalsCoverAtTheirLevelsOnHeldOutWindows() {
    List<Row> rows = MlFixtures.panel(31, 30, 700, 0.5);
    Dataset<Row> all = MlFixtures.frame(spark, rows);
    Dataset<Row> fitPart = all.filter(col("ds").lt(600));
    double[] levels = {0.8, 0.95};
    SsmForecasterModel m = new SsmForecaster().setModel("nlinear").setLookback(48).setHorizon(6)
        .setValidationRows(300).setIntervalLevels(levels).fit(fitPart);
    // Windows with every target at ds >= 600: never seen by the fit or the calibration.
    Dataset<Row> test = m.predictWindows(all, 100).cache();
    long n = test.count();
    assertEquals(30L * 95 * 6, n);
    for (int i = 0; i < levels.length; i++) {
      String pct = i == 0 ? "80" : "95";
      long inside = test.filter(col("actual").geq(col("forecast_lo_" + pct))
          .and(col("actual").leq(col("forecast_hi_" + pct)))).count();
      double coverage = inside / (double) n;
      assertEquals(levels[i], coverage, 0.04, "coverage at " + levels[i]);
    }
    for (int step = 1; step <= 6; step++) {
      assertTrue(m.intervalHalfWidth(1, step) > m.intervalHalfWidth(0, step));
    }
    test.unpersist();
    String tooFew = assertThrows(IllegalArgumentException.class, () -> new SsmForecaster().setModel("nlinear")
        .setLookback(48).setHorizon(6).setIntervalLevels(new double[] {0.999}).fit(fitPart)).getMessage();
    assertTrue(tooFew.contains("0.999") && tooFew.contains("calibration windows"), tooFew);
  }

  @Test
  void estimatorAndModelSaveRefuseASecondSaveOverwriteAndLoad() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(41, 4, 150, 0.3));
    SsmForecaster f = legt().setIntervalLevels(new double[] {0.5});
    String estimatorPath = tmp.resolve("estimator").toString();
    f.save(estimatorPath);
    assertThrows(java.io.IOException.class, () -> f.save(estimatorPath));
    f.write().overwrite().save(estimatorPath);
    SsmForecaster loadedEstimator = SsmForecaster.load(estimatorPath);
    assertEquals(f.uid(), loadedEstimator.uid());
    assertArrayEquals(new double[] {0.5}, loadedEstimator.getOrDefault(loadedEstimator.intervalLevels()));

    SsmForecasterModel m = f.fit(df);
    String modelPath = tmp.resolve("model").toString();
    m.save(modelPath);
    assertThrows(java.io.IOException.class, () -> m.save(modelPath));
    m.write().overwrite().save(modelPath);
    SsmForecasterModel loaded = SsmForecasterModel.load(modelPath);
    assertEquals(m.uid(), loaded.uid());
    assertEquals(m.lambdaRel(), loaded.lambdaRel(), 0.0);
    assertEquals(sorted(m.transform(df)), sorted(loaded.transform(df)));
    assertTrue(spark.read().parquet(modelPath + "/data").count() == 1);
  }

  @Test
  void aPipelineWithTheStagesSavesAndLoadsWithIdenticalOutput() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(51, 4, 150, 0.3));
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {
        new SQLTransformer().setStatement("SELECT unique_id, ds, y * 2.0 AS y FROM __THIS__"), legt()});
    PipelineModel fitted = pipeline.fit(df);
    String path = tmp.resolve("pipeline").toString();
    fitted.save(path);
    PipelineModel loaded = PipelineModel.load(path);
    assertEquals(sorted(fitted.transform(df)), sorted(loaded.transform(df)));
    pipeline.write().overwrite().save(tmp.resolve("unfitted").toString());
    assertEquals(2, Pipeline.load(tmp.resolve("unfitted").toString()).getStages().length);
  }

  @Test
  void streamingTransformEmitsTheBatchForecastsAfterEachMicroBatch() throws Exception {
    List<Row> rows = MlFixtures.panel(61, 3, 120, 0.3);
    Dataset<Row> df = MlFixtures.frame(spark, rows);
    SsmForecasterModel m = legt().setIntervalLevels(new double[] {0.8}).fit(df);
    Path in = tmp.resolve("in");
    MlFixtures.appendFiles(spark, in, List.of(MlFixtures.timeRange(rows, 0, 70), MlFixtures.timeRange(rows, 70, 71),
        MlFixtures.timeRange(rows, 71, 120)));
    Path out = tmp.resolve("out");
    StreamingQuery q = m.transform(MlFixtures.stream(spark, in)).writeStream().format("parquet")
        .option("checkpointLocation", tmp.resolve("checkpoint").toString()).trigger(Trigger.AvailableNow())
        .start(out.toString());
    q.awaitTermination();
    Dataset<Row> streamed = spark.read().parquet(out.toString());
    assertEquals(3L * 3 * 4, streamed.count(), "H forecasts per series after each of 3 micro-batches");
    // After the last micro-batch (last row at ds 119) the forecasts are the batch transform's.
    assertEquals(sorted(m.transform(df)), sorted(streamed.filter(col("ds").minus(col("step")).equalTo(119))));
    // After the second (last row at ds 70), those of the rows up to 70.
    assertEquals(sorted(m.transform(df.filter(col("ds").leq(70)))),
        sorted(streamed.filter(col("ds").minus(col("step")).equalTo(70))));
  }

  @Test
  void sparkConnectFindsEveryStageThroughServiceLoader() {
    // Listed types, as Spark Connect reads them (providers' types; none is instantiated).
    List<String> transformers = java.util.ServiceLoader.load(org.apache.spark.ml.Transformer.class).stream()
        .map(p -> p.type().getName()).collect(Collectors.toList());
    assertTrue(transformers.contains(SsmFeatures.class.getName()), transformers.toString());
    assertTrue(transformers.contains(SsmForecasterModel.class.getName()), transformers.toString());
    List<String> estimators = java.util.ServiceLoader.load(org.apache.spark.ml.Estimator.class).stream()
        .map(p -> p.type().getName()).collect(Collectors.toList());
    assertTrue(estimators.contains(SsmForecaster.class.getName()), estimators.toString());
    String unfitted = assertThrows(IllegalStateException.class,
        () -> new SsmForecasterModel().transformSchema(MlFixtures.SCHEMA)).getMessage();
    assertTrue(unfitted.contains("fitted"), unfitted);
  }
}
