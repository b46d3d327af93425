package org.sparkssm.spark.sql;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkssm.spark.SparkTests;

class SsmFunctionsTest {
  private static SparkSession spark;

  @BeforeAll
  static void register() {
    spark = SparkTests.session();
    SsmFunctions.register(spark);
  }

  private static double[] doubles(Row r, int i) {
    List<Double> l = r.getList(i);
    double[] out = new double[l.size()];
    for (int k = 0; k < out.length; k++) {
      out[k] = l.get(k);
    }
    return out;
  }

  @Test
  void ssmScanIsTheDiagonalRecurrence() {
    Row r = spark.sql("SELECT ssm_scan(array(1.0, 0.0, 0.0, 2.0), array(0.9, -0.5), array(1.0, 2.0), array(1.0, 0.5))")
        .first();
    double[] y = doubles(r, 0);
    // h1 = (0.9 h1 + x), h2 = (-0.5 h2 + 2x); y = h1 + 0.5 h2
    double h1 = 0;
    double h2 = 0;
    double[] x = {1, 0, 0, 2};
    for (int t = 0; t < 4; t++) {
      h1 = 0.9 * h1 + x[t];
      h2 = -0.5 * h2 + 2 * x[t];
      assertEquals(h1 + 0.5 * h2, y[t], 1e-12, "y_" + t);
    }
  }

  @Test
  void missingElementsHoldTheStateAndNullInputsGiveNull() {
    Row r = spark.sql("SELECT ssm_scan(array(1.0, null, double('NaN'), 0.0), array(0.5), array(1.0), array(1.0)), "
        + "ssm_scan(cast(null as array<double>), array(0.5), array(1.0), array(1.0))").first();
    double[] y = doubles(r, 0);
    assertEquals(1.0, y[0], 0.0);
    assertTrue(Double.isNaN(y[1]) && Double.isNaN(y[2]));
    assertEquals(0.5, y[3], 0.0, "state held over the two missing elements, then decays once");
    assertNull(r.get(1));
  }

