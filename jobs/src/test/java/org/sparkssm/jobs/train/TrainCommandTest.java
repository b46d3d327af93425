package org.sparkssm.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.spark.ml.SsmNetForecasterModel;

/** The train job on the sample panel: model, report and curve written together; resumable; bad options refused. */
class TrainCommandTest {
  private static final String SAMPLE = "../data-samples/hourly-20x720";

  @TempDir
  Path dir;

  private static String[] args(String out, String... more) {
    String[] base = {"train", "-i", SAMPLE, "-o", out, "--d-model", "8", "--layers", "1",
        "--d-state", "4", "-L", "48", "-H", "12", "--epochs", "2", "--windows-per-epoch", "96", "--batch", "16",
        "--partitions", "2", "--quiet"};
    String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, all, base.length, more.length);
    return all;
  }

  @Test
  void trainsOnTheSamplePanelAndWritesTheModelReportAndCurve() throws Exception {
    JobsTests.session();
    String out = dir.resolve("train").toString();
    String ckpt = dir.resolve("ckpt").toString();
    Run r = JobsTests.run(args(out, "--checkpoint", ckpt, "--levels", "80"));
    assertEquals(0, r.code(), r::err);
    SsmNetForecasterModel m = SsmNetForecasterModel.load(out + "/model");
    assertEquals("s4dnet", m.getOrDefault(m.model()));
    assertEquals(20L * (24 - 12 + 1), m.validationWindows(), "each series' last 2 H steps validate");
    assertEquals(3, m.history().size());
    String report = Files.readString(dir.resolve("train/report.md"));
    assertTrue(report.contains("kept") && report.contains("training windows"), report);
    assertTrue(Files.size(dir.resolve("train/training.png")) > 1000);
    assertTrue(Files.exists(dir.resolve("ckpt/epoch-000002.safetensors")));

    // forecast --model-in serves the trained model: the holdout scored by the network, H rows per series.
    String fc = dir.resolve("fc").toString();
    Run forecast = JobsTests.run("forecast", "-i", SAMPLE, "-o", fc, "--model-in", out + "/model", "--quiet");
    assertEquals(0, forecast.code(), forecast::err);
    assertEquals(20 * 12, JobsTests.session().read().parquet(fc + "/forecasts").count());
    assertTrue(Files.readString(dir.resolve("fc/report.md")).contains("s4dnet(d_model=8"));

    Run again = JobsTests.run(args(out));
    assertTrue(again.code() != 0 && again.err().contains(out), again.err());
    // Resuming the finished run trains nothing and saves the same weights.
    String resumed = dir.resolve("resumed").toString();
    Run r2 = JobsTests.run(args(resumed, "--checkpoint", ckpt, "--resume", "--levels", "80"));
    assertEquals(0, r2.code(), r2::err);
    assertArrayEquals(m.forecaster().weights(), SsmNetForecasterModel.load(resumed + "/model").forecaster().weights(),
        0.0);
  }

  @Test
  void forecastTrainsANetworkByNameBeforeItsHoldout() throws Exception {
    StringBuilder csv = new StringBuilder("unique_id,ds,y\n");
    for (int s = 0; s < 3; s++) {
      for (int t = 0; t < 150; t++) {
        csv.append("s").append(s).append(',').append(t).append(',')
            .append(Math.sin(2 * Math.PI * t / 12 + s) + 0.01 * t).append('\n');
      }
    }
    Path input = dir.resolve("small.csv");
    Files.writeString(input, csv.toString());
    String out = dir.resolve("fc").toString();
    Run r = JobsTests.run("forecast", "-i", input.toString(), "-o", out, "-m", "rlinear", "-L", "24", "-H", "6",
        "--freq", "rows", "--model-out", dir.resolve("m").toString(), "--quiet");
    assertEquals(0, r.code(), r::err);
    assertEquals(3 * 6, JobsTests.session().read().parquet(out + "/forecasts").count());
    SsmNetForecasterModel m = SsmNetForecasterModel.load(dir.resolve("m").toString());
    assertEquals("rlinear", m.getOrDefault(m.model()));
    // Trained before the holdout: the validation windows end where the last H rows begin.
    assertEquals(3L * (12 - 6 + 1), m.validationWindows());
  }

  @Test
  void badOptionsFailBeforeSparkWorksNamingTheOption() {
    Run dropout = JobsTests.run(args(dir.resolve("a").toString(), "--dropout", "1.5"));
    assertEquals(2, dropout.code());
    assertTrue(dropout.err().contains("dropout"), dropout.err());
    Run resume = JobsTests.run(args(dir.resolve("b").toString(), "--resume"));
    assertEquals(2, resume.code());
    assertTrue(resume.err().contains("--resume") && resume.err().contains("--checkpoint"), resume.err());
    Run model = JobsTests.run(args(dir.resolve("c").toString(), "-m", "transformer"));
    assertEquals(2, model.code());
    assertTrue(model.err().contains("transformer"), model.err());
    Run skip = JobsTests.run(args(dir.resolve("d").toString(), "--skip", "ridge"));
    assertEquals(2, skip.code());
    assertTrue(skip.err().contains("--skip"), skip.err());
    Run precision = JobsTests.run(args(dir.resolve("e").toString(), "--precision", "half"));
    assertEquals(2, precision.code());
    assertTrue(precision.err().contains("--precision") && precision.err().contains("half"), precision.err());
  }
}
