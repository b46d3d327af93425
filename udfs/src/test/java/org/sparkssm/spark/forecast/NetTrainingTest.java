package org.sparkssm.spark.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.Trainer;
import org.sparkssm.train.TrainingConfig;
import org.sparkssm.train.WindowModel;
import org.sparkssm.train.Windows;

/**
 * Data-parallel training on Spark against {@link Trainer} in one JVM: one partition is exact, more
 * partitions differ by summation order only, the same partitions twice are bit-identical, and a
 * run stopped mid-epoch and resumed from its checkpoint ends with the uninterrupted run's weights.
 */
class NetTrainingTest {
  private final SparkSession spark = SparkTests.session();

  private static final int L = 24;
  private static final int H = 6;
  private static final int VALIDATION = 30;
  private static final DeepModels MODEL = new DeepModels("smamba", 8, 1, 4, 8, 0.1, 24, false);

  private static TrainingConfig config() {
    return TrainingConfig.defaults().withEpochs(3).withBatchSize(12).withWindowsPerEpoch(60).withPatience(0)
        .withLearningRate(3e-3).withThreads(2);
  }

  private final List<Row> rows = new ArrayList<>();
  private final List<double[]> series = SsmForecastTest.panel(3, 5, rows);

  private Dataset<Row> table() {
    return spark.createDataFrame(rows, SsmForecastTest.LONG_FORMAT).repartition(3);
  }

  private NetTraining training(int partitions) {
    return NetTraining.on(table()).model(MODEL).lookback(L).horizon(H).split(WindowSplit.lastRows(VALIDATION, 0))
        .config(config()).partitions(partitions);
  }

  /** The same windows in the order one partition holds them: series by key ("s0" < "s1" < ...), then time. */
  private Windows localWindows(boolean train) {
    int total = 0;
    for (double[] y : series) {
      total += y.length;
    }
    double[] packed = new double[total];
    List<Integer> starts = new ArrayList<>();
    List<Long> phases = new ArrayList<>();
    int base = 0;
    for (double[] y : series) {
      System.arraycopy(y, 0, packed, base, y.length);
      int n = y.length;
      for (int s = 0; s + L + H <= n; s++) {
        int firstTarget = s + L;
        boolean isTrain = firstTarget + H <= n - VALIDATION;
        boolean isValidation = firstTarget >= n - VALIDATION;
        if (train ? isTrain : isValidation) {
          starts.add(base + s);
          phases.add((long) s);
        }
      }
      base += n;
    }
    return Windows.at(new double[][] {packed}, starts.stream().mapToInt(Integer::intValue).toArray(),
        phases.stream().mapToLong(Long::longValue).toArray(), L, H, 0);
  }

