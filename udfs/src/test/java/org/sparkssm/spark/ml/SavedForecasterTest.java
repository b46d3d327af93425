package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;

/**
 * Saved forecasters: every model name round-trips (the {@code ssm} model reads 4 L rows but is
 * saved with its L), a featurization that differs from the saving build's is refused, and the
 * time-grid params are fitted, saved and used by the model.
 */
class SavedForecasterTest {
  @TempDir
  Path tmp;

  private final SparkSession spark = SparkTests.session();

  private static List<String> sorted(Dataset<Row> df) {
    return df.collectAsList().stream().map(Row::toString).sorted().collect(Collectors.toList());
  }

  @Test
  void anSsmForecasterSavedAndLoadedForecastsTheSame() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(7, 3, 400, 0.1));
    SsmForecasterModel m = new SsmForecaster().setModel("ssm:8").setLookback(16).setHorizon(4).fit(df);
    String path = tmp.resolve("ssm").toString();
    m.save(path);
    SsmForecasterModel loaded = SsmForecasterModel.load(path);
    assertEquals(sorted(m.transform(df)), sorted(loaded.transform(df)));
  }

  @Test
  void aModelWhoseFeaturizationDiffersFromThisBuildsIsRefused() throws Exception {
    Dataset<Row> df = MlFixtures.frame(spark, MlFixtures.panel(8, 2, 300, 0.1));
    SsmForecasterModel m = new SsmForecaster().setModel("legt:8").setLookback(24).setHorizon(4).fit(df);
    String path = tmp.resolve("legt").toString();
    m.save(path);
    String data = path + "/data";
    Row row = spark.read().parquet(data).first();

    // The same description, other probe features: what a build with another LegT basis would have saved.
    List<Double> probe = new ArrayList<>(row.getList(row.fieldIndex("probe_features")));
    probe.set(3, probe.get(3) * (1 + 1e-6));
    String message = refusedAfterRewriting(path, row, "probe_features", probe);
    assertTrue(message.contains("feature 3 of the probe window") && message.contains("refit the model"), message);

    message = refusedAfterRewriting(path, row, "featurization", "legt:8 L=24 F=9 rows=24");
    assertTrue(message.contains("got one saved as 'legt:8 L=24 F=9 rows=24' by another build"), message);

    message = refusedAfterRewriting(path, row, "format_version", 3);
    assertTrue(message.contains("expected model data format version 1 or 2, got 3"), message);
  }

  private String refusedAfterRewriting(String path, Row row, String field, Object value) {
    Object[] values = new Object[row.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = row.get(i);
    }
    values[row.fieldIndex(field)] = value;
    spark.createDataFrame(List.of(RowFactory.create(values)), ForecasterData.SCHEMA).write().mode("overwrite")
        .parquet(path + "/data");
    return assertThrows(IllegalArgumentException.class, () -> SsmForecasterModel.load(path)).getMessage();
  }

  @Test
  void theGridAndFillAreFittedSavedAndUsed() throws Exception {
    // Hourly-like integer times with step 2; series b lacks one step in its middle and its last step is NaN.
    List<Row> rows = new ArrayList<>();
    for (Row r : MlFixtures.panel(9, 2, 300, 0.1)) {
      long t = r.getLong(1) * 2;
      String id = r.getString(0);
      if (id.equals("s1") && t == 400) {
        continue;
      }
      double y = id.equals("s1") && t == 598 ? Double.NaN : r.getDouble(2);
      rows.add(RowFactory.create(id, t, y));
    }
    Dataset<Row> df = MlFixtures.frame(spark, rows);
    SsmForecaster f = new SsmForecaster().setModel("nlinear").setLookback(24).setHorizon(4).setFreq("auto")
        .setFill("linear").setMaxGap(2);
    SsmForecasterModel m = f.fit(df);
    assertEquals(2, m.grid().step());
    String path = tmp.resolve("grid").toString();
    m.save(path);
    SsmForecasterModel loaded = SsmForecasterModel.load(path);
    assertEquals(m.grid(), loaded.grid());

    Dataset<Row> future = loaded.transform(df);
    List<Row> s0 = future.filter(col("unique_id").equalTo("s0")).orderBy("step").collectAsList();
    assertEquals(List.of(600L, 602L, 604L, 606L), s0.stream().map(r -> r.getLong(1)).collect(Collectors.toList()));
    assertEquals(0, future.filter(col("unique_id").equalTo("s1")).count(), "a NaN last value: no forecast");
    Row skipped = loaded.skippedSeries(df).first();
    assertEquals("s1", skipped.get(0));
    assertTrue(skipped.getString(skipped.size() - 1).contains("missing"), skipped.toString());

    // Without the fill, the gap in s1 leaves its windows out of the fit: fewer training windows.
    SsmForecasterModel unfilled = f.copy(new org.apache.spark.ml.param.ParamMap().put(f.fill().w("none"))).fit(df);
    assertTrue(unfilled.trainWindows() < m.trainWindows(), unfilled.trainWindows() + " vs " + m.trainWindows());
  }
}
