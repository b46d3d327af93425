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
import org.junit.jupiter.params.provider.ValueSource;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.spark.SparkTests;

/**
 * A long sequence cut into blocks scored on different tasks, layer by layer with the halo and the
 * chained SSM states, equals the engine's one-shot forward pass, for both layouts.
 */
class MambaLongScoreTest {
  private final SparkSession spark = SparkTests.session();

  @ParameterizedTest
  @ValueSource(strings = {"mamba1", "mamba2"})
  void blocksAcrossPartitionsEqualTheOneShotPass(String name) throws Exception {
    MambaModel model = MambaModel.load(Paths.get("../spark-ssm/src/test/resources/golden/mamba/" + name));
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
        model.forward(ids, 0, ids.length, model.newState(), logits, 0, null, 0);
        assertNull(got.get(e.getKey() + "@100").get(3), "no log-prob for the first token");
        for (int t = 1; t < ids.length; t++) {
          double expected = MambaLongScore.logSoftmaxAt(logits, (t - 1) * v, v, ids[t]);
          Row r = got.get(e.getKey() + "@" + (3L * t + 100));
          assertEquals(ids[t], r.getLong(2));
          // Block boundaries change only where chunk sums are split: equal to rounding.
          assertEquals(expected, r.getDouble(3), 1e-9, e.getKey() + " position " + t);
        }
      }
    } finally {
      scored.unpersist();
    }
  }
}
