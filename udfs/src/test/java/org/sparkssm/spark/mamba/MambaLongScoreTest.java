package org.sparkssm.spark.mamba;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.nn.Precision;
import org.sparkssm.spark.SparkTests;

/**
 * A long sequence cut into blocks scored on different tasks, layer by layer with the halo and the
 * chained SSM states, equals the engine's one-shot float64 forward pass, for both layouts; in
 * float32 within float32's tolerance (the chained block states are float64 summaries of float32
 * scan inputs, the blocks' scans float32).
 */
class MambaLongScoreTest {
  private final SparkSession spark = SparkTests.session();

  @ParameterizedTest
  @CsvSource({"mamba1, float64, 1e-9", "mamba2, float64, 1e-9", "mamba1, float32, 2e-6", "mamba2, float32, 2e-6"})
  void blocksAcrossPartitionsEqualTheOneShotPass(String name, String precision, double tolerance) throws Exception {
    MambaModel reference = MambaModel.load(Paths.get("../spark-ssm/src/test/resources/golden/mamba/" + name));
    MambaModel model = MambaModel.load(Paths.get("../spark-ssm/src/test/resources/golden/mamba/" + name),
        Precision.parse("precision", precision));
    SplittableRandom rnd = new SplittableRandom(name.hashCode());
    Map<String, int[]> sequences = new HashMap<>();
    sequences.put("long", new int[701]);
    sequences.put("short", new int[5]); // shorter than one block
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, int[]> e : sequences.entrySet()) {
      int[] ids = e.getValue();
      for (int t = 0; t < ids.length; t++) {
        ids[t] = rnd.nextInt(model.config().vocabSize());
        rows.add(RowFactory.create(e.getKey(), 3L * t + 100, ids[t])); // positions with gaps: only order matters
      }
    }
    StructType schema = new StructType().add("doc", DataTypes.StringType).add("pos", DataTypes.LongType)
        .add("tok", DataTypes.IntegerType);
    Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(3);
    MambaScore.LongScore scored = MambaScore.with(model).sequence("doc").position("pos").token("tok").blockTokens(64)
        .scoreAcrossPartitions(df);
    try {
      Map<String, Row> got = new HashMap<>();
      for (Row r : scored.output().collectAsList()) {
        got.put(r.getString(0) + "@" + r.getLong(1), r);
      }
      assertEquals(706, got.size());
      for (Map.Entry<String, int[]> e : sequences.entrySet()) {
        int[] ids = e.getValue();
        int v = model.vocab();
        double[] logits = new double[ids.length * v];
        reference.forward(ids, 0, ids.length, reference.newState(), logits, 0, null, 0);
        double scale = 0;
        for (int k = 0; k < logits.length; k++) {
          scale = Math.max(scale, Math.abs(logits[k]));
        }
        assertNull(got.get(e.getKey() + "@100").get(3), "no log-prob for the first token");
        for (int t = 1; t < ids.length; t++) {
          double expected = MambaLongScore.logSoftmaxAt(logits, (t - 1) * v, v, ids[t]);
          Row r = got.get(e.getKey() + "@" + (3L * t + 100));
          assertEquals(ids[t], r.getLong(2));
          // Float64: block boundaries change only where chunk sums are split, equal to rounding (absolute).
          // Float32: relative to the logits' scale, as a log-prob's error is its logits' (measured 3e-7).
          double bound = precision.equals("float64") ? tolerance : tolerance * scale;
          assertEquals(expected, r.getDouble(3), bound, e.getKey() + " position " + t);
        }
      }
    } finally {
      scored.unpersist();
    }
  }
}
