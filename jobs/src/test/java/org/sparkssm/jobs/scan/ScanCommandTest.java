package org.sparkssm.jobs.scan;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.sql.Timestamp;
import java.time.Instant;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.S4dInit;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.scan.SsmScan;

class ScanCommandTest {
  private static SparkSession spark;
  private static Path panel;

  @TempDir
  static Path shared;

  @TempDir
  Path dir;

  @BeforeAll
  static void generatePanel() {
    spark = JobsTests.session();
    panel = shared.resolve("panel");
    Run r = JobsTests.run("generate", "--out", panel.toString(), "--series", "5", "--length", "300", "--channels", "2",
        "--seed", "3", "--quiet");
    assertEquals(0, r.code(), r::err);
  }

  private Run scan(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "scan";
    System.arraycopy(args, 0, all, 1, args.length);
    return JobsTests.run(all);
  }

  /** S4D-Lin with C = 2 per mode, one copy per channel: written here from the engine, not from ModelOptions. */
  private static ScanModel s4dLin(int n, int channels, double dt) {
    DiagonalSystem s = S4dInit.lin(n);
    int m = s.modes();
    double[] aRe = new double[channels * m];
    double[] aIm = new double[channels * m];
    double[] bRe = new double[channels * m];
    double[] c = new double[channels * m];
    for (int d = 0; d < channels; d++) {
      for (int j = 0; j < m; j++) {
        aRe[d * m + j] = s.aRe()[j];
        aIm[d * m + j] = s.aIm()[j];
        bRe[d * m + j] = s.bRe()[j];
        c[d * m + j] = 2;
      }
    }
    return ContinuousDiagonalSsm.of(channels, m, Discretization.ZOH, aRe, aIm, bRe, new double[channels * m], c,
        new double[channels * m], null).discretize(dt);
  }

  @Test
  void aScanEqualsSsmScanCalledDirectly() {
    String out = dir.resolve("s4d").toString();
    Run r = scan("-i", panel.toString(), "-o", out, "--model", "s4d-lin", "--state", "8", "--dt", "0.1",
        "--values", "y,y_1", "--chunk-rows", "37");
    assertEquals(0, r.code(), r::err);
    assertTrue(r.out().contains("scan: s4d-lin (N = 8, dt = 0.1)"), r.out());
    Dataset<Row> written = spark.read().parquet(out);
    Dataset<Row> direct = SsmScan.on(spark.read().parquet(panel.toString())).values("y", "y_1")
        .model(s4dLin(8, 2, 0.1)).run();
    assertEquals(Arrays.asList(direct.columns()), Arrays.asList(written.columns()));
    List<Row> a = written.orderBy("unique_id", "ds").collectAsList();
    List<Row> b = direct.orderBy("unique_id", "ds").collectAsList();
    assertEquals(5 * 300, a.size());
    assertEquals(b, a); // bit for bit: the same kernels over the same rows
  }

  @Test
  void hippoMemoriesOutputTheirCoefficientsPerChannel() {
    String out = dir.resolve("legt").toString();
    Run r = scan("-i", panel.toString(), "-o", out, "--model", "legt", "--order", "6", "--theta", "24",
        "--values", "y,y_1", "--quiet");
    assertEquals(0, r.code(), r::err);
    assertEquals("", r.out());
    Row first = spark.read().parquet(out).orderBy("unique_id", "ds").first();
    assertEquals(12, first.getList(2).size());
    // Channel 1's memory does not see channel 0: its coefficients differ from a scan of y_1 alone.
    Run alone = scan("-i", panel.toString(), "-o", dir.resolve("legt1").toString(), "--model", "legt", "--order", "6",
        "--theta", "24", "--values", "y_1", "--quiet");
    assertEquals(0, alone.code(), alone::err);
    Row firstAlone = spark.read().parquet(dir.resolve("legt1").toString()).orderBy("unique_id", "ds").first();
    assertEquals(first.getList(2).subList(6, 12), firstAlone.getList(2));
  }

