package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.Activation;
import org.sparkssm.scan.CausalConv1d;
import org.sparkssm.scan.DenseSsm;
import org.sparkssm.scan.DiagonalSsm;
import org.sparkssm.scan.LayerStack;
import org.sparkssm.scan.LinearMap;
import org.sparkssm.scan.S5Ssm;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;

class SsmScanTest {
  private final SparkSession spark = SparkTests.session();

  static final StructType TWO_CHANNELS = new StructType()
      .add("unique_id", DataTypes.StringType)
      .add("ds", DataTypes.LongType)
      .add("a", DataTypes.DoubleType)
      .add("b", DataTypes.DoubleType);

  /** Generated long-format panel: series "s0".."s{n-1}", increasing irregular times, two channels. */
  static final class Panel {
    final Map<String, long[]> times = new HashMap<>();
    final Map<String, double[]> values = new HashMap<>(); // time-major, 2 channels
    final List<Row> rows = new ArrayList<>();
  }

  static Panel panel(long seed, int seriesCount, int maxLength) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Panel p = new Panel();
    for (int s = 0; s < seriesCount; s++) {
      String id = "s" + s;
      int length = 1 + rnd.nextInt(maxLength);
      long[] t = new long[length];
      double[] v = new double[2 * length];
      long now = rnd.nextInt(1000);
      for (int i = 0; i < length; i++) {
        now += 1 + rnd.nextInt(5);
        t[i] = now;
        v[2 * i] = rnd.nextDouble() * 2 - 1;
        v[2 * i + 1] = rnd.nextDouble() * 2 - 1;
        p.rows.add(RowFactory.create(id, now, v[2 * i], v[2 * i + 1]));
      }
      p.times.put(id, t);
      p.values.put(id, v);
    }
    Collections.shuffle(p.rows, new Random(seed));
    return p;
  }

  static DiagonalSsm diagonal(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int size = 2 * 4;
    double[] ar = new double[size];
    double[] ai = new double[size];
    for (int i = 0; i < size; i++) {
      double r = 0.5 + 0.45 * rnd.nextDouble();
      double th = Math.PI * rnd.nextDouble();
      ar[i] = r * Math.cos(th);
      ai[i] = r * Math.sin(th);
    }
    return DiagonalSsm.complex(2, 4, ar, ai, gauss(rnd, size), gauss(rnd, size), gauss(rnd, size), gauss(rnd, size),
        gauss(rnd, 2));
  }

  static double[] gauss(SplittableRandom rnd, int n) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = rnd.nextDouble() * 2 - 1;
    }
    return a;
  }

  static ScanModel[] models() {
    SplittableRandom rnd = new SplittableRandom(99);
    double[] lr = {0.9, 0.5, -0.3};
    double[] li = {0.1, -0.4, 0.2};
    S5Ssm s5 = S5Ssm.of(2, 3, lr, li, gauss(rnd, 6), gauss(rnd, 6), gauss(rnd, 6), gauss(rnd, 6), null);
    double[] a = gauss(rnd, 9);
    for (int i = 0; i < 9; i++) {
      a[i] *= 0.3;
    }
    DenseSsm dense = DenseSsm.of(3, 2, a, gauss(rnd, 6), 3, gauss(rnd, 9), gauss(rnd, 6));
    return new ScanModel[] {diagonal(5), s5, dense, stack(7)};
  }

  /**
   * Three stages, every kind of layer: conv(k=3) → SiLU → diagonal | linear → GELU → conv(k=4) → S5 |
   * conv(k=2) (a last stage of windowed layers only).
   */
  static LayerStack stack(long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] lr = {0.8, -0.6};
    double[] li = {0.3, 0.2};
    return LayerStack.of(
        CausalConv1d.of(2, 3, gauss(rnd, 6), gauss(rnd, 2)),
        Activation.of(Activation.Kind.SILU, 2),
        diagonal(seed),
        LinearMap.of(2, 2, gauss(rnd, 4), gauss(rnd, 2)),
        Activation.of(Activation.Kind.GELU_TANH, 2),
        CausalConv1d.of(2, 4, gauss(rnd, 8), null),
        S5Ssm.of(2, 2, lr, li, gauss(rnd, 4), gauss(rnd, 4), gauss(rnd, 4), gauss(rnd, 4), gauss(rnd, 2)),
        CausalConv1d.of(2, 2, gauss(rnd, 4), gauss(rnd, 2)));
  }

  /** The engine's one-shot scan of one series: outputs (L, P). */
  static double[] oneShot(ScanModel m, double[] values, int length) {
    double[] y = new double[length * m.outputs()];
    m.scan(values, 0, y, 0, length, new double[m.stateSize()]);
    return y;
  }

  @Test
  void manySeriesEqualTheOneShotScanBitForBitForAnyChunkingAndPartitioning() {
    Panel p = panel(1, 14, 200);
    SplittableRandom rnd = new SplittableRandom(2);
    int[] chunkSizes = {1, 7, 64, 100_000};
    int trial = 0;
    for (ScanModel m : models()) {
      for (int chunk : chunkSizes) {
        int partitions = 1 + rnd.nextInt(5);
        Dataset<Row> df = spark.createDataFrame(p.rows, TWO_CHANNELS).repartition(partitions);
        long oneTask = trial % 2 == 0 ? 8L << 20 : 0; // one task without a shuffle, or hashed to partitions
        List<Row> out = SsmScan.on(df).values("a", "b").model(m).chunkRows(chunk).oneTaskBytes(oneTask).run()
            .collectAsList();
        assertEquals(p.rows.size(), out.size(), "one output row per input row");
        Map<String, double[]> expected = new HashMap<>();
        for (Map.Entry<String, double[]> e : p.values.entrySet()) {
          expected.put(e.getKey(), oneShot(m, e.getValue(), p.times.get(e.getKey()).length));
        }
        for (Row r : out) {
          String id = r.getString(0);
          long t = r.getLong(1);
          int i = java.util.Arrays.binarySearch(p.times.get(id), t);
          assertTrue(i >= 0, "output time exists in the input");
          List<Double> ys = r.getList(2);
          for (int j = 0; j < m.outputs(); j++) {
            assertEquals(expected.get(id)[i * m.outputs() + j], ys.get(j), 0.0,
                m.getClass().getSimpleName() + " chunk " + chunk + " partitions " + partitions + " series " + id
                    + " row " + i + " output " + j);
          }
        }
        trial++;
      }
    }
    assertEquals(4 * models().length, trial); // every model, chunk size and partitioning ran
  }

  @Test
  void timestampDateAndIntTimesRoundTripAndOrderTheScan() {
    DiagonalSsm m = diagonal(3);
    List<Row> rows = new ArrayList<>();
    // Reverse order in the input: the scan must sort by time.
    for (int i = 5; i >= 0; i--) {
      rows.add(RowFactory.create(7L, java.sql.Timestamp.valueOf("2024-01-0" + (i + 1) + " 10:00:00"),
          java.sql.Date.valueOf("2024-02-0" + (i + 1)), 100 + i, (double) i, 1.0 - i));
    }
    StructType schema = new StructType().add("id", DataTypes.LongType).add("ts", DataTypes.TimestampType)
        .add("day", DataTypes.DateType).add("step", DataTypes.IntegerType).add("a", DataTypes.DoubleType)
        .add("b", DataTypes.DoubleType);
    Dataset<Row> df = spark.createDataFrame(rows, schema);
    double[] values = new double[12];
    for (int i = 0; i < 6; i++) {
      values[2 * i] = i;
      values[2 * i + 1] = 1.0 - i;
    }
    double[] expected = oneShot(m, values, 6);
    for (String timeCol : new String[] {"ts", "day", "step"}) {
      SsmScan scan = SsmScan.on(df).series("id").time(timeCol).values("a", "b").model(m).outputColumns("y1", "y2");
      Dataset<Row> out = scan.run().orderBy(timeCol);
      assertEquals(scan.outputSchema().simpleString(), out.schema().simpleString(), "outputSchema() describes run()");
      List<Row> got = out.collectAsList();
      for (int i = 0; i < 6; i++) {
        assertEquals(7L, got.get(i).getLong(0));
        assertEquals(df.orderBy(timeCol).collectAsList().get(i).getAs(timeCol), got.get(i).get(1), timeCol);
        assertEquals(expected[2 * i], got.get(i).getDouble(2), 0.0, timeCol + " row " + i);
        assertEquals(expected[2 * i + 1], got.get(i).getDouble(3), 0.0, timeCol + " row " + i);
      }
    }
  }

  @Test
  void missingValuesHoldTheStateAndOutputNaN() {
    DiagonalSsm m = diagonal(4);
    List<Row> rows = new ArrayList<>();
    Double[][] v = {{1.0, 2.0}, {null, 1.0}, {0.5, Double.NaN}, {3.0, -1.0}, {Double.POSITIVE_INFINITY, 0.0}, {2.0, 2.0}};
    for (int i = 0; i < v.length; i++) {
      rows.add(RowFactory.create("x", (long) i, v[i][0], v[i][1]));
    }
    List<Row> out = SsmScan.on(spark.createDataFrame(rows, TWO_CHANNELS)).values("a", "b").model(m).chunkRows(2)
        .withState("h").run().orderBy("ds").collectAsList();
    // Expected: scan only rows 0, 3, 5 in order; missing rows keep the previous state.
    double[] h = new double[m.stateSize()];
    double[] y = new double[2];
    for (int i = 0; i < v.length; i++) {
      Row r = out.get(i);
      boolean missing = i == 1 || i == 2 || i == 4;
      if (!missing) {
        m.scan(new double[] {v[i][0], v[i][1]}, 0, y, 0, 1, h);
      }
      List<Double> ys = r.getList(2);
      for (int j = 0; j < 2; j++) {
        if (missing) {
          assertTrue(Double.isNaN(ys.get(j)), "row " + i + " output NaN");
        } else {
          assertEquals(y[j], ys.get(j), 0.0, "row " + i);
        }
      }
      assertArrayEquals(h, ((org.apache.spark.ml.linalg.Vector) r.get(3)).toArray(), "state after row " + i);
    }
  }

  @Test
  void badInputFailsNamingTheColumnAndSeries() {
    DiagonalSsm m = diagonal(6);
    Dataset<Row> good = spark.createDataFrame(panel(3, 2, 5).rows, TWO_CHANNELS);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(good).values("a", "c").model(m).run());
    assertTrue(e.getMessage().contains("'c'") && e.getMessage().contains("unique_id"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SsmScan.on(good).values("a").model(m).run());
    assertTrue(e.getMessage().contains("expected 2 columns"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(good.withColumn("b", good.col("b").cast("string"))).values("a", "b").model(m).run());
    assertTrue(e.getMessage().contains("'b'") && e.getMessage().contains("numeric") && e.getMessage().contains("string"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(good.withColumn("ds", good.col("ds").cast("string"))).values("a", "b").model(m).run());
    assertTrue(e.getMessage().contains("time column 'ds'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SsmScan.on(good).values("a", "b").run());
    assertTrue(e.getMessage().startsWith("model:"), e.getMessage());

    List<Row> dup = new ArrayList<>(List.of(RowFactory.create("ok", 1L, 0.0, 0.0), RowFactory.create("bad", 5L, 1.0, 1.0),
        RowFactory.create("bad", 5L, 2.0, 2.0)));
    Exception job = assertThrows(Exception.class,
        () -> SsmScan.on(spark.createDataFrame(dup, TWO_CHANNELS)).values("a", "b").model(m).run().collect());
    assertTrue(SparkTests.rootMessage(job).contains("duplicate") && SparkTests.rootMessage(job).contains("unique_id = 'bad'")
        && SparkTests.rootMessage(job).contains("'ds'"), SparkTests.rootMessage(job));

    List<Row> nullTime = List.of(RowFactory.create("z", null, 1.0, 1.0));
    job = assertThrows(Exception.class,
        () -> SsmScan.on(spark.createDataFrame(nullTime, TWO_CHANNELS)).values("a", "b").model(m).run().collect());
    assertTrue(SparkTests.rootMessage(job).contains("column 'ds'") && SparkTests.rootMessage(job).contains("unique_id = 'z'"), SparkTests.rootMessage(job));

    List<Row> nullKey = List.of(RowFactory.create(null, 1L, 1.0, 1.0));
    job = assertThrows(Exception.class,
        () -> SsmScan.on(spark.createDataFrame(nullKey, TWO_CHANNELS)).values("a", "b").model(m).run().collect());
    assertTrue(SparkTests.rootMessage(job).contains("column 'unique_id'") && SparkTests.rootMessage(job).contains("null"), SparkTests.rootMessage(job));
  }
}
