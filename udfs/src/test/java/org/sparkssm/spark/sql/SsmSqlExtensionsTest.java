package org.sparkssm.spark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.ml.SsmForecaster;
import org.sparkssm.spark.ml.SsmForecasterModel;

/**
 * {@code spark.sql.extensions=org.sparkssm.spark.sql.SsmSqlExtensions} makes every function of the
 * catalog available to plain SQL with no code call. The conf is static (read when a SparkContext's
 * first session starts), so the session runs in its own JVM ({@link SqlExtensionsSession}); this
 * JVM fits and saves the model and computes what each function must return.
 */
class SsmSqlExtensionsTest {
  @TempDir
  Path tmp;

  @Test
  void theExtensionGivesPlainSqlEveryFunction() throws Exception {
    SparkSession spark = SparkTests.session();
    StructType schema = new StructType().add("unique_id", DataTypes.StringType).add("ds", DataTypes.LongType)
        .add("y", DataTypes.DoubleType);
    List<Row> rows = SsmForecastFunctionTest.panel(11, 1, 200, Map.of());
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    SsmForecasterModel m = new SsmForecaster().setModel("legt:8").setLookback(24).setHorizon(4).fit(df);
    String path = tmp.resolve("model").toString();
    m.save(path);
    double[] expected = new double[4];
    for (Row r : m.transform(df).collectAsList()) {
      expected[r.getInt(r.fieldIndex("step")) - 1] = r.getDouble(r.fieldIndex("forecast"));
    }
    StringBuilder history = new StringBuilder();
    for (Row r : rows) {
      history.append(history.length() == 0 ? "" : ",").append(r.getDouble(2));
    }

    Map<String, double[]> out = run(path, history.toString());
    assertEquals(SsmFunctions.CATALOG.keySet(), out.keySet(), "every catalog function ran");
    double[] scan = out.get("ssm_scan");
    assertEquals(1.0, scan[0], 1e-15);
    assertEquals(0.9, scan[1], 1e-15);
    assertEquals(0.81, scan[2], 1e-15);
    assertEquals(4, out.get("ssm_features").length);
    assertEquals(3, out.get("ssm_legt_memory").length);
    double[] forecast = out.get("ssm_forecast");
    assertEquals(4, forecast.length);
    for (int k = 0; k < 4; k++) {
      assertEquals(expected[k], forecast[k], 1e-12 * Math.max(1, Math.abs(expected[k])), "step " + (k + 1));
    }
  }

  /** Runs {@link SqlExtensionsSession} in a child JVM and parses its {@code name=values} lines. */
  private Map<String, double[]> run(String modelPath, String history) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dio.netty")) {
        command.add(a);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
        .replace(File.pathSeparator + File.pathSeparator, File.pathSeparator));
    command.add(SqlExtensionsSession.class.getName());
    command.add(modelPath);
    command.add(history);
    Path log = tmp.resolve("session.log");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean done = p.waitFor(180, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertTrue(done && p.exitValue() == 0, "the SQL session failed:\n" + output);
    Map<String, double[]> out = new HashMap<>();
    for (String line : output.split("\\R")) {
      int eq = line.indexOf('=');
      if (eq > 0 && SsmFunctions.CATALOG.containsKey(line.substring(0, eq))) {
        String[] values = line.substring(eq + 1).split(",");
        double[] v = new double[values.length];
        for (int i = 0; i < v.length; i++) {
          v[i] = Double.parseDouble(values[i]);
        }
        out.put(line.substring(0, eq), v);
      }
    }
    return out;
  }
}
