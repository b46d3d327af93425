package org.sparkssm.jobs.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.mamba.MambaModel;

/** The score job on the sample token file with the engine's golden Mamba checkpoint. */
class ScoreCommandTest {
  private static final String CHECKPOINT = "../spark-ssm/src/test/resources/golden/mamba/mamba1";
  private static final String SAMPLE = "../data-samples/tokens-4x300.csv";

  @TempDir
  Path dir;

  @Test
  void scoresEachSequenceOfTheSampleAsTheEngineDoes() throws Exception {
    SparkSession spark = JobsTests.session();
    String out = dir.resolve("ppl").toString();
    Run r = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", out, "--quiet");
    assertEquals(0, r.code(), r::err);
    MambaModel model = MambaModel.load(Paths.get(CHECKPOINT));
    Map<String, List<Integer>> docs = new HashMap<>();
    for (String line : Files.readAllLines(Paths.get(SAMPLE)).subList(1, 1201)) {
      String[] f = line.split(",");
      docs.computeIfAbsent(f[0], k -> new ArrayList<>()).add(Integer.parseInt(f[2])); // the file is in position order
    }
    List<Row> rows = spark.read().parquet(out).collectAsList();
    assertEquals(4, rows.size());
    for (Row row : rows) {
      int[] ids = docs.get(row.getString(0)).stream().mapToInt(Integer::intValue).toArray();
      double[] logits = new double[ids.length * model.vocab()];
      model.forward(ids, 0, ids.length, model.newState(), logits, 0, null, 0);
      double sum = 0;
      for (int t = 1; t < ids.length; t++) {
        double z = 0;
        for (int v = 0; v < model.vocab(); v++) {
          z += Math.exp(logits[(t - 1) * model.vocab() + v]);
        }
        sum += logits[(t - 1) * model.vocab() + ids[t]] - Math.log(z);
      }
      assertEquals(300L, row.getLong(row.fieldIndex("tokens")));
      assertEquals(sum, row.getDouble(row.fieldIndex("log_likelihood")), 1e-8);
    }
    Run again = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", out, "--quiet");
    assertTrue(again.code() != 0 && again.err().contains(out), again.err());

    // --precision float32: the same sequences, log-likelihoods (sums of 299 log-probs) within 1e-6 of float64's.
    String f32 = dir.resolve("ppl32").toString();
    Run single = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", f32, "--precision", "float32",
        "--quiet");
    assertEquals(0, single.code(), single::err);
    Map<String, Double> f64 = new HashMap<>();
    for (Row row : rows) {
      f64.put(row.getString(0), row.getDouble(row.fieldIndex("log_likelihood")));
    }
    List<Row> rows32 = spark.read().parquet(f32).collectAsList();
    assertEquals(4, rows32.size());
    for (Row row : rows32) {
      double expected = f64.get(row.getString(0));
      double got = row.getDouble(row.fieldIndex("log_likelihood"));
      assertEquals(expected, got, 1e-6 * Math.abs(expected), row.getString(0));
      assertTrue(expected != got, "float32 computed as float64");
    }

    // --embedding array: the same numbers as a plain array<double>.
    String arrays = dir.resolve("arrays").toString();
    Run asArray = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", arrays, "--embedding",
        "array", "--quiet");
    assertEquals(0, asArray.code(), asArray::err);
    org.apache.spark.sql.Dataset<Row> plain = spark.read().parquet(arrays);
    assertEquals("array<double>", plain.schema().apply("embedding").dataType().simpleString());
    Row vectorRow = spark.read().parquet(out).orderBy("sequence_id").first();
    Row arrayRow = plain.orderBy("sequence_id").first();
    // Two scoring runs, not one value converted: the first run in a JVM scores while the kernels are
    // still being compiled, and the results must not depend on it (VectorMath), so bit for bit.
    double[] vector = ((org.apache.spark.ml.linalg.Vector) vectorRow.get(vectorRow.fieldIndex("embedding"))).toArray();
    List<Double> array = arrayRow.getList(arrayRow.fieldIndex("embedding"));
    assertEquals(vector.length, array.size());
    for (int i = 0; i < vector.length; i++) {
      assertEquals(vector[i], array.get(i), 0.0, "embedding " + i);
    }

    Run perToken = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", dir.resolve("tok").toString(),
        "--per", "token", "--quiet");
    assertEquals(0, perToken.code(), perToken::err);
    assertEquals(1200, spark.read().parquet(dir.resolve("tok").toString()).count());

    // The same per-token log-probabilities with each sequence cut into blocks of 64 rows.
    Run blocks = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", dir.resolve("blocks").toString(),
        "--per", "token", "--block-tokens", "64", "--quiet");
    assertEquals(0, blocks.code(), blocks::err);
    List<Row> a = spark.read().parquet(dir.resolve("tok").toString()).orderBy("sequence_id", "position").collectAsList();
    List<Row> b = spark.read().parquet(dir.resolve("blocks").toString()).orderBy("sequence_id", "position")
        .collectAsList();
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i).isNullAt(3)) {
        assertTrue(b.get(i).isNullAt(3), a.get(i).toString());
      } else {
        assertEquals(a.get(i).getDouble(3), b.get(i).getDouble(3), 1e-9, a.get(i).toString());
      }
    }
  }

  @Test
  void aBadCheckpointIsOneLineBeforeSparkStartsWithoutTheUsageText() throws Exception {
    Path bad = Files.createDirectories(dir.resolve("ckpt"));
    Files.copy(Paths.get(CHECKPOINT, "config.json"), bad.resolve("config.json"));
    Run missing = JobsTests.run("score", "--checkpoint", bad.toString(), "-i", SAMPLE, "-o", dir.resolve("o").toString());
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("no model.safetensors"), missing.err());
    assertEquals(1, missing.err().strip().lines().count(), missing::err);
    byte[] model = Files.readAllBytes(Paths.get(CHECKPOINT, "model.safetensors"));
    Files.write(bad.resolve("model.safetensors"), java.util.Arrays.copyOf(model, model.length / 2));
    Run truncated = JobsTests.run("score", "--checkpoint", bad.toString(), "-i", SAMPLE, "-o",
        dir.resolve("o").toString());
    assertEquals(1, truncated.code());
    assertTrue(truncated.err().contains("model.safetensors") && truncated.err().contains("truncated"), truncated.err());
    assertEquals(1, truncated.err().strip().lines().count(), truncated::err);
    Run precision = JobsTests.run("score", "--checkpoint", CHECKPOINT, "-i", SAMPLE, "-o", dir.resolve("o").toString(),
        "--precision", "fp16");
    assertTrue(precision.code() != 0, precision::err);
    assertEquals("score: error: --precision: expected float64, float32 or float32-state64, got 'fp16'",
        precision.err().strip(), precision::err);
  }
}