  @Test
  void onePartitionGivesExactlyTheSingleJvmWeightsAndMorePartitionsDifferOnlyByRounding() {
    NetTraining.Outcome one = training(1).fit();
    WindowModel model = MODEL.build(L, H, 1, null);
    Windows train = localWindows(true);
    Windows validation = localWindows(false);
    assertEquals(train.size(), one.trainWindows());
    assertEquals(validation.size(), one.validationWindows());
    Trainer.Result local = Trainer.train(model, train, validation, config());
    assertArrayEquals(local.weights(), one.result().weights(), 0.0, "P = 1 is the single-JVM run, bit for bit");
    assertEquals(local.bestValidationMse(), one.result().bestValidationMse(), 0.0);
    assertEquals(local.history(), one.result().history().stream()
        .map(e -> new Trainer.Epoch(e.epoch(), e.trainLoss(), e.validationMse(), e.validationMae(), e.learningRate(),
            local.history().get(e.epoch()).seconds())).toList());

    NetTraining.Outcome three = training(3).fit();
    NetTraining.Outcome again = training(3).fit();
    assertArrayEquals(three.result().weights(), again.result().weights(), 0.0, "same P and seed: bit-identical");
    double[] a = one.result().weights();
    double[] b = three.result().weights();
    double scale = 0;
    double diff = 0;
    for (int i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i]));
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    // 15 AdamW steps from gradients that differ in the last bits (the order of 3 partial sums).
    assertTrue(diff <= 1e-9 * scale, "P = 3 vs P = 1: max |Δw| = " + diff + " of max |w| = " + scale);
    assertEquals(one.result().bestValidationMse(), three.result().bestValidationMse(),
        1e-9 * one.result().bestValidationMse());
  }

  @Test
  void aRunStoppedMidEpochAndResumedEndsWithTheUninterruptedWeights(@TempDir Path dir) throws Exception {
    NetTraining.Outcome uninterrupted = training(2).fit();
    String checkpoint = dir.resolve("ckpt").toUri().toString();
    RuntimeException kill = new RuntimeException("killed");
    RuntimeException thrown = assertThrows(RuntimeException.class, () -> training(2).checkpoint(checkpoint)
        .listener(new Trainer.Listener() {
          @Override
          public void step(int epoch, int step, int steps, double loss) {
            if (epoch == 2 && step == 3) {
              throw kill;
            }
          }
        }).fit());
    assertEquals(kill, thrown);
    assertTrue(Files.exists(dir.resolve("ckpt/epoch-000001.safetensors")), "epoch 1's checkpoint is kept");

    String refused = assertThrows(IllegalArgumentException.class, () -> training(2).checkpoint(checkpoint).fit())
        .getMessage();
    assertTrue(refused.contains("epoch-000001.safetensors") && refused.contains("resume"), refused);
    String other = assertThrows(IllegalArgumentException.class,
        () -> training(2).config(config().withSeed(7)).checkpoint(checkpoint).resume(true).fit()).getMessage();
    assertTrue(other.contains("another run") && other.contains("seed=7"), other);

    List<Integer> resumedEpochs = new ArrayList<>();
    NetTraining.Outcome resumed = training(2).checkpoint(checkpoint).resume(true).listener(new Trainer.Listener() {
      @Override
      public void epoch(Trainer.State state) {
        resumedEpochs.add(state.epoch());
      }
    }).fit();
    assertEquals(List.of(2, 3), resumedEpochs, "continues after the last finished epoch");
    assertArrayEquals(uninterrupted.result().weights(), resumed.result().weights(), 0.0);
    assertEquals(uninterrupted.result().history().size(), resumed.result().history().size());
    assertTrue(Files.exists(dir.resolve("ckpt/epoch-000003.safetensors")));
    assertEquals(1, Files.list(dir.resolve("ckpt")).count(), "older epochs are deleted");
  }

  @Test
  void theTrainedNetworkForecastsEverySeriesFromItsLastWindow() {
    NetTraining.Outcome o = training(2).fit();
    List<Row> future = o.fitted().forecast(table()).orderBy("unique_id", "step").collectAsList();
    assertEquals(series.size() * H, future.size());
    for (int s = 0; s < series.size(); s++) {
      double[] y = series.get(s);
      double[][] expected = o.forecaster().forecast(new double[][] {y}, y.length - L);
      for (int k = 0; k < H; k++) {
        Row r = future.get(s * H + k);
        assertEquals("s" + s, r.getString(0));
        assertEquals(expected[0][k], r.getDouble(3), 1e-12 * Math.max(1, Math.abs(expected[0][k])));
      }
    }
    SsmForecast.Metrics m = o.fitted().withSplit(WindowSplit.lastRows(0, 12)).evaluate(table());
    assertTrue(Double.isFinite(m.mse()) && m.windows() == series.size() * (12 - H + 1), String.valueOf(m));
    assertNotEquals(0, o.result().steps());
  }

  @Test
  void seriesAreSpreadSoPartitionsHoldAboutTheSameRowsAndEachAddressLandsOnItsPartition() {
    for (int p : new int[] {1, 2, 3, 4, 7}) {
      int[] address = NetTraining.partitionAddresses(p);
      List<Row> rows = new ArrayList<>();
      for (int k = 0; k < p; k++) {
        rows.add(RowFactory.create(k, address[k]));
      }
      StructType schema = new StructType().add("k", DataTypes.IntegerType).add("a", DataTypes.IntegerType);
      for (Row r : spark.createDataFrame(rows, schema).repartition(p, functions.col("a"))
          .select(functions.col("k"), functions.spark_partition_id()).collectAsList()) {
        assertEquals(r.getInt(0), r.getInt(1), "address of partition " + r.getInt(0) + " of " + p);
      }
    }
    // Largest first to the least loaded (ties to the lower index): 100 | 60, 30, 20 | 50, 40.
    long[] sizes = {20, 100, 40, 60, 30, 50};
    int[] part = NetTraining.assign(sizes, new int[] {0, 1, 2, 3, 4, 5}, 3);
    long[] load = new long[3];
    for (int i = 0; i < sizes.length; i++) {
      load[part[i]] += sizes[i];
    }
    assertArrayEquals(new long[] {100, 110, 90}, load);
    // A null series key reaches a task like any other key, which fails naming the column.
    List<Row> withNull = new ArrayList<>(this.rows);
    withNull.add(RowFactory.create(null, 0L, 1.0));
    Exception e = assertThrows(Exception.class, () -> NetTraining.on(spark.createDataFrame(withNull,
        SsmForecastTest.LONG_FORMAT)).model(MODEL).lookback(L).horizon(H).split(WindowSplit.lastRows(VALIDATION, 0))
        .config(config()).partitions(2).fit());
    StringBuilder messages = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      messages.append(t.getMessage()).append('\n');
    }
    assertTrue(messages.toString().contains("series column 'unique_id': expected no null keys"), messages.toString());
    // Equal sizes: ties by key rank, round robin.
    assertArrayEquals(new int[] {0, 1, 2, 0}, NetTraining.assign(new long[] {5, 5, 5, 5}, new int[] {0, 1, 2, 3}, 3));
  }
}
