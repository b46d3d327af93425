package org.sparkssm.spark.scan;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;

/**
 * Series keys of any type scan alike: binary (compared by content, in the sorted partitions, the
 * broadcast state maps and the two-pass chain), integer, double (-0.0 and 0.0 one series, as in
 * Spark's grouping), struct and date keys give exactly the string-keyed scan's outputs on the
 * one-task and the shuffled path; binary and struct keys also on the two-pass long-series path
 * and in a resume (state tables broadcast or shuffled).
 */
class SeriesKeyTypesTest {
  private final SparkSession spark = SparkTests.session();

  /** Output rows by (series index, time): the index is the number after "s" in the string key. */
  private static Map<String, List<Double>> byIndexAndTime(Dataset<Row> out, Column index) {
    Map<String, List<Double>> m = new HashMap<>();
    for (Row r : out.select(index.cast("long"), col("ds"), col("ssm_output")).collectAsList()) {
      m.put(r.getLong(0) + "@" + r.getLong(1), r.getList(2));
    }
    return m;
  }

  @Test
  void everyKeyTypeGivesTheStringKeyedScan() {
    SsmScanTest.Panel p = SsmScanTest.panel(41, 5, 300);
    Dataset<Row> strings = spark.createDataFrame(p.rows, SsmScanTest.TWO_CHANNELS)
        .withColumn("i", functions.expr("cast(substring(unique_id, 2) as int)")).cache();
    ScanModel m = SsmScanTest.diagonal(3);
    // How each key type is made from the index i, and how the index is read back from it.
    Map<String, UnaryOperator<Column>> keys = new HashMap<>();
    keys.put("binary", i -> functions.encode(functions.concat(functions.lit("s"), i.cast("string")), "UTF-8"));
    keys.put("int", i -> i);
    keys.put("double", i -> functions.when(i.equalTo(0), functions.lit(-0.0)).otherwise(i.cast("double")));
    keys.put("struct", i -> functions.struct(i.as("n"), functions.lit("x").as("tag")));
    keys.put("date", i -> functions.date_add(functions.lit("2020-01-01").cast("date"), i));
    Map<String, UnaryOperator<Column>> back = new HashMap<>();
    back.put("binary", k -> functions.expr("cast(substring(cast(unique_id as string), 2) as int)"));
    back.put("int", k -> k);
    back.put("double", k -> k);
    back.put("struct", k -> k.getField("n"));
    back.put("date", k -> functions.datediff(k, functions.lit("2020-01-01").cast("date")));

    Map<String, List<Double>> expected = byIndexAndTime(
        SsmScan.on(strings).values("a", "b").model(m).chunkRows(7).run(), back.get("binary").apply(col("unique_id")));
    for (String type : keys.keySet()) {
      Dataset<Row> keyed = strings.withColumn("unique_id", keys.get(type).apply(col("i"))).drop("i");
      Column index = back.get(type).apply(col("unique_id"));
      assertEquals(expected, byIndexAndTime(SsmScan.on(keyed).values("a", "b").model(m).chunkRows(7).run(), index),
          type + " keys, one task");
      assertEquals(expected, byIndexAndTime(SsmScan.on(keyed).values("a", "b").model(m).chunkRows(7).oneTaskBytes(0)
          .run(), index), type + " keys, shuffled");
      if (!type.equals("binary") && !type.equals("struct")) {
        continue; // the keys with their own handling also go through the two-pass path and a resume
      }
      Map<String, List<Double>> twoPass = byIndexAndTime(SsmScan.on(keyed).values("a", "b").model(m).chunkRows(7)
          .longSeriesRows(100).blockRows(29).longSeriesPartitions(3).run(), index);
      assertEquals(expected.keySet(), twoPass.keySet(), type + " keys, two-pass");
      for (Map.Entry<String, List<Double>> e : expected.entrySet()) {
        List<Double> got = twoPass.get(e.getKey());
        for (int j = 0; j < got.size(); j++) { // the two-pass carry rounds differently
          assertEquals(e.getValue().get(j), got.get(j), 1e-11 + 1e-9 * Math.abs(e.getValue().get(j)),
              type + " keys, two-pass " + e.getKey());
        }
      }
      // A resume from a state table keyed by this type: broadcast, and shuffled with the rows.
      Dataset<Row> old = keyed.filter(col("ds").lt(150));
      Dataset<Row> fresh = keyed.filter(col("ds").geq(150));
      Dataset<Row> states = SsmScan.on(old).values("a", "b").model(m).runWithState().states().localCheckpoint();
      for (long broadcast : new long[] {100_000L, 0}) {
        Map<String, List<Double>> resumed = byIndexAndTime(SsmScan.on(fresh).values("a", "b").model(m).chunkRows(7)
            .resumeFrom(states).oneTaskBytes(0).broadcastStates(broadcast).run(), index);
        for (Map.Entry<String, List<Double>> e : resumed.entrySet()) {
          assertEquals(expected.get(e.getKey()), e.getValue(), type + " keys, resumed (broadcast " + broadcast + ")");
        }
      }
    }
  }
}
