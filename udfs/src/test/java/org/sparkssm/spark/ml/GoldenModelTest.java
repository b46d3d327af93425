package org.sparkssm.spark.ml;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparkssm.spark.SparkTests;

/**
 * A model saved by version 0.1.0 (format 1, under test resources) still loads and gives the
 * forecasts it gave then: later versions must keep reading what users saved.
 */
class GoldenModelTest {
  private final SparkSession spark = SparkTests.session();

  @Test
  void theSavedV1ModelLoadsAndPredictsAsWhenSaved() throws Exception {
    Path golden = Paths.get(getClass().getResource("/golden/ssm-forecaster-model-v1.csv").toURI());
    String modelPath = golden.resolveSibling("ssm-forecaster-model-v1").toString();
    SsmForecasterModel model = SsmForecasterModel.load(modelPath);
    List<String> expected = Files.readAllLines(golden);
    List<Row> got = model.transform(GoldenModels.input(spark)).orderBy("unique_id", "step").collectAsList();
    assertEquals(expected.size() - 1, got.size());
    for (int i = 0; i < got.size(); i++) {
      String[] e = expected.get(i + 1).split(",");
      Row r = got.get(i);
      assertEquals(e[0], r.getString(0));
      assertEquals(Long.parseLong(e[1]), r.getLong(1));
      assertEquals(Integer.parseInt(e[2]), r.getInt(2));
      for (int c = 3; c < 6; c++) {
        // Same weights, same arithmetic: equal to rounding of the printed 17 digits.
        assertEquals(Double.parseDouble(e[c]), r.getDouble(c), 1e-12 * Math.max(1, Math.abs(r.getDouble(c))),
            expected.get(i + 1));
      }
    }
  }
}
