package org.sparkssm.jobs.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.JobsTests.Run;

class ForecastCommandTest {
  private final SparkSession spark = JobsTests.session();

  @TempDir
  Path tmp;

  @Test
  void forecastWritesForecastsHoldoutPlotAndReport() throws Exception {
    String panel = tmp.resolve("panel").toString();
    Run gen = JobsTests.run("generate", "--out", panel, "--series", "6", "--length", "400", "--freq", "1h",
        "--seed", "3");
    assertEquals(0, gen.code(), gen::err);
    Path out = tmp.resolve("fc");
    Run r = JobsTests.run("forecast", "-i", panel, "-o", out.toString(), "-m", "legt", "-L", "48", "-H", "12",
        "--plot-series", "2");
    assertEquals(0, r.code(), r::err);
    for (String s : new String[] {"holdout MSE", "forecasts:", "metrics:", "plot:"}) {
      assertTrue(r.out().contains(s), () -> "missing '" + s + "' in:\n" + r.out());
    }
    List<Row> forecasts = spark.read().parquet(out.resolve("forecasts").toString()).collectAsList();
    assertEquals(6 * 12, forecasts.size());
    assertEquals(List.of("unique_id", "ds", "step", "forecast"),
        List.of(spark.read().parquet(out.resolve("forecasts").toString()).columns()));
    assertEquals(6 * 12, spark.read().parquet(out.resolve("holdout").toString()).count());
    String report = Files.readString(out.resolve("report.md"));
    assertTrue(report.contains("| legt |") && report.contains("| naive |") && report.contains("forecast.png"), report);
    assertEquals(1000, ImageIO.read(out.resolve("forecast.png").toFile()).getWidth());

    // A missing value column fails with exit code 1 and names it.
    Run bad = JobsTests.run("forecast", "-i", panel, "-o", tmp.resolve("bad").toString(), "--value-col", "nope");
    assertEquals(1, bad.code(), bad::out);
    assertTrue(bad.err().contains("value column 'nope'"), bad.err());
    assertTrue(!Files.exists(tmp.resolve("bad/forecasts")), "nothing written by a failed run");
  }

  @Test
  void evaluateReproducesThePublishedRepeatBaselineOnEtth1() throws Exception {
    Path data = null;
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("shared/data/ETTh1.csv"))) {
        data = dir.resolve("shared/data");
        break;
      }
    }
    Assumptions.assumeTrue(data != null, "benchmark data (shared/data/ETTh1.csv) not found above the build folder");
    Path out = tmp.resolve("eval");
    Run r = JobsTests.run("evaluate", "--data", data.toString(), "--datasets", "ETTh1", "-m", "naive,nlinear",
        "-L", "96", "-H", "96", "-o", out.toString());
    assertEquals(0, r.code(), r::err);
    assertTrue(r.out().contains("[2/2] ETTh1 L=96 H=96"), r.out());
    List<Row> results = spark.read().parquet(out.resolve("results").toString()).orderBy("model").collectAsList();
    assertEquals(2, results.size());
    Row naive = results.get(0);
    assertEquals("naive", naive.getString(1));
    assertEquals(1.2944, naive.getDouble(4), 5e-4);
    assertEquals(0.7132, naive.getDouble(5), 5e-4);
    assertTrue(results.get(1).getDouble(4) < 0.5, "nlinear well below naive: " + results.get(1));
    assertTrue(Files.readString(out.resolve("report.md")).contains("| ETTh1 | naive | 96 | 96 | 1.294"));
  }
}
