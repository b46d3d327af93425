package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.ml.SsmNetForecasterModel;

/**
 * Real jobs in their own JVMs, killed (SIGKILL while Spark writes, or a halt right after a chosen
 * commit step): nothing half-written is ever visible, the unchanged command run again (here, in
 * the test JVM) succeeds and gives what an uninterrupted run gives, and an interrupted overwrite
 * leaves the previous result; a training killed mid-epoch and resumed from its checkpoint ends
 * with the uninterrupted weights.
 */
class JobKillTest {
  @TempDir
  static Path dir;

  private static Path panel;
  private static Path small;

  @BeforeAll
  static void makePanel() {
    panel = dir.resolve("panel");
    JobsTests.Run r = JobsTests.run("generate", "--out", panel.toString(), "--series", "10", "--length", "5000",
        "--seed", "5", "--quiet");
    assertEquals(0, r.code(), r::err);
    small = dir.resolve("small");
    r = JobsTests.run("generate", "--out", small.toString(), "--series", "3", "--length", "200", "--quiet");
    assertEquals(0, r.code(), r::err);
  }

  private static String[] scan(String out, String state, String order, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("scan", "--quiet", "-i", panel.toString(), "-o", out,
        "--state-out", state, "-m", "legt", "--order", order, "--theta", "50"));
    args.addAll(List.of(more));
    return args.toArray(new String[0]);
  }

  @Test
  void aScanKilledWhileWritingLeavesNothingAndTheSameCommandThenSucceeds() throws Exception {
    Path root = Files.createDirectories(dir.resolve("killed"));
    String ref = root.resolve("ref").toString();
    String refState = root.resolve("ref-state").toString();
    assertEquals(0, JobsTests.run(scan(ref, refState, "4")).code()); // in this JVM: the reference

    String out = root.resolve("out").toString();
    String state = root.resolve("state").toString();
    JobProcess job = JobProcess.start(tmp(), Map.of(), scan(out, state, "4"));
    Path writing = root.resolve(".out.spark-ssm-staging/_temporary");
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (!Files.exists(writing) && job.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(job.isAlive(), () -> "killed while Spark writes the output, not after:\n" + job.stderr());
    job.kill();
    assertFalse(Files.exists(root.resolve("out")), "no output visible after the kill");
    assertFalse(Files.exists(root.resolve("state")), "no state table visible after the kill");

    JobsTests.Run rerun = JobsTests.run(scan(out, state, "4"));
    assertEquals(0, rerun.code(), rerun::err);
    assertTrue(rerun.err().contains("removed .out.spark-ssm-staging, left by an earlier run"), rerun::err);
    assertEquals(rows(ref, "ds"), rows(out, "ds"));
    assertEquals(rows(refState, "last_time"), rows(state, "last_time"));
    assertEquals(List.of("out", "ref", "ref-state", "state"), visible(root));
  }

  @Test
  void anOverwriteStoppedAfterTheStateTableKeepsThePreviousPairAndTheOverwriteThenSucceeds() throws Exception {
    Path root = Files.createDirectories(dir.resolve("overwrite"));
    String out = root.resolve("out").toString();
    String state = root.resolve("state").toString();
    assertEquals(0, JobsTests.run(scan(out, state, "4")).code());
    List<Row> oldOut = rows(out, "ds");
    List<Row> oldState = rows(state, "last_time");

    JobProcess halted = JobProcess.start(tmp(), Map.of("sparkssm.test.haltAfter", "published:state"),
        scan(out, state, "8", "--overwrite"));
    assertEquals(137, halted.waitFor(), halted::stderr);
    // The new state table is in place, the output (whose _SUCCESS readers wait for) is not.
    assertFalse(Files.exists(root.resolve("out")), "the primary output moved aside first");

    JobsTests.Run refused = JobsTests.run(scan(out, state, "8"));
    assertEquals(1, refused.code(), refused::err);
    List<String> err = refused.err().lines().collect(Collectors.toList());
    assertEquals(2, err.size(), refused::err);
    assertTrue(err.get(0).contains("its outputs were discarded and the previous ones restored"), err.get(0));
    assertTrue(err.get(1).endsWith("(use --overwrite)"), err.get(1));
    assertEquals(oldOut, rows(out, "ds"));
    assertEquals(oldState, rows(state, "last_time"));

    JobsTests.Run overwrite = JobsTests.run(scan(out, state, "8", "--overwrite"));
    assertEquals(0, overwrite.code(), overwrite::err);
    Row first = JobsTests.session().read().parquet(out).orderBy("unique_id", "ds").first();
    assertEquals(8, first.getList(first.fieldIndex("ssm_output")).size());
    assertEquals(List.of("out", "state"), visible(root));
  }

  @Test
  void aForecastStoppedAfterItsJournalIsDiscardedAndTheSameCommandThenSucceeds() throws Exception {
    Path root = Files.createDirectories(dir.resolve("forecast"));
    String out = root.resolve("fc").toString();
    String[] args = {"forecast", "--quiet", "-i", small.toString(), "-o", out, "-m", "nlinear", "-L", "24", "-H", "6"};
    JobProcess halted = JobProcess.start(tmp(), Map.of("sparkssm.test.haltAfter", "journal"), args);
    assertEquals(137, halted.waitFor(), halted::stderr);
    assertFalse(Files.exists(root.resolve("fc")));

    JobsTests.Run rerun = JobsTests.run(args);
    assertEquals(0, rerun.code(), rerun::err);
    assertTrue(rerun.err().contains("its outputs were discarded"), rerun::err);
    try (Stream<Path> files = Files.list(root.resolve("fc"))) {
      assertEquals(List.of("_SUCCESS", "forecast.png", "forecasts", "holdout", "report.md", "series_metrics", "skipped"),
          files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList()));
    }
    assertEquals(List.of("fc"), visible(root));
  }

  private static String[] train(String out, String checkpoint, String... more) {
    List<String> args = new java.util.ArrayList<>(List.of("train", "--quiet", "-i", "../data-samples/hourly-20x720",
        "-o", out, "--checkpoint", checkpoint, "--d-model", "8", "--layers", "1", "--d-state", "4", "-L", "48",
        "-H", "12", "--epochs", "3", "--windows-per-epoch", "1600", "--batch", "16", "--partitions", "2"));
    args.addAll(List.of(more));
    return args.toArray(new String[0]);
  }

  @Test
  void aTrainingKilledMidEpochResumesToTheUninterruptedWeights() throws Exception {
    Path root = Files.createDirectories(dir.resolve("train"));
    String ref = root.resolve("ref").toString();
    JobsTests.Run uninterrupted = JobsTests.run(train(ref, root.resolve("ref-ckpt").toString()));
    assertEquals(0, uninterrupted.code(), uninterrupted::err);

    String out = root.resolve("out").toString();
    Path ckpt = root.resolve("ckpt");
    JobProcess job = JobProcess.start(tmp(), Map.of(), train(out, ckpt.toString()));
    Path first = ckpt.resolve("epoch-000001.safetensors");
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (!Files.exists(first) && job.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(job.isAlive(), () -> "killed during epoch 2, not after:\n" + job.stderr());
    job.kill();
    assertFalse(Files.exists(ckpt.resolve("epoch-000002.safetensors")), "killed before epoch 2 ended");
    assertFalse(Files.exists(root.resolve("out")), "no model visible after the kill");

    JobsTests.Run resumed = JobsTests.run(train(out, ckpt.toString(), "--resume"));
    assertEquals(0, resumed.code(), resumed::err);
    assertArrayEquals(SsmNetForecasterModel.load(ref + "/model").forecaster().weights(),
        SsmNetForecasterModel.load(out + "/model").forecaster().weights(), 0.0,
        "resumed from epoch 1: the weights of the uninterrupted run, bit for bit");
  }

  /** A fresh folder for a job JVM's temporary files, apart from the outputs. */
  private static Path tmp() throws java.io.IOException {
    return Files.createTempDirectory(Files.createDirectories(dir.resolve("jvm-tmp")), "job");
  }

  private static List<Row> rows(String table, String timeColumn) {
    SparkSession spark = JobsTests.session();
    return spark.read().parquet(table).orderBy("unique_id", timeColumn).collectAsList();
  }

  /** The folder's entries. */
  private static List<String> visible(Path root) throws java.io.IOException {
    try (Stream<Path> files = Files.list(root)) {
      return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }
}
