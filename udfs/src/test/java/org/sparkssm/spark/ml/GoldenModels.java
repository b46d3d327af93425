package org.sparkssm.spark.ml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkssm.spark.SparkTests;

/**
 * Writes the golden saved model under {@code udfs/src/test/resources/golden/} and the forecasts
 * it must keep giving ({@link GoldenModelTest}). Run only when the format changes on purpose, from
 * the repository root, with the test class path (see golden/README.md).
 */
public final class GoldenModels {
  private GoldenModels() {}

  static final long SEED = 71;

  static Dataset<Row> input(SparkSession spark) {
    return MlFixtures.frame(spark, MlFixtures.panel(SEED, 3, 160, 0.3));
  }

  static SsmForecaster estimator() {
    return new SsmForecaster().setModel("legt:8").setLookback(24).setHorizon(4).setValidationRows(60)
        .setIntervalLevels(new double[] {0.8});
  }

  public static void main(String[] args) throws Exception {
    Path dir = Paths.get(args.length > 0 ? args[0] : "udfs/src/test/resources/golden");
    SparkSession spark = SparkTests.session();
    Dataset<Row> df = input(spark);
    SsmForecasterModel model = estimator().fit(df);
    model.write().overwrite().save(dir.resolve("ssm-forecaster-model-v1").toString());
    List<String> lines = model.transform(df).orderBy("unique_id", "step").collectAsList().stream()
        .map(r -> String.format(Locale.ROOT, "%s,%d,%d,%.17g,%.17g,%.17g", r.getString(0), r.getLong(1), r.getInt(2),
            r.getDouble(3), r.getDouble(4), r.getDouble(5)))
        .collect(Collectors.toList());
    lines.add(0, "unique_id,ds,step,forecast,forecast_lo_80,forecast_hi_80");
    Files.write(dir.resolve("ssm-forecaster-model-v1.csv"), lines);
    spark.stop();
  }
}
