package org.sparkssm.spark.mamba;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.spark.SparkTests;

/** Spark scoring with a Mamba-2 checkpoint equals the engine's one-shot pass, in both input formats. */
class MambaScoreTest {
  private static MambaModel model;
  private final SparkSession spark = SparkTests.session();

  @BeforeAll
  static void load() throws Exception {
    // The engine's golden checkpoint (tests run in the module directory).
    model = MambaModel.load(Paths.get("../spark-ssm/src/test/resources/golden/mamba/mamba2"));
  }

  /** Log-probabilities of tokens 1.. and the last hidden state from one forward pass (float64 reference). */
  private static double[][] reference(int[] ids) {
    int v = model.vocab();
    double[] logits = new double[ids.length * v];
    double[] hidden = new double[ids.length * model.dModel()];
    model.forward(ids, 0, ids.length, model.newState(), logits, 0, hidden, 0);
    double[] lp = new double[Math.max(0, ids.length - 1)];
    for (int t = 1; t < ids.length; t++) {
      double sum = 0;
      for (int k = 0; k < v; k++) {
        sum += Math.exp(logits[(t - 1) * v + k]);
      }
      lp[t - 1] = logits[(t - 1) * v + ids[t]] - Math.log(sum);
    }
    double[] last = new double[model.dModel()];
    System.arraycopy(hidden, (ids.length - 1) * model.dModel(), last, 0, last.length);
    return new double[][] {lp, last};
  }

  private static int[] randomTokens(SplittableRandom rnd, int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = rnd.nextInt(model.config().vocabSize());
    }
    return ids;
  }

  @Test
  void arrayRowsGetLogProbsPerplexityAndEmbedding() {
    SplittableRandom rnd = new SplittableRandom(5);
    List<Row> rows = new ArrayList<>();
    Map<String, int[]> bySeq = new HashMap<>();
    for (int s = 0; s < 6; s++) {
      int[] ids = randomTokens(rnd, 1 + rnd.nextInt(60));
      bySeq.put("d" + s, ids);
      List<Integer> boxed = new ArrayList<>();
      for (int id : ids) {
        boxed.add(id);
      }
      rows.add(RowFactory.create("d" + s, boxed));
    }
    StructType schema = new StructType().add("doc", DataTypes.StringType)
        .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType));
    rows.add(RowFactory.create("empty", new ArrayList<Integer>()));
    bySeq.put("empty", new int[0]);
    Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(3);
    // Rows scored together (one batched forward per 256 tokens, the default) and row by row: the same scores.
    List<Row> scored = new ArrayList<>(MambaScore.with(model).scoreArrays(df).collectAsList());
    scored.addAll(MambaScore.with(model).batchTokens(1).scoreArrays(df).collectAsList());
    assertEquals(14, scored.size());
    for (Row r : scored) {
      if (r.getString(0).equals("empty")) {
        assertTrue(r.isNullAt(r.fieldIndex("log_probs")) && r.isNullAt(r.fieldIndex("embedding")));
        continue;
      }
      int[] ids = bySeq.get(r.getString(0));
      double[][] ref = reference(ids);
      List<Double> lp = r.getList(r.fieldIndex("log_probs"));
      assertEquals(ids.length - 1, lp.size());
      double sum = 0;
      for (int t = 0; t < lp.size(); t++) {
        assertEquals(ref[0][t], lp.get(t), 1e-10, r.getString(0) + " position " + (t + 1));
        sum += ref[0][t];
      }
      if (ids.length < 2) {
        assertTrue(r.isNullAt(r.fieldIndex("perplexity")));
      } else {
        double ppl = Math.exp(-sum / (ids.length - 1)); // the random model's perplexity is large: relative tolerance
        assertEquals(ppl, r.getDouble(r.fieldIndex("perplexity")), 1e-10 * ppl);
      }
      assertArrayEquals(ref[1], ((Vector) r.get(r.fieldIndex("embedding"))).toArray(), 1e-10);
    }
    String bad = assertThrows(Exception.class, () -> MambaScore.with(model).scoreArrays(spark.createDataFrame(
        List.of(RowFactory.create("x", List.of(1, 2, 500))), schema)).collectAsList()).toString();
    assertTrue(SparkTests.rootMessage(assertThrows(Exception.class, () -> MambaScore.with(model).scoreArrays(
        spark.createDataFrame(List.of(RowFactory.create("x", List.of(1, 2, 500))), schema)).collect()))
        .contains("tokens column 'tokens'"), bad);
  }

  @Test
  void longFormatStreamsSequencesLongerThanAChunkAndEqualsTheOneShotPass() {
    SplittableRandom rnd = new SplittableRandom(9);
    int[] longOne = randomTokens(rnd, 600); // crosses MambaModel.CHUNK twice
    int[] shortOne = randomTokens(rnd, 7);
    List<Row> rows = new ArrayList<>();
    for (int t = 0; t < longOne.length; t++) {
      rows.add(RowFactory.create("long", 10L * t, (long) longOne[t]));
    }
    for (int t = 0; t < shortOne.length; t++) {
      rows.add(RowFactory.create("short", (long) t, (long) shortOne[t]));
    }
    StructType schema = new StructType().add("doc", DataTypes.StringType).add("pos", DataTypes.LongType)
        .add("tok", DataTypes.LongType);
    java.util.Collections.shuffle(rows, new java.util.Random(3));
    Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(4);
    MambaScore score = MambaScore.with(model).sequence("doc").position("pos").token("tok");
    double[][] ref = reference(longOne);
    Map<Long, Row> perToken = new HashMap<>();
    for (Row r : score.scoreTokens(df).collectAsList()) {
      if (r.getString(0).equals("long")) {
        perToken.put(r.getLong(1), r);
      }
    }
    assertEquals(600, perToken.size());
    assertNull(perToken.get(0L).get(3), "the first token has no context");
    for (int t = 1; t < longOne.length; t++) {
      assertEquals(ref[0][t - 1], perToken.get(10L * t).getDouble(3), 1e-10, "position " + t);
    }
    Map<String, Row> perSeq = new HashMap<>();
    for (Row r : score.scoreSequences(df).collectAsList()) {
      perSeq.put(r.getString(0), r);
    }
    double sum = 0;
    for (double v : ref[0]) {
      sum += v;
    }
    Row l = perSeq.get("long");
    assertEquals(600L, l.getLong(1));
    assertEquals(sum, l.getDouble(2), 1e-8);
    assertEquals(Math.exp(-sum / 599), l.getDouble(3), 1e-10 * Math.exp(-sum / 599));
    assertArrayEquals(ref[1], ((Vector) l.get(4)).toArray(), 1e-10);
    assertArrayEquals(reference(shortOne)[1], ((Vector) perSeq.get("short").get(4)).toArray(), 1e-10);

    List<Row> dup = List.of(RowFactory.create("a", 1L, 2L), RowFactory.create("a", 1L, 3L));
    String m = SparkTests.rootMessage(assertThrows(Exception.class,
        () -> score.scoreTokens(spark.createDataFrame(dup, schema)).collectAsList()));
    assertTrue(m.contains("sequence a") && m.contains("two at 1"), m);
  }
}
