package org.sparkssm.spark.sql;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.ml.SsmForecaster;
import org.sparkssm.spark.ml.SsmForecasterModel;

/**
 * {@code ssm_forecast}: the SQL function gives the saved model's own forecasts (its transform, for
 * the series whose steps the array holds), follows the model's missing-value policy, and fails on a
 * path that holds no model with one line naming the function, the argument and the path.
 */
class SsmForecastFunctionTest {
  private static final StructType LONG_FORMAT = new StructType().add("unique_id", DataTypes.StringType)
      .add("ds", DataTypes.LongType).add("y", DataTypes.DoubleType);

  private static SparkSession spark;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void register() {
    spark = SparkTests.session();
    SsmFunctions.register(spark);
  }

  /** {@code series} seeded sines of period 24 with AR(1) noise; {@code missing} replaces values by NaN. */
  static List<Row> panel(long seed, int series, int length, Map<String, long[]> missing) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Row> rows = new ArrayList<>();
    for (int s = 0; s < series; s++) {
      double phase = rnd.nextDouble() * 2 * Math.PI;
      double level = 10 * rnd.nextDouble();
      double ar = 0;
      long[] gaps = missing.getOrDefault("s" + s, new long[0]);
      for (int t = 0; t < length; t++) {
        ar = 0.5 * ar + 0.2 * (rnd.nextDouble() - 0.5);
        double y = level + Math.sin(2 * Math.PI * t / 24 + phase) + ar;
        for (long g : gaps) {
          if (g == t) {
            y = Double.NaN;
          }
        }
        rows.add(RowFactory.create("s" + s, (long) t, y));
      }
    }
    return rows;
  }

  /** Every series' values in time order, as an {@code array<double>} column {@code history}, in a view. */
  private static void historiesView(Dataset<Row> df, String view) {
    df.createOrReplaceTempView(view + "_rows");
    spark.sql("SELECT unique_id, transform(array_sort(collect_list(struct(ds, y))), r -> r.y) AS history FROM "
        + view + "_rows GROUP BY unique_id").createOrReplaceTempView(view);
  }

  /** The model's transform: series → its H forecasts by step. */
  private static Map<String, double[]> transformed(SsmForecasterModel m, Dataset<Row> df) {
    int h = (Integer) m.getOrDefault(m.horizon());
    Map<String, double[]> out = new HashMap<>();
    for (Row r : m.transform(df).collectAsList()) {
      double[] f = out.computeIfAbsent(r.getString(r.fieldIndex("unique_id")), k -> new double[h]);
      f[r.getInt(r.fieldIndex("step")) - 1] = r.getDouble(r.fieldIndex("forecast"));
    }
    return out;
  }

  private static Map<String, double[]> sqlForecasts(String path, String view) {
    Map<String, double[]> out = new HashMap<>();
    for (Row r : spark.sql("SELECT unique_id, ssm_forecast('" + path + "', history) FROM " + view).collectAsList()) {
      out.put(r.getString(0), r.isNullAt(1) ? null : doubles(r.getList(1)));
    }
    return out;
  }

  private static double[] doubles(List<Double> l) {
    double[] out = new double[l.size()];
    for (int k = 0; k < out.length; k++) {
      out[k] = l.get(k);
    }
    return out;
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": H");
    for (int k = 0; k < expected.length; k++) {
      assertEquals(expected[k], actual[k], 1e-12 * Math.max(1, Math.abs(expected[k])), what + " step " + (k + 1));
    }
  }

  @Test
  void forecastsAreTheSavedModelsTransform() throws Exception {
    Dataset<Row> df = spark.createDataFrame(panel(3, 3, 300, Map.of()), LONG_FORMAT);
    historiesView(df, "full_histories");
    // legt reads L rows, ssm reads 4 L: the function takes the last rowsRead of a longer history.
    for (String model : new String[] {"legt:8", "ssm:8", "nlinear"}) {
      SsmForecasterModel m = new SsmForecaster().setModel(model).setLookback(24).setHorizon(5).fit(df);
      String path = tmp.resolve(model.replace(':', '_')).toString();
      m.save(path);
      Map<String, double[]> expected = transformed(m, df);
      Map<String, double[]> actual = sqlForecasts(path, "full_histories");
      assertEquals(3, expected.size(), model);
      for (Map.Entry<String, double[]> e : expected.entrySet()) {
        assertClose(e.getValue(), actual.get(e.getKey()), model + " series " + e.getKey());
      }
      assertArrayEquals(actual.get("s0"), sqlForecasts(path, "full_histories").get("s0"), model + ": deterministic");
    }
  }

  @Test
  void missingStepsFollowTheModelsFillAndAnIncompleteWindowGetsNull() throws Exception {
    // s0: a gap of 2 in its last window (filled); s1: a gap of 5 there (longer than maxGap 3: no
    // forecast); s2: its last value missing (a run at the end is never filled: no forecast).
    Map<String, long[]> missing = Map.of("s0", new long[] {290, 291}, "s1", new long[] {285, 286, 287, 288, 289},
        "s2", new long[] {299});
    Dataset<Row> df = spark.createDataFrame(panel(5, 4, 300, missing), LONG_FORMAT);
    SsmForecasterModel m = new SsmForecaster().setModel("legt:8").setLookback(24).setHorizon(3).setFill("linear")
        .setMaxGap(3).fit(df);
    String path = tmp.resolve("linear-fill").toString();
    m.save(path);
    historiesView(df, "gappy_histories");
    Map<String, double[]> expected = transformed(m, df);
    Map<String, double[]> actual = sqlForecasts(path, "gappy_histories");
    assertEquals(java.util.Set.of("s0", "s3"), expected.keySet(), "the stage forecasts s0 and s3 only");
    assertClose(expected.get("s0"), actual.get("s0"), "filled gap");
    assertClose(expected.get("s3"), actual.get("s3"), "no gap");
    assertNull(actual.get("s1"), "a gap longer than maxGap");
    assertNull(actual.get("s2"), "a missing last step");
    // Null elements are missing steps too; a short history and a null one give null.
    Row r = spark.sql("SELECT ssm_forecast('" + path + "', array(1.0, 2.0)), "
        + "ssm_forecast('" + path + "', cast(null AS array<double>)), "
        + "ssm_forecast('" + path + "', array_repeat(cast(null AS double), 30))").first();
    assertTrue(r.isNullAt(0) && r.isNullAt(1) && r.isNullAt(2), r.toString());
  }

  @Test
  void aPathWithoutASavedForecasterFailsInOneLineNamingIt() throws Exception {
    String nowhere = tmp.resolve("no-such-model").toString();
    Exception e = assertThrows(Exception.class,
        () -> spark.sql("SELECT ssm_forecast('" + nowhere + "', array(1.0, 2.0))").collect());
    String deepest = deepest(e).getMessage();
    assertTrue(deepest.startsWith("ssm_forecast: argument 'model_path': '" + nowhere + "': expected a forecaster "
        + "saved by SsmForecasterModel.save or forecast --model-out, got no folder"), deepest);
    assertFalse(deepest.contains("\n"), deepest);

    String estimator = tmp.resolve("an-estimator").toString();
    new SsmForecaster().setModel("legt:8").save(estimator);
    e = assertThrows(Exception.class,
        () -> spark.sql("SELECT ssm_forecast('" + estimator + "', array(1.0, 2.0))").collect());
    deepest = deepest(e).getMessage();
    assertTrue(deepest.contains(estimator) && deepest.contains("expected a saved SsmForecasterModel")
        && deepest.contains(SsmForecaster.class.getName()), deepest);

    e = assertThrows(Exception.class, () -> spark.sql("SELECT ssm_forecast(cast(null AS string), array(1.0))").collect());
    assertTrue(SparkTests.rootMessage(e).contains("ssm_forecast: argument 'model_path': expected the path"),
        SparkTests.rootMessage(e));
  }

  /** The first IllegalArgumentException of the cause chain (Spark wraps what a UDF throws). */
  private static Throwable deepest(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof IllegalArgumentException) {
        return c;
      }
    }
    throw new AssertionError("no IllegalArgumentException in " + SparkTests.rootMessage(t));
  }
}
