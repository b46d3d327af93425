package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;

/** The stage checklist for {@link SsmFeatures}: params, copy/uid, batch and streaming transform, persistence. */
class SsmFeaturesTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();

  private static SsmFeatures legt() {
    return new SsmFeatures().setModel("legt").setStateSize(6).setTheta(24).setChunkRows(7);
  }

  /** Per series and time, the engine's state after each row, one step at a time (float64 reference). */
  private static Map<String, double[]> engineStates(ScanModel m, List<Row> rows) {
    Map<String, double[]> h = new HashMap<>();
    Map<String, double[]> out = new HashMap<>();
    double[] y = new double[m.outputs()];
    for (Row r : rows) { // the panel is in time order within each series
      double[] state = h.computeIfAbsent(r.getString(0), k -> new double[m.stateSize()]);
      m.scan(new double[] {r.getDouble(2)}, 0, y, 0, 1, state);
      out.put(r.getString(0) + "@" + r.getLong(1), state.clone());
    }
    return out;
  }

  @Test
  void paramsHaveDefaultsAndValidateWhenSet() {
    SsmFeatures f = new SsmFeatures();
    assertEquals("unique_id", f.getOrDefault(f.seriesCol()));
    assertArrayEquals(new String[] {"y"}, f.getOrDefault(f.inputCols()));
    assertEquals("legt", f.getOrDefault(f.model()));
    assertEquals(16, (int) f.getOrDefault(f.stateSize()));
    assertFalse((Boolean) f.getOrDefault(f.lastStepOnly()));
    assertEquals(12, f.params().length);
    assertThrows(IllegalArgumentException.class, () -> f.setModel("transformer"));
    assertThrows(IllegalArgumentException.class, () -> f.setStateSize(0));
    assertThrows(IllegalArgumentException.class, () -> f.setDt(-1));
    assertThrows(IllegalArgumentException.class, () -> f.setInputCols(new String[0]));
    assertThrows(IllegalArgumentException.class, () -> f.setDiscretization("euler"));
    for (org.apache.spark.ml.param.Param<?> p : f.params()) {
      assertEquals(f.uid(), p.parent(), p.name());
      assertFalse(p.doc().isEmpty(), p.name());
    }
  }

  @Test
  void copyKeepsUidAndAppliesExtraParams() {
    SsmFeatures f = legt();
    SsmFeatures c = f.copy(new ParamMap().put(f.stateSize().w(8)));
    assertNotSame(f, c);
    assertEquals(f.uid(), c.uid());
    assertEquals(8, (int) c.getOrDefault(c.stateSize()));
    assertEquals(6, (int) f.getOrDefault(f.stateSize()));
    assertEquals(new SsmFeatures("fixed-uid").uid(), "fixed-uid");
    assertEquals("fixed-uid", new SsmFeatures("fixed-uid").model().parent());
  }

  @Test
  void transformSchemaChecksColumnsBeforeAnyJob() {
    StructType schema = MlFixtures.SCHEMA;
    StructType out = legt().transformSchema(schema);
    assertEquals("ssm_state", out.fieldNames()[2]);
    String missing = assertThrows(IllegalArgumentException.class,
        () -> legt().setInputCols(new String[] {"temp"}).transformSchema(schema)).getMessage();
    assertTrue(missing.contains("'temp'") && missing.contains("unique_id"), missing);
    StructType text = schema.add("label", DataTypes.StringType);
    String notNumeric = assertThrows(IllegalArgumentException.class,
        () -> legt().setInputCols(new String[] {"label"}).transformSchema(text)).getMessage();
    assertTrue(notNumeric.contains("'label'") && notNumeric.contains("numeric"), notNumeric);
    String taken = assertThrows(IllegalArgumentException.class,
        () -> legt().setOutputCol("y").transformSchema(schema)).getMessage();
    assertTrue(taken.contains("outputCol 'y'"), taken);
    String odd = assertThrows(IllegalArgumentException.class,
        () -> legt().setModel("s4d-lin").setStateSize(5).transformSchema(schema)).getMessage();
    assertTrue(odd.contains("even"), odd);
  }

  @Test
  void batchTransformEmitsTheEngineStateAtEveryStepAndAtTheLast() {
    List<Row> rows = MlFixtures.panel(3, 4, 50, 0.3);
    SsmFeatures f = legt();
    Map<String, double[]> expected = engineStates(f.scanModel(), rows);
    List<Row> out = f.transform(MlFixtures.frame(spark, rows)).collectAsList();
    assertEquals(rows.size(), out.size());
    for (Row r : out) {
      double[] got = ((Vector) r.get(2)).toArray();
      assertArrayEquals(expected.get(r.getString(0) + "@" + r.getLong(1)), got, 1e-12, r.toString());
    }
    List<Row> last = f.setLastStepOnly(true).transform(MlFixtures.frame(spark, rows)).collectAsList();
    assertEquals(4, last.size());
    for (Row r : last) {
      assertEquals(49L, r.getLong(1));
      assertArrayEquals(expected.get(r.getString(0) + "@49"), ((Vector) r.get(2)).toArray(), 1e-12);
    }
  }

  @Test
  void streamingTransformInSeveralMicroBatchesEqualsTheBatchTransform() throws Exception {
    List<Row> rows = MlFixtures.panel(5, 3, 40, 0.3);
    Path in = tmp.resolve("in");
    MlFixtures.appendFiles(spark, in, List.of(MlFixtures.timeRange(rows, 0, 13), MlFixtures.timeRange(rows, 13, 14),
        MlFixtures.timeRange(rows, 14, 40)));
    SsmFeatures f = legt();
    Path out = tmp.resolve("out");
    StreamingQuery q = f.transform(MlFixtures.stream(spark, in)).writeStream().format("parquet")
        .option("checkpointLocation", tmp.resolve("checkpoint").toString()).trigger(Trigger.AvailableNow())
        .start(out.toString());
    q.awaitTermination();
    assertEquals(3, java.util.Arrays.stream(q.recentProgress()).filter(p -> p.numInputRows() > 0).count(),
        "one micro-batch per file");
    Map<String, double[]> expected = engineStates(f.scanModel(), rows);
    List<Row> got = spark.read().parquet(out.toString()).collectAsList();
    assertEquals(rows.size(), got.size());
    for (Row r : got) {
      assertArrayEquals(expected.get(r.getString(0) + "@" + r.getLong(1)), ((Vector) r.get(2)).toArray(), 1e-12);
    }
    assertThrows(IllegalArgumentException.class,
        () -> legt().setLastStepOnly(true).transform(MlFixtures.stream(spark, in)));
  }

  @Test
  void savesRefusesASecondSaveOverwritesAndLoadsTheSameStage() throws Exception {
    SsmFeatures f = legt().setInputCols(new String[] {"y"}).setOutputCol("memory");
    String path = tmp.resolve("features").toString();
    f.save(path);
    assertThrows(java.io.IOException.class, () -> f.save(path));
    f.write().overwrite().save(path);
    SsmFeatures loaded = SsmFeatures.load(path);
    assertEquals(f.uid(), loaded.uid());
    for (org.apache.spark.ml.param.Param<?> p : f.params()) {
      assertTrue(java.util.Objects.deepEquals(f.getOrDefault(p), loaded.getOrDefault(loaded.getParam(p.name()))),
          p.name());
    }
    assertArrayEquals(f.getOrDefault(f.inputCols()), loaded.getOrDefault(loaded.inputCols()));
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(7, 2, 30, 0.1));
    assertEquals(f.transform(df).orderBy("unique_id", "ds").collectAsList(),
        loaded.transform(df).orderBy("unique_id", "ds").collectAsList());
    assertTrue(spark.read().json(path + "/metadata").select(col("class")).first().getString(0)
        .equals(SsmFeatures.class.getName()));
  }

  @Test
  void aPipelineOfTheFeaturesAndAnMllibEstimatorSavesAndLoadsWithIdenticalOutput() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(9, 8, 40, 0.3));
    org.apache.spark.ml.Pipeline pipeline = new org.apache.spark.ml.Pipeline().setStages(
        new org.apache.spark.ml.PipelineStage[] {legt().setLastStepOnly(true),
            new org.apache.spark.ml.clustering.KMeans().setK(2).setSeed(1).setFeaturesCol("ssm_state")});
    org.apache.spark.ml.PipelineModel fitted = pipeline.fit(df);
    String path = tmp.resolve("pipeline").toString();
    fitted.save(path);
    org.apache.spark.ml.PipelineModel loaded = org.apache.spark.ml.PipelineModel.load(path);
    assertEquals(fitted.transform(df).orderBy("unique_id").collectAsList(),
        loaded.transform(df).orderBy("unique_id").collectAsList());
    assertEquals(8, loaded.transform(df).count(), "one row per series");
  }
}
