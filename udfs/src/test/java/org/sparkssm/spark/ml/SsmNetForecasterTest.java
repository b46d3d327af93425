package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;

/**
 * The trained-network stage: it forecasts every series from its last window as the network does,
 * carries conformal intervals, round-trips through a saved Pipeline, refuses bad params before any
 * work and refuses weights saved by another architecture or corrupted, naming the path.
 */
class SsmNetForecasterTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();

  private static final int L = 24;
  private static final int H = 4;

  private static SsmNetForecaster small() {
    return new SsmNetForecaster().setModel("s4dnet").setDModel(8).setLayers(1).setDState(4).setDFf(8)
        .setLookback(L).setHorizon(H).setValidationRows(24).setEpochs(2).setBatchSize(16).setWindowsPerEpoch(64)
        .setLearningRate(3e-3).setNumPartitions(2).setSeed(5);
  }

  private static List<String> sorted(Dataset<Row> df) {
    return df.collectAsList().stream().map(Row::toString).sorted().collect(Collectors.toList());
  }

  @Test
  void theModelForecastsEverySeriesFromItsLastWindowWithIntervalsAndRoundTripsInAPipeline() throws Exception {
    List<Row> rows = MlFixtures.panel(11, 3, 200, 0.1);
    Dataset<Row> df = MlFixtures.frame(spark, rows);
    Pipeline pipeline = new Pipeline().setStages(new PipelineStage[] {small().setIntervalLevels(new double[] {0.8})});
    PipelineModel fitted = pipeline.fit(df);
    SsmNetForecasterModel m = (SsmNetForecasterModel) fitted.stages()[0];
    Dataset<Row> future = fitted.transform(df);
    assertEquals(List.of("unique_id", "ds", "step", "forecast", "forecast_lo_80", "forecast_hi_80"),
        List.of(future.columns()));
    List<Row> out = future.orderBy("unique_id", "step").collectAsList();
    assertEquals(3 * H, out.size());
    for (int s = 0; s < 3; s++) {
      String key = out.get(s * H).getString(0);
      double[] y = rows.stream().filter(r -> r.getString(0).equals(key)).mapToDouble(r -> r.getDouble(2)).toArray();
      double[][] expected = m.forecaster().forecast(new double[][] {y}, y.length - L);
      for (int k = 0; k < H; k++) {
        Row r = out.get(s * H + k);
        assertEquals(expected[0][k], r.getDouble(3), 1e-12 * Math.max(1, Math.abs(expected[0][k])));
        assertTrue(r.getDouble(4) <= r.getDouble(3) && r.getDouble(3) <= r.getDouble(5), r.toString());
      }
    }
    assertTrue(m.trainWindows() > 0 && m.validationWindows() == 3 * (24 - H + 1), String.valueOf(m.validationWindows()));
    assertEquals(2, m.partitions());
    assertEquals(3, m.history().size(), "epoch 0 and two epochs");

    String path = tmp.resolve("pipeline").toString();
    fitted.save(path);
    PipelineModel loaded = PipelineModel.load(path);
    assertEquals(sorted(future), sorted(loaded.transform(df)));
    SsmNetForecasterModel reloaded = (SsmNetForecasterModel) loaded.stages()[0];
    assertEquals(m.history(), reloaded.history());
    assertEquals("s4dnet", reloaded.getOrDefault(reloaded.model()));
  }

  /**
   * The precision param reaches the executors' gradients: float32 training gives other weights
   * than float64's (so the tasks computed in float32), forecasts close to float64's.
   */
  @Test
  void float32TrainingOnTheExecutorsForecastsCloseToFloat64() {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(14, 2, 150, 0.1));
    SsmNetForecasterModel f64 = small().setModel("smamba").fit(df);
    SsmNetForecasterModel f32 = small().setModel("smamba").setPrecision("float32").fit(df);
    assertEquals("float32", f32.getOrDefault(f32.precision()));
    List<Row> a = f64.transform(df).orderBy("unique_id", "step").collectAsList();
    List<Row> b = f32.transform(df).orderBy("unique_id", "step").collectAsList();
    assertEquals(a.size(), b.size());
    boolean differs = false;
    for (int i = 0; i < a.size(); i++) {
      double x = a.get(i).getDouble(3);
      double y = b.get(i).getDouble(3);
      differs |= x != y;
      // Two epochs of AdamW carry float32's rounding (about 1e-7 per gradient) into the weights.
      assertEquals(x, y, 1e-3 * Math.max(1, Math.abs(x)), a.get(i).toString());
    }
    assertTrue(differs, "float32 training gave float64's bits: the precision did not reach the tasks");
  }

  @Test
  void badParamsFailBeforeAnyWorkNamingTheParam() {
    String model = assertThrows(IllegalArgumentException.class, () -> small().setModel("transformer")).getMessage();
    assertTrue(model.contains("model") && model.contains("transformer"), model);
    String dropout = assertThrows(IllegalArgumentException.class, () -> small().setDropout(1.0)).getMessage();
    assertTrue(dropout.contains("dropout"), dropout);
    String loss = assertThrows(IllegalArgumentException.class, () -> small().setLoss("huber:x")).getMessage();
    assertTrue(loss.contains("loss"), loss);
    String precision = assertThrows(IllegalArgumentException.class, () -> small().setPrecision("half")).getMessage();
    assertTrue(precision.contains("precision") && precision.contains("half"), precision);
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(12, 1, 50, 0.1));
    String column = assertThrows(IllegalArgumentException.class, () -> small().setValueCol("value").fit(df))
        .getMessage();
    assertTrue(column.contains("value"), column);
    String resume = assertThrows(IllegalArgumentException.class, () -> small().setResume(true).fit(df)).getMessage();
    assertTrue(resume.contains("resume"), resume);
  }

  @Test
  void weightsOfAnotherArchitectureOrCorruptedAreRefusedNamingThePath() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(13, 2, 150, 0.1));
    SsmNetForecasterModel m = small().setEpochs(1).fit(df);
    String path = tmp.resolve("net").toString();
    m.save(path);
    Path config = tmp.resolve("net/weights/config.json");
    String json = Files.readString(config, StandardCharsets.UTF_8);
    Files.writeString(config, json.replaceFirst("\"layout_fingerprint\" : \"[0-9a-f]+\"",
        "\"layout_fingerprint\" : \"123\""), StandardCharsets.UTF_8);
    String foreign = assertThrows(IllegalArgumentException.class, () -> SsmNetForecasterModel.load(path))
        .getMessage();
    assertTrue(foreign.contains(path) && foreign.contains("another architecture version"), foreign);

    Files.writeString(config, json, StandardCharsets.UTF_8);
    Path weights = tmp.resolve("net/weights/model.safetensors");
    byte[] bytes = Files.readAllBytes(weights);
    Files.write(weights, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    String corrupt = assertThrows(IllegalArgumentException.class, () -> SsmNetForecasterModel.load(path))
        .getMessage();
    assertTrue(corrupt.contains(path), corrupt);

    assertEquals(0, m.transform(df.filter(col("ds").lt(10))).count(), "series shorter than L get no rows");
  }
}
