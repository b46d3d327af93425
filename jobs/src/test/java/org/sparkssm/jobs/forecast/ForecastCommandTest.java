package org.sparkssm.jobs.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDateTime;
import java.util.List;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.forecast.LtsfData;
import org.sparkssm.forecast.LtsfSplit;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.train.LtsfTraining;
import org.sparkssm.train.TrainingConfig;

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
    Dataset<Row> holdout = spark.read().parquet(out.resolve("holdout").toString());
    assertEquals(6 * 12, holdout.count());
    assertEquals(List.of("unique_id", "ds", "step", "actual", "forecast", "naive"), List.of(holdout.columns()));
    // The naive forecast repeats the last value before the holdout; per-series metrics agree with the rows.
    Row first = holdout.orderBy("unique_id", "ds").first();
    Row lastBefore = spark.read().parquet(panel).where(org.apache.spark.sql.functions.col("unique_id")
        .equalTo(first.get(0)).and(org.apache.spark.sql.functions.col("ds").lt(first.get(1)))).orderBy(
        org.apache.spark.sql.functions.col("ds").desc()).first();
    assertEquals(lastBefore.getDouble(lastBefore.fieldIndex("y")), first.getDouble(5), 0);
    Dataset<Row> perSeries = spark.read().parquet(out.resolve("series_metrics").toString());
    assertEquals(6, perSeries.count());
    Row s0 = perSeries.where(org.apache.spark.sql.functions.col("unique_id").equalTo(first.get(0))).first();
    double sse = 0;
    for (Row h : holdout.where(org.apache.spark.sql.functions.col("unique_id").equalTo(first.get(0))).collectAsList()) {
      sse += (h.getDouble(3) - h.getDouble(4)) * (h.getDouble(3) - h.getDouble(4));
    }
    assertEquals(sse / 12, s0.getDouble(s0.fieldIndex("mse")), 1e-9);
    String report = Files.readString(out.resolve("report.md"));
    assertTrue(report.contains("| legt |") && report.contains("| naive |") && report.contains("forecast.png"), report);
    assertTrue(report.contains("the 3 worst and the 3 best by MSE relative to the naive forecast"), report);

    // CSV tables, the worst series plotted, and a named series that does not exist.
    Path csv = tmp.resolve("fc-csv");
    Run asCsv = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", csv.toString(), "-m", "legt", "-L", "48",
        "-H", "12", "--out-format", "csv", "--plot", "worst", "--plot-series", "1");
    assertEquals(0, asCsv.code(), asCsv::err);
    assertEquals(6 * 12, Tables.read(spark, csv.resolve("forecasts").toString(), null).count());
    assertEquals(6, Tables.read(spark, csv.resolve("series_metrics").toString(), null).count());
    Run unknown = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", tmp.resolve("fc-x").toString(), "-m",
        "nlinear", "-L", "48", "-H", "12", "--plot", "S0,nobody");
    assertEquals(1, unknown.code(), unknown::err);
    assertTrue(unknown.err().contains("--plot: expected keys of series in column 'unique_id', got 'nobody'"),
        unknown::err);
    assertEquals(1000, ImageIO.read(out.resolve("forecast.png").toFile()).getWidth());

    // A missing value column fails with exit code 1 and names it.
    Run bad = JobsTests.run("forecast", "-i", panel, "-o", tmp.resolve("bad").toString(), "--value-col", "nope");
    assertEquals(1, bad.code(), bad::out);
    assertTrue(bad.err().contains("value column 'nope'"), bad.err());
    assertTrue(!Files.exists(tmp.resolve("bad/forecasts")), "nothing written by a failed run");
  }

  @Test
  void intervalsAndASavedForecasterUsedWithoutRefitting() throws Exception {
    String panel = tmp.resolve("panel-iv").toString();
    Run gen = JobsTests.run("generate", "--out", panel, "--series", "4", "--length", "300", "--freq", "1h",
        "--seed", "4", "--quiet");
    assertEquals(0, gen.code(), gen::err);
    Path out = tmp.resolve("iv");
    String model = tmp.resolve("model").toString();
    Run r = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", out.toString(), "-m", "nlinear", "-L", "24",
        "-H", "6", "--val-rows", "60", "--levels", "80,95", "--model-out", model);
    assertEquals(0, r.code(), r::err);
    Dataset<Row> forecasts = spark.read().parquet(out.resolve("forecasts").toString());
    assertEquals(List.of("unique_id", "ds", "step", "forecast", "forecast_lo_80", "forecast_hi_80", "forecast_lo_95",
        "forecast_hi_95"), List.of(forecasts.columns()));
    for (Row f : forecasts.collectAsList()) {
      assertTrue(f.getDouble(6) <= f.getDouble(4) && f.getDouble(4) <= f.getDouble(3)
          && f.getDouble(3) <= f.getDouble(5) && f.getDouble(5) <= f.getDouble(7), f.toString());
      assertTrue(f.getDouble(7) - f.getDouble(6) > f.getDouble(5) - f.getDouble(4), "95 % wider than 80 %: " + f);
    }
    assertTrue(Files.readString(out.resolve("report.md")).contains("80 %, 95 % (split-conformal"));

    // The saved forecaster forecasts the same rows without a fit; the options it brings are refused.
    Path again = tmp.resolve("again");
    Run in = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", again.toString(), "--model-in", model);
    assertEquals(0, in.code(), in::err);
    assertEquals(sorted(forecasts), sorted(spark.read().parquet(again.resolve("forecasts").toString())));
    assertTrue(Files.readString(again.resolve("report.md")).contains("not refitted"));
    Run conflicting = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", tmp.resolve("x").toString(),
        "--model-in", model, "-L", "48");
    assertEquals(2, conflicting.code(), conflicting::err);
    assertTrue(conflicting.err().contains("--lookback: the forecaster from --model-in brings its own"),
        conflicting::err);
    Run missing = JobsTests.run("forecast", "--quiet", "-i", panel, "-o", tmp.resolve("y").toString(),
        "--model-in", tmp.resolve("no-model").toString());
    assertEquals(1, missing.code(), missing::err);
    assertTrue(missing.err().startsWith("forecast: error: --model-in '" + tmp.resolve("no-model")), missing::err);
  }

  private static List<String> sorted(Dataset<Row> df) {
    return df.collectAsList().stream().map(Row::toString).sorted().collect(java.util.stream.Collectors.toList());
  }

  @Test
  void badInputFailsWithOneLineNamingTheThing() throws Exception {
    Path shortCsv = Files.writeString(tmp.resolve("short.csv"), "unique_id,ds,y\na,1,1\na,2,2\na,3,3\na,4,4\n"
        + "a,5,5\nb,1,1\nb,2,2\nb,3,3\n");
    Path textCsv = Files.writeString(tmp.resolve("text.csv"), "unique_id,ds,y\na,1,x\na,2,y\n");
    Path noKeyCsv = Files.writeString(tmp.resolve("nokey.csv"), "id,ds,y\na,1,1\n");
    String out = tmp.resolve("bad-out").toString();

    expectFailure(1, "input '" + tmp.resolve("nope.parquet") + "': expected an existing file or folder",
        "-i", tmp.resolve("nope.parquet").toString(), "-o", out);
    expectFailure(1, "series column 'unique_id': expected a column of the input, got none among [id, ds, y]",
        "-i", noKeyCsv.toString(), "-o", out);
    expectFailure(1, "value column 'y': expected a numeric type, got string", "-i", textCsv.toString(), "-o", out,
        "-L", "1", "-H", "1");
    expectFailure(1, "series 'b' (column 'unique_id'): 3 steps, fewer than the minimum length 5 (--on-skip fail)",
        "-i", shortCsv.toString(), "-o", out, "-L", "3", "-H", "2", "--on-skip", "fail");
    expectFailure(2, "--fill: expected one of none, ffill, linear, zero, got 'mean'", "--fill", "mean", "-o", out);
    expectFailure(2, "--freq: expected a duration such as 15min", "--freq", "hourly", "-o", out);
    expectFailure(2, "--on-skip: expected report or fail, got 'ignore'", "--on-skip", "ignore", "-o", out);
    expectFailure(2, "--lookback, --horizon: expected >= 1, got 0, 24", "-L", "0", "-o", out);
    expectFailure(2, "--lookback, --horizon: expected >= 1, got 96, -1", "-H", "-1", "-o", out);
    expectFailure(2, "--model: model: expected one of naive, linear, nlinear", "-m", "bogus", "-o", out);
    assertFalse(Files.exists(Path.of(out)), "no output from a failed run");

    // An existing output is refused before any work unless --overwrite is given.
    Path panel = tmp.resolve("ok.csv");
    StringBuilder csv = new StringBuilder("unique_id,ds,y\n");
    for (int t = 0; t < 60; t++) {
      csv.append("a,").append(t).append(',').append(Math.sin(t / 3.0)).append('\n');
    }
    Files.writeString(panel, csv);
    String[] ok = {"-i", panel.toString(), "-o", out, "-m", "nlinear", "-L", "8", "-H", "4"};
    assertEquals(0, JobsTests.run(concat("forecast", ok)).code());
    expectFailure(1, "output '" + out + "': expected an absent or empty folder, got one holding 7 entries", ok);
    Run again = JobsTests.run(concat("forecast", concat("--overwrite", ok)));
    assertEquals(0, again.code(), again::err);

    // A user's own file in the output folder is never replaced unasked; a plain file is no folder.
    Path mine = tmp.resolve("mine");
    Files.createDirectories(mine);
    Files.writeString(mine.resolve("report.md"), "my notes");
    expectFailure(1, "output '" + mine + "': expected an absent or empty folder, got one holding 1 entry, e.g. "
        + "'report.md' (use --overwrite)", "-i", panel.toString(), "-o", mine.toString(), "-L", "8", "-H", "4");
    assertEquals("my notes", Files.readString(mine.resolve("report.md")));
    expectFailure(1, "output '" + panel + "': expected a folder, got a file", "-i", panel.toString(), "-o",
        panel.toString(), "-L", "8", "-H", "4");
  }

  @Test
  void missingValuesGapsAndShortSeriesAreSkippedByNameOrFilledNeverForecastAsNaN() throws Exception {
    // Hourly: series a ends with an empty value; b lacks 01:00 before its last row and 20:00, 21:00;
    // c has 3 rows. Before: a got NaN forecasts, b's future stepped by 2 h, c failed the whole job.
    LocalDateTime t0 = LocalDateTime.of(2024, 1, 1, 0, 0);
    java.time.format.DateTimeFormatter f = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    StringBuilder csv = new StringBuilder("unique_id,ds,y\n");
    for (int t = 0; t < 60; t++) {
      csv.append("a,").append(t0.plusHours(t).format(f)).append(',').append(t == 59 ? "" : Math.sin(t / 3.0))
          .append('\n');
      if (t != 20 && t != 21 && t != 57) {
        csv.append("b,").append(t0.plusHours(t).format(f)).append(',').append(Math.cos(t / 4.0)).append('\n');
      }
    }
    for (int t = 0; t < 3; t++) {
      csv.append("c,").append(t0.plusHours(t).format(f)).append(",1.0\n");
    }
    Path panel = Files.writeString(tmp.resolve("gaps.csv"), csv);
    Path out = tmp.resolve("gaps");
    Run r = JobsTests.run("forecast", "-i", panel.toString(), "-o", out.toString(), "-m", "nlinear", "-L", "8",
        "-H", "4", "--fill", "linear", "--max-gap", "2");
    assertEquals(0, r.code(), r::err);
    assertTrue(r.out().contains("skipped:") && r.out().contains("2 series"), r.out());
    List<Row> future = spark.read().parquet(out.resolve("forecasts").toString()).orderBy("step").collectAsList();
    assertEquals(4, future.size(), future::toString);
    for (int k = 0; k < 4; k++) {
      assertEquals("b", future.get(k).getString(0));
      assertTrue(Double.isFinite(future.get(k).getDouble(3)));
      assertEquals(t0.plusHours(60 + k), future.get(k).getTimestamp(1).toLocalDateTime(), "hourly after 59:00");
    }
    List<Row> skipped = spark.read().parquet(out.resolve("skipped").toString()).orderBy("unique_id").collectAsList();
    assertEquals(List.of("a", "c"), skipped.stream().map(x -> x.getString(0)).toList());
    assertTrue(skipped.get(0).getString(5).contains("a missing value in its last L = 8 steps"), skipped::toString);
    assertTrue(skipped.get(1).getString(5).contains("3 steps, fewer than the minimum length 12"), skipped::toString);
    String report = Files.readString(out.resolve("report.md"));
    assertTrue(report.contains("Skipped series") && report.contains("| a |") && report.contains("| c |"), report);
    assertTrue(report.contains("PT1H (inferred)"), report);

    // Without a fill, b's last L + H steps are incomplete too: no series can be scored, and the job says so.
    Run none = JobsTests.run("forecast", "-i", panel.toString(), "-o", tmp.resolve("none").toString(), "-m",
        "nlinear", "-L", "8", "-H", "4", "--min-length", "4");
    assertEquals(1, none.code(), none::out);
    assertTrue(none.err().contains("expected at least one test window of 12 rows with no missing value"),
        none.err());

    // A time off the hourly grid fails naming the series and the time in ISO-8601.
    panel = Files.writeString(tmp.resolve("offgrid.csv"), csv + "c,2024-01-01 03:30:00,1.0\n");
    expectFailure(1, "off the grid", "-i", panel.toString(), "-o", tmp.resolve("off").toString(), "-m", "nlinear",
        "-L", "8", "-H", "4");
    Run off = JobsTests.run("forecast", "--quiet", "-i", panel.toString(), "-o", tmp.resolve("off").toString(),
        "-m", "nlinear", "-L", "8", "-H", "4");
    assertTrue(off.err().contains("series unique_id = 'c'") && off.err().contains("2024-01-01T03:30"), off.err());
  }

  /** Runs {@code forecast --quiet args}; asserts the exit code and that stderr starts with one line holding {@code message}. */
  private static void expectFailure(int code, String message, String... args) {
    Run r = JobsTests.run(concat("forecast", concat("--quiet", args))); // no progress lines on stderr
    assertEquals(code, r.code(), () -> String.join(" ", args) + "\n" + r.out() + r.err());
    String first = r.err().lines().findFirst().orElse("");
    assertTrue(first.contains(message), () -> "expected '" + message + "' in the first line of:\n" + r.err());
    assertFalse(r.err().contains("\tat "), () -> "a stack trace without --verbose:\n" + r.err());
    if (code == 1) {
      assertEquals(1, r.err().strip().lines().count(), r::err);
    }
  }

  private static String[] concat(String first, String... rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  /** The benchmark files above the build folder, or the test is skipped. */
  private static Path benchmarkData() {
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve("shared/data/ETTh1.csv"))) {
        return dir.resolve("shared/data");
      }
    }
    Assumptions.abort("benchmark data (shared/data/ETTh1.csv) not found above the build folder");
    return null;
  }

  @Test
  void evaluateReproducesThePublishedRepeatBaselineOnEtth1() throws Exception {
    Path data = benchmarkData();
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

  @Test
  void evaluateTrainsNetworksWithTheEngineProtocolAndItsNumbers() throws Exception {
    Path data = benchmarkData();
    Path out = tmp.resolve("eval-trained");
    Run r = JobsTests.run("evaluate", "--data", data.toString(), "--datasets", "ETTh1", "-m", "rlinear,naive",
        "-L", "96", "-H", "24", "--epochs", "2", "--seed", "5", "-o", out.toString());
    assertEquals(0, r.code(), r::err);
    assertTrue(r.out().contains("[1/2] ETTh1 L=96 H=24 rlinear") && r.out().contains("rlinear(cycle=24"), r.out());
    Row rlinear = spark.read().parquet(out.resolve("results").toString()).where("model = 'rlinear'").first();

    // The same cell from the engine's driver: the same windows, candidates, seed and numbers, exactly.
    LtsfData ltsf = LtsfData.read(data.resolve("ETTh1.csv"));
    TrainingConfig cfg = TrainingConfig.ltsf().withEpochs(2).withSeed(5);
    LtsfTraining.Cell cell = LtsfTraining.run("ETTh1", ltsf, LtsfSplit.forFile("ETTh1.csv", ltsf.rows()),
        LtsfTraining.standardCandidates("rlinear", "ETTh1"), new double[] {cfg.learningRate()}, 96, 24, cfg, null);
    assertEquals(cell.mse(), rlinear.getDouble(4), 0.0);
    assertEquals(cell.mae(), rlinear.getDouble(5), 0.0);
    assertEquals(cell.settings(), rlinear.getString(10));
    assertEquals(cell.testWindows(), rlinear.getLong(8));
    assertTrue(cell.mse() < 1.0, "a trained linear map well below naive's scale: " + cell);
    assertTrue(Files.readString(out.resolve("report.md")).contains(cell.settings()));

    Run bad = JobsTests.run("evaluate", "--data", data.toString(), "-m", "smamba,mamba9", "-o",
        tmp.resolve("bad").toString());
    assertEquals(2, bad.code(), bad::out);
    assertTrue(bad.err().contains("--models") && bad.err().contains("mamba9"), bad.err());
    Run zero = JobsTests.run("evaluate", "--data", data.toString(), "-m", "smamba", "--epochs", "0", "-o",
        tmp.resolve("bad").toString());
    assertEquals(2, zero.code(), zero::out);
    assertTrue(zero.err().contains("--epochs: expected >= 1, got 0"), zero.err());
  }
}