  @Test
  void lruAndCsvInputRun() {
    String csv = dir.resolve("panel-csv").toString();
    assertEquals(0, JobsTests.run("generate", "--out", csv, "--format", "csv", "--series", "2", "--length", "40",
        "--quiet").code());
    String out = dir.resolve("lru").toString();
    Run r = scan("-i", csv, "-o", out, "--model", "lru", "--state", "4", "--quiet");
    assertEquals(0, r.code(), r::err);
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(80, rows.size());
    assertTrue(rows.stream().allMatch(x -> x.getList(2).size() == 1 && Double.isFinite(((Double) x.getList(2).get(0)))));

    // --out-format csv: the output arrays as [a, b] text, the same numbers.
    String csvOut = dir.resolve("lru-csv").toString();
    Run asCsv = scan("-i", csv, "-o", csvOut, "--model", "lru", "--state", "4", "--out-format", "csv", "--quiet");
    assertEquals(0, asCsv.code(), asCsv::err);
    List<Row> text = Tables.read(spark, csvOut, null).orderBy("unique_id", "ds").collectAsList();
    List<Row> parquet = spark.read().parquet(out).orderBy("unique_id", "ds").collectAsList();
    assertEquals(80, text.size());
    for (int i = 0; i < text.size(); i++) {
      assertEquals(parquet.get(i).getList(2).toString(), text.get(i).getString(2));
    }
  }