  @Test
  void featuresAreTheFinalStateOfTheS4dBank() {
    spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create(List.of(0.3, -1.0, 2.0, 0.5))),
        new org.apache.spark.sql.types.StructType().add("x", DataTypes.createArrayType(DataTypes.DoubleType)))
        .createOrReplaceTempView("ssm_windows");
    for (String init : new String[] {"s4d-lin", "s4d-inv", "s4d-legs"}) {
      Row r = spark.sql("SELECT ssm_features(x, '" + init + "', 8, 0.1) FROM ssm_windows").first();
      double[] features = doubles(r, 0);
      assertEquals(8, features.length);
      org.sparkssm.scan.DiagonalSsm m = SsmFeaturesUdf.model(init, 8, 0.1);
      double[] h = new double[m.stateSize()];
      m.scan(new double[] {0.3, -1.0, 2.0, 0.5}, 0, new double[4], 0, 4, h);
      for (int i = 0; i < 8; i++) {
        assertEquals(h[i], features[i], 1e-12, init + " feature " + i);
      }
    }
  }

  @Test
  void legtMemoryReconstructsTheWindow() {
    // A smooth window of 200 points: its 12 Legendre coefficients give it back, u(s) ≈ Σ c_k P_k(2s - 1).
    List<Double> window = new ArrayList<>();
    int length = 200;
    for (int i = 0; i < length; i++) {
      double s = (double) i / length;
      window.add(1 + s - 2 * s * s);
    }
    spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create(window)),
        new org.apache.spark.sql.types.StructType().add("w", DataTypes.createArrayType(DataTypes.DoubleType)))
        .createOrReplaceTempView("ssm_window");
    double[] c = doubles(spark.sql("SELECT ssm_legt_memory(w, 12) FROM ssm_window").first(), 0);
    assertEquals(12, c.length);
    // LegT's approximation is best over the recent part of the window; check the newest 70 %.
    for (int back = 10; back < 0.7 * length; back += 20) {
      double s = (back + 0.5) / length; // fraction of the window back from its end
      double x = 2 * s - 1;
      double p0 = 1;
      double p1 = x;
      double sum = c[0] * p0 + c[1] * p1;
      for (int k = 1; k + 1 < 12; k++) {
        double p2 = ((2 * k + 1) * x * p1 - k * p0) / (k + 1);
        sum += c[k + 1] * p2;
        p0 = p1;
        p1 = p2;
      }
      double expected = window.get(length - 1 - back);
      assertEquals(expected, sum, 0.03, "window value " + back + " steps back");
    }
  }

  @Test
  void badArgumentsNameTheFunctionAndArgument() {
    Exception e = assertThrows(Exception.class,
        () -> spark.sql("SELECT ssm_scan(array(1.0), array(0.5, 0.1), array(1.0), array(1.0))").collect());
    assertTrue(SparkTests.rootMessage(e).contains("ssm_scan") && SparkTests.rootMessage(e).contains("'abar'"),
        SparkTests.rootMessage(e));
    e = assertThrows(Exception.class, () -> spark.sql("SELECT ssm_features(array(1.0), 'hippo', 8, 0.1)").collect());
    assertTrue(SparkTests.rootMessage(e).contains("'init'") && SparkTests.rootMessage(e).contains("hippo"),
        SparkTests.rootMessage(e));
    e = assertThrows(Exception.class, () -> spark.sql("SELECT ssm_features(array(1.0), 's4d-lin', 7, 0.1)").collect());
    assertTrue(SparkTests.rootMessage(e).contains("'n'"), SparkTests.rootMessage(e));
  }

  @Test
  void everyFunctionRegistersByClassNameAsPySparkDoes() {
    // PySpark's registerJavaFunction calls UDFRegistration.registerJava(name, className, returnType).
    String[][] functions = {{"py_ssm_scan", SsmScanUdf.class.getName()}, {"py_ssm_features", SsmFeaturesUdf.class.getName()},
        {"py_ssm_legt_memory", SsmLegtMemoryUdf.class.getName()}, {"py_ssm_forecast", SsmForecastUdf.class.getName()}};
    assertEquals(SsmFunctions.CATALOG.size(), functions.length, "every catalog function is checked");
    for (String[] f : functions) {
      Class<?> cls = org.apache.spark.util.Utils.classForName(f[1], true, false);
      long udfInterfaces = java.util.Arrays.stream(cls.getInterfaces())
          .filter(i -> i.getName().startsWith("org.apache.spark.sql.api.java.UDF")).count();
      assertEquals(1, udfInterfaces, f[1] + " implements exactly one UDFn");
      spark.udf().registerJava(f[0], f[1], DataTypes.createArrayType(DataTypes.DoubleType));
    }
    Row r = spark.sql("SELECT py_ssm_scan(array(1.0, 1.0), array(0.5), array(1.0), array(1.0)), "
        + "py_ssm_features(array(1.0), 's4d-lin', 4, 0.5), py_ssm_legt_memory(array(1.0, 2.0), 3)").first();
    assertEquals(1.5, doubles(r, 0)[1], 1e-12);
    assertEquals(4, doubles(r, 1).length);
    assertEquals(3, doubles(r, 2).length);
  }

  @Test
  void readmeSqlExamplesRunAsWritten() {
    double[] y = doubles(spark.sql("SELECT ssm_scan(array(1.0, 0.0, 0.0), array(0.9), array(1.0), array(1.0))").first(), 0);
    assertEquals(3, y.length);
    assertEquals(1.0, y[0], 1e-15);
    assertEquals(0.9, y[1], 1e-15);
    assertEquals(0.81, y[2], 1e-15);
    spark.createDataFrame(List.of(org.apache.spark.sql.RowFactory.create("a", List.of(1.0, 2.0, 0.5))),
        new org.apache.spark.sql.types.StructType().add("unique_id", DataTypes.StringType)
            .add("window", DataTypes.createArrayType(DataTypes.DoubleType)))
        .createOrReplaceTempView("windows");
    Row features = spark.sql("SELECT unique_id, ssm_features(window, 's4d-lin', 16, 0.1) FROM windows").first();
    assertEquals(16, doubles(features, 1).length);
    Row memory = spark.sql("SELECT ssm_legt_memory(window, 8) FROM windows").first();
    assertEquals(8, doubles(memory, 0).length);
  }
}