  @Test
  void aMissingColumnFailsWithOneLineNamingIt() {
    Run r = scan("-i", panel.toString(), "-o", dir.resolve("bad").toString(), "--model", "s4d-lin",
        "--values", "temperature");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("scan: error: value column 'temperature'"), r.err());
    assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("spark-ssm:")).count(), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
    assertFalse(Files.exists(dir.resolve("bad")));

    Run verbose = scan("-i", panel.toString(), "-o", dir.resolve("bad").toString(), "--model", "s4d-lin",
        "--values", "temperature", "--verbose");
    assertEquals(1, verbose.code());
    assertTrue(verbose.err().contains("\tat org.sparkssm."), verbose.err());
  }

  @Test
  void aJobThatFailsWhileWritingLeavesNoOutput() {
    // A duplicate timestamp fails a task in the middle of the write job.
    Dataset<Row> rows = spark.read().parquet(panel.toString());
    String dup = dir.resolve("dup").toString();
    rows.union(rows.filter(col("unique_id").equalTo("S3")).limit(1)).write().parquet(dup);
    Path out = dir.resolve("never");
    Run r = scan("-i", dup, "-o", out.toString(), "--model", "s4d-lin", "--quiet");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("duplicate timestamp") && r.err().contains("S3"), r.err());
    assertFalse(Files.exists(out), "a failed job left " + out);
    // ... so the same command can simply be run again once the input is fixed.
    Run fixed = scan("-i", panel.toString(), "-o", out.toString(), "--model", "s4d-lin", "--quiet");
    assertEquals(0, fixed.code(), fixed::err);
  }

  @Test
  void anIncrementalRunContinuesFromTheSavedStates() {
    Dataset<Row> all = spark.read().parquet(panel.toString());
    Column cut = functions.lit(Timestamp.from(Instant.parse("2024-01-08T12:00:00Z"))); // 180 of 300 hours
    String day1 = dir.resolve("day1").toString();
    String day2 = dir.resolve("day2").toString();
    all.filter(col("ds").leq(cut)).write().parquet(day1);
    all.filter(col("ds").gt(cut)).write().parquet(day2);
    String[] model = {"--model", "s4d-inv", "--state", "6", "--values", "y", "--quiet"};
    Run whole = scan(concat(new String[] {"-i", panel.toString(), "-o", dir.resolve("whole").toString()}, model));
    Run first = scan(concat(new String[] {"-i", day1, "-o", dir.resolve("out1").toString(), "--state-out",
        dir.resolve("state1").toString()}, model));
    Run second = scan(concat(new String[] {"-i", day2, "-o", dir.resolve("out2").toString(), "--resume-from",
        dir.resolve("state1").toString()}, model));
    for (Run r : new Run[] {whole, first, second}) {
      assertEquals(0, r.code(), r::err);
    }
    Dataset<Row> expected = spark.read().parquet(dir.resolve("whole").toString()).filter(col("ds").gt(cut));
    Dataset<Row> resumed = spark.read().parquet(dir.resolve("out2").toString());
    assertEquals(expected.count(), resumed.count());
    assertEquals(expected.orderBy("unique_id", "ds").collectAsList(), resumed.orderBy("unique_id", "ds").collectAsList());

    // Resuming with another model fails on the driver, naming both models in words.
    String state1 = dir.resolve("state1").toString();
    assertEquals("s4d-inv (N = 6, dt = 0.01), 1 channel",
        spark.read().parquet(state1).select(SsmScan.STATE_MODEL).distinct().first().getString(0));
    Run otherModel = scan("-i", day2, "-o", dir.resolve("out3").toString(), "--resume-from", state1, "--model",
        "s4d-inv", "--state", "8", "--quiet");
    assertEquals(1, otherModel.code());
    assertEquals("scan: error: --resume-from '" + state1 + "': expected states of s4d-inv (N = 8, dt = 0.01), "
        + "1 channel, got states of another model (s4d-inv (N = 6, dt = 0.01), 1 channel)", otherModel.err().strip());

    // A state table written before the description column: resumed as before, and another model is
    // named by fingerprints.
    String old = dir.resolve("state-old").toString();
    spark.read().parquet(state1).drop(SsmScan.STATE_MODEL).write().parquet(old);
    Run resumedOld = scan(concat(new String[] {"-i", day2, "-o", dir.resolve("out4").toString(), "--resume-from",
        old}, model));
    assertEquals(0, resumedOld.code(), resumedOld::err);
    Run otherOld = scan("-i", day2, "-o", dir.resolve("out5").toString(), "--resume-from", old, "--model",
        "s4d-inv", "--state", "8", "--quiet");
    assertEquals(1, otherOld.code());
    assertTrue(otherOld.err().startsWith("scan: error: --resume-from '" + old + "': expected states of s4d-inv "
        + "(N = 8, dt = 0.01), 1 channel (model fingerprint "), otherOld.err());
    assertTrue(otherOld.err().contains("got states of another model (fingerprint "), otherOld.err());

    Run none = scan("-i", day2, "-o", dir.resolve("out6").toString(), "--resume-from", dir.resolve("nope").toString(),
        "--model", "s4d-inv", "--quiet");
    assertEquals("scan: error: --resume-from '" + dir.resolve("nope") + "': expected a state table written by "
        + "--state-out, got no such folder", none.err().strip());
  }

  @Test
  void irregularTimeWithUnitGapsEqualsTheRegularScan() {
    String regular = dir.resolve("regular").toString();
    String irregular = dir.resolve("irregular").toString();
    String[] common = {"-i", panel.toString(), "--model", "s4d-lin", "--state", "4", "--dt", "0.05", "--quiet"};
    assertEquals(0, scan(concat(common, "-o", regular)).code());
    Run r = scan(concat(common, "-o", irregular, "--step-every", "1h"));
    assertEquals(0, r.code(), r::err);
    List<Row> a = spark.read().parquet(regular).orderBy("unique_id", "ds").collectAsList();
    List<Row> b = spark.read().parquet(irregular).orderBy("unique_id", "ds").collectAsList();
    double maxDiff = 0;
    for (int i = 0; i < a.size(); i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.get(i).<Double>getList(2).get(0) - b.get(i).<Double>getList(2).get(0)));
    }
    assertTrue(maxDiff < 1e-9, "max difference " + maxDiff);
  }

  @Test
  void modelOptionsAreValidatedWithTheirNames() {
    Run odd = scan("-i", panel.toString(), "-o", dir.resolve("odd").toString(), "--model", "s4d-lin", "--state", "7");
    assertEquals(2, odd.code()); // a usage error, found before Spark starts
    assertTrue(odd.err().contains("--state: expected an even S4D state size"), odd.err());
    Run theta = scan("-i", panel.toString(), "-o", dir.resolve("theta").toString(), "--model", "legs", "--theta", "0");
    assertEquals(2, theta.code());
    assertTrue(theta.err().contains("--theta"), theta.err());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
