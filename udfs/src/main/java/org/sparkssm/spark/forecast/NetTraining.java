package org.sparkssm.spark.forecast;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.gpu.Gpu;
import org.sparkssm.gpu.GpuLayers;
import org.sparkssm.gpu.GpuMode;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.Precision;
import org.sparkssm.spark.gpu.TaskGpu;
import org.sparkssm.spark.scan.InputColumns;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.TrainedForecaster;
import org.sparkssm.train.Trainer;
import org.sparkssm.train.TrainingCheckpoint;
import org.sparkssm.train.TrainingConfig;
import org.sparkssm.train.WindowModel;
import org.sparkssm.train.Windows;

/**
 * Trains one network forecaster ({@link DeepModels}: {@code smamba}, {@code s4dnet},
 * {@code rlinear}) over every series of a long-format table, data-parallel on Spark:
 *
 * <pre>{@code
 * NetTraining.Outcome o = NetTraining.on(df)                 // unique_id, ds, y by default
 *     .model(DeepModels.named("s4dnet")).lookback(96).horizon(24)
 *     .split(WindowSplit.lastRows(48, 0)).config(TrainingConfig.defaults()).partitions(4)
 *     .checkpoint("hdfs:///tmp/run1").fit();
 * Dataset<Row> future = o.fitted().forecast(df);           // unique_id, ds, step, forecast
 * }</pre>
 *
 * <h2>How it trains</h2>
 * Rows are hash-partitioned by series into P partitions and sorted by time, as
 * {@link SsmForecast} does; each task walks its series ({@link WindowWalker}, the same grid, fill
 * and split rules as the closed-form forecasters) and keeps its training and validation windows
 * packed (each series' values once, the windows as offsets), cached on the executors: the driver
 * never collects data, only counts. Training window ids are global (partition after partition), so
 * an epoch's seeded permutation and every batch are the same whatever P is. Each optimizer step is
 * one Spark job: the driver broadcasts the weights and the batch's ids, each task computes the
 * gradient of the windows of the batch it holds ({@link Trainer.ShardGradient}, dropout seeded by
 * batch position) and sends it back, and the driver adds the task gradients in partition order and
 * takes the AdamW step ({@link Trainer}'s loop: clipping, schedule, early stopping, best weights).
 * A lost task is recomputed from the same inputs and gives the same gradient. One partition gives
 * exactly the weights of {@link Trainer} in one JVM over the same windows; P partitions differ only
 * by the order the P partial sums are added (tests state the tolerance); the same P and seed give
 * bit-identical weights.
 *
 * <p>Why a job per step and not barrier mode: every task of a barrier stage would keep the weights
 * and exchange gradients through {@code BarrierTaskContext.allGather}, which carries strings
 * through the driver to every task (P² copies of the gradient per step), and one lost task fails
 * the whole stage; a job per step sends P gradients to the driver and one broadcast back, and a
 * lost task is simply retried.
 *
 * <h2>Checkpoints</h2>
 * With {@link #checkpoint}, the state after every epoch ({@link TrainingCheckpoint}: weights,
 * optimizer, best weights, counters, history) is written to {@code <dir>/epoch-NNNNNN.safetensors}
 * on any Hadoop file system, atomically (a temporary name, then a rename), and older epochs are
 * deleted. {@link #resume} continues from the newest one; every random draw is a function of the
 * seed, epoch and step, so a run stopped anywhere and resumed ends with the weights of an
 * uninterrupted run. A folder holding a checkpoint is never overwritten without {@link #resume}.
 */
public final class NetTraining {
  private final Dataset<Row> input;
  private String series = "unique_id";
  private String time = "ds";
  private String value = "y";
  private DeepModels spec = DeepModels.named("smamba");
  private int lookback = 96;
  private int horizon = 24;
  private WindowSplit split = WindowSplit.lastRows(24, 0);
  private TimeGrid grid = TimeGrid.ROWS;
  private TrainingConfig config = TrainingConfig.defaults();
  private int partitions;
  private String checkpoint;
  private boolean resume;
  private double[] lambdas = org.sparkssm.forecast.RidgeStats.DEFAULT_LAMBDAS.clone();
  private Trainer.Listener listener = new Trainer.Listener() {};

  private NetTraining(Dataset<Row> input) {
    this.input = Checks.notNull("input", input);
  }

  public static NetTraining on(Dataset<Row> df) {
    return new NetTraining(df);
  }

  public NetTraining series(String column) {
    this.series = Checks.notNull("series", column);
    return this;
  }

  public NetTraining time(String column) {
    this.time = Checks.notNull("time", column);
    return this;
  }

  public NetTraining value(String column) {
    this.value = Checks.notNull("value", column);
    return this;
  }

  /** The network and its settings (one channel: each series is a window's only channel). */
  public NetTraining model(DeepModels settings) {
    this.spec = Checks.notNull("model", settings);
    return this;
  }

  public NetTraining lookback(int rows) {
    this.lookback = Checks.positive("lookback", rows);
    return this;
  }

  public NetTraining horizon(int rows) {
    this.horizon = Checks.positive("horizon", rows);
    return this;
  }

  /** Which windows train and which choose the best epoch (the test part, if any, is not read). */
  public NetTraining split(WindowSplit windowSplit) {
    this.split = Checks.notNull("split", windowSplit);
    return this;
  }

  public NetTraining grid(TimeGrid timeGrid) {
    this.grid = Checks.notNull("grid", timeGrid);
    return this;
  }

  /** The optimizer, schedule, epochs, batch and seed ({@code threads} is not read: tasks are the parallelism). */
  public NetTraining config(TrainingConfig cfg) {
    this.config = Checks.notNull("config", cfg);
    return this;
  }

  /** P, the partitions (and tasks per step) the windows are spread over; 0: Spark's default parallelism. */
  public NetTraining partitions(int p) {
    this.partitions = Checks.nonNegative("partitions", p);
    return this;
  }

  /** A folder (any Hadoop URI) for a checkpoint after every epoch; null for none. */
  public NetTraining checkpoint(String uri) {
    this.checkpoint = uri;
    return this;
  }

  /** Continue from the newest checkpoint in {@link #checkpoint}'s folder, if there is one. */
  public NetTraining resume(boolean r) {
    this.resume = r;
    return this;
  }

  /** The ridge penalties the {@code nlinear} skip chooses from (when the model has the skip). */
  public NetTraining lambdas(double... grid) {
    this.lambdas = Checks.notNull("lambdas", grid).clone();
    return this;
  }

  /** Progress: steps and epochs as they finish (called on the driver). */
  public NetTraining listener(Trainer.Listener l) {
    this.listener = Checks.notNull("listener", l);
    return this;
  }

  /** What a fit returns: the forecaster, ready to forecast a table, and how its training went. */
  public record Outcome(SsmForecast.Fitted fitted, TrainedForecaster forecaster, Trainer.Result result,
      long trainWindows, long validationWindows, long skippedWindows, int partitions, Timing timing) {}

  /**
   * Where the optimizer steps' time went (this run's steps, on the driver's clock): the wall time
   * of the steps' Spark jobs, and within it the compute of each step's slowest task (its gradient;
   * the rest of a step is scheduling, shipping the weights, sending back and adding the gradients).
   *
   * @param steps optimizer steps timed
   * @param stepSeconds their wall time, summed
   * @param slowestTaskSeconds each step's slowest task's gradient compute, summed
   * @param taskSeconds every task's gradient compute, summed (the work a single JVM would do)
   */
  public record Timing(long steps, double stepSeconds, double slowestTaskSeconds, double taskSeconds) {
    /** Mean milliseconds per step. */
    public double stepMillis() {
      return steps == 0 ? Double.NaN : 1e3 * stepSeconds / steps;
    }

    /** Mean milliseconds per step of the slowest task's compute. */
    public double computeMillis() {
      return steps == 0 ? Double.NaN : 1e3 * slowestTaskSeconds / steps;
    }
  }

  /** Checks the columns before any job runs. */
  public void validate() {
    InputColumns.field(input.schema(), series, "series");
    InputColumns.time(input.schema(), time);
    InputColumns.numeric(input.schema(), value);
    if (resume && checkpoint == null) {
      Checks.fail("resume: expected a checkpoint folder to resume from, got none");
    }
  }

  /** Builds the windows on the executors, trains, and returns the best-on-validation forecaster. */
  public Outcome fit() {
    validate();
    JavaSparkContext sc = JavaSparkContext.fromSparkContext(input.sparkSession().sparkContext());
    int p = partitions > 0 ? partitions : sc.defaultParallelism();
    SsmForecast.Columns c = new SsmForecast.Columns(series, time, value, input.schema().apply(time).dataType(), grid,
        0);
    LinearForecaster skip = null;
    if (spec.skip()) {
      skip = SsmForecast.on(input).series(series).time(time).value(value).model("nlinear").lookback(lookback)
          .horizon(horizon).split(split).grid(grid).lambdas(lambdas).fit().linear();
    }
    NetSpec net = new NetSpec(spec, lookback, horizon, skip);
    WindowModel model = net.build();
    Dataset<Row> sorted = SsmForecast.sortedWithin(balanced(SsmForecast.encodedRows(input, c), p), c, 0);
    Broadcast<Map<Object, Long>> rows = SsmForecast.seriesRows(sorted, split, c);
    int l = lookback;
    int h = horizon;
    WindowSplit s = split;
    JavaRDD<PartWindows> windows = sorted.toJavaRDD()
        .mapPartitions(part -> Collections.singletonList(PartWindows.collect(part, c, l, h, s, rows)).iterator())
        .persist(StorageLevel.MEMORY_AND_DISK());
    try {
      List<long[]> counts = windows.map(w -> new long[] {w.trainCount(), w.validationCount(), w.skipped,
          w.keys.length}).collect();
      long train = 0;
      long val = 0;
      long skipped = 0;
      for (long[] count : counts) {
        train += count[0];
        val += count[1];
        skipped += count[2];
      }
      if (train == 0) {
        Checks.fail("input: expected at least one training window of %d rows (lookback %d + horizon %d) with no "
            + "missing value, got none (%d left out for a missing value)", l + h, l, h, skipped);
      }
      String run = runIdentity(p, train, val);
      Checkpoints store = checkpoint == null ? null : new Checkpoints(checkpoint, input.sparkSession()
          .sparkContext().hadoopConfiguration());
      Trainer.State from = null;
      if (store != null) {
        from = store.start(resume, run);
      }
      double[] w = new double[model.layout().size()];
      model.init(w, config.seed());
      Trainer.Listener user = listener;
      Trainer.Listener both = new Trainer.Listener() {
        @Override
        public void step(int epoch, int step, int steps, double loss) {
          user.step(epoch, step, steps, loss);
        }

        @Override
        public void epoch(Trainer.State state) {
          if (store != null) {
            store.write(state, run);
          }
          user.epoch(state);
        }
      };
      Trainer.Result result;
      Timing[] timing = new Timing[1];
      // Executors cache the network per fit (TaskCache): a fresh key, so no other fit's state is reused.
      String cacheKey = java.util.UUID.randomUUID().toString();
      Broadcast<long[][]> starts = sc.broadcast(globalStarts(windows, counts));
      GpuMode gpu = TaskGpu.mode(input.sparkSession());
      try (SparkGradients source = new SparkGradients(sc, windows, starts, net, cacheKey, train, val, skipped,
          from == null ? 0 : from.step(), gpu, config.precision())) {
        result = Trainer.train(model, w, source, config, from, both);
        timing[0] = source.timing();
      } finally {
        starts.destroy();
      }
      TrainedForecaster forecaster = new TrainedForecaster(spec, skip, model, result.weights());
      SsmForecast.Fitted fitted = new SsmForecast.Fitted(c, forecaster, split, spec.name(), train, val, Double.NaN,
          result.bestValidationMse());
      return new Outcome(fitted, forecaster, result, train, val, skipped, p, timing[0]);
    } finally {
      windows.unpersist(false);
      if (rows != null) {
        rows.destroy();
      }
    }
  }

  /**
   * The encoded rows in {@code p} partitions holding about as many rows each: the series (keys and
   * row counts reach the driver, no values) go largest first to the least loaded partition, ties
   * by key order, so the assignment is the same on every run. Each step waits for its slowest task,
   * and hashing a few dozen series into four partitions leaves one with half as much work again as
   * the mean. Spark's hash partitioning places a row by {@code pmod(murmur3(column, 42), p)}: each
   * partition is addressed by an int whose hash lands on it ({@link #partitionAddresses}).
   */
  private Dataset<Row> balanced(Dataset<Row> rows, int p) {
    List<Row> counts = rows.groupBy(col(series)).count().collectAsList();
    Object[] keys = new Object[counts.size()];
    long[] sizes = new long[counts.size()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = counts.get(i).get(0);
      sizes[i] = counts.get(i).getLong(1);
    }
    int[] address = partitionAddresses(p);
    int[] part = assign(sizes, keyOrder(rows, keys), p);
    List<Row> table = new ArrayList<>();
    for (int i = 0; i < keys.length; i++) {
      table.add(RowFactory.create(keys[i], address[part[i]]));
    }
    StructType schema = new StructType().add(series, rows.schema().apply(series).dataType())
        .add("__p", DataTypes.IntegerType, false);
    Dataset<Row> where = rows.sparkSession().createDataFrame(table, schema);
    // Null-safe: a null key is placed like any other, and the task holding it fails naming the column.
    return rows.join(functions.broadcast(where), rows.col(series).eqNullSafe(where.col(series)))
        .select(rows.col(series), col("__t"), col("__v"), col("__p"))
        .repartition(p, col("__p")).drop("__p");
  }

  /** The rank of each key in Spark's ordering of the key column (ties in the assignment go by it). */
  private int[] keyOrder(Dataset<Row> rows, Object[] keys) {
    StructType schema = new StructType().add("i", DataTypes.IntegerType, false)
        .add("key", rows.schema().apply(series).dataType());
    List<Row> indexed = new ArrayList<>();
    for (int i = 0; i < keys.length; i++) {
      indexed.add(RowFactory.create(i, keys[i]));
    }
    int[] rank = new int[keys.length];
    int r = 0;
    for (Row row : rows.sparkSession().createDataFrame(indexed, schema).orderBy("key").collectAsList()) {
      rank[row.getInt(0)] = r++;
    }
    return rank;
  }

  /**
   * Series to partitions, largest first (ties by rank) to the least loaded partition (ties by
   * index): no partition holds more than the mean plus the largest series.
   */
  static int[] assign(long[] sizes, int[] rank, int p) {
    Integer[] order = new Integer[sizes.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> sizes[a] != sizes[b] ? Long.compare(sizes[b], sizes[a])
        : Integer.compare(rank[a], rank[b]));
    long[] load = new long[p];
    int[] part = new int[sizes.length];
    for (int i : order) {
      int least = 0;
      for (int k = 1; k < p; k++) {
        if (load[k] < load[least]) {
          least = k;
        }
      }
      part[i] = least;
      load[least] += sizes[i];
    }
    return part;
  }

  /** For each partition k of p, the smallest non-negative int that Spark's hash partitioning sends to k. */
  static int[] partitionAddresses(int p) {
    int[] address = new int[p];
    Arrays.fill(address, -1);
    int found = 0;
    for (int v = 0; found < p; v++) {
      int k = Math.floorMod(Murmur3_x86_32.hashInt(v, 42), p);
      if (address[k] < 0) {
        address[k] = v;
        found++;
      }
    }
    return address;
  }

  /**
   * The training windows' global ids: series by series in the order of their keys (Spark's
   * ordering of the key column), each series' windows by time. Independent of the partitioning,
   * so every P draws the same batches. Returns, per partition and held series, the id of the
   * series' first window. Only keys and counts reach the driver.
   */
  private long[][] globalStarts(JavaRDD<PartWindows> windows, List<long[]> counts) {
    org.apache.spark.sql.types.DataType keyType = input.schema().apply(series).dataType();
    StructType schema = new StructType().add("p", DataTypes.IntegerType).add("j", DataTypes.IntegerType)
        .add("key", keyType).add("n", DataTypes.IntegerType);
    JavaRDD<Row> meta = windows.mapPartitionsWithIndex((partition, it) -> {
      PartWindows w = it.next();
      List<Row> out = new ArrayList<>();
      for (int j = 0; j < w.keys.length; j++) {
        out.add(RowFactory.create(partition, j, w.keys[j], w.perSeries[j]));
      }
      return out.iterator();
    }, true);
    long[][] starts = new long[counts.size()][];
    for (int p = 0; p < starts.length; p++) {
      starts[p] = new long[(int) counts.get(p)[3]];
    }
    long next = 0;
    for (Row r : input.sparkSession().createDataFrame(meta, schema).orderBy("key").collectAsList()) {
      starts[r.getInt(0)][r.getInt(1)] = next;
      next += r.getInt(3);
    }
    return starts;
  }

  /** What must match for a checkpoint to continue this run. */
  private String runIdentity(int p, long train, long val) {
    TrainingConfig k = config;
    return String.format(Locale.ROOT, "%s L=%d H=%d; epochs=%d batch=%d lr=%s schedule=%s warmup=%d decay=%s "
        + "clip=%s loss=%s patience=%d windows/epoch=%d seed=%d; partitions=%d train=%d validation=%d",
        spec.settings(), lookback, horizon, k.epochs(), k.batchSize(), k.learningRate(), k.schedule(),
        k.warmupSteps(), k.weightDecay(), k.clipNorm(), k.loss(), k.patience(), k.windowsPerEpoch(), k.seed(), p,
        train, val);
  }

  /** The network's description, shipped to tasks (which rebuild the network from it). */
  record NetSpec(DeepModels spec, int lookback, int horizon, LinearForecaster skip) implements Serializable {
    WindowModel build() {
      return spec.build(lookback, horizon, 1, skip);
    }

  }

  /**
   * One partition's windows: its series' values end to end (each present step once), and the
   * training and validation windows as offsets into them with their phases.
   */
  static final class PartWindows implements Serializable {
    private static final long serialVersionUID = 1L;
    final double[] values;
    final int[] trainStarts;
    final long[] trainPhases;
    final int[] validationStarts;
    final long[] validationPhases;
    final long skipped;
    final int lookback;
    final int horizon;
    /** The series with training windows, in the order they are held, and their windows' count. */
    final Object[] keys;
    final int[] perSeries;
    private transient Windows train;
    private transient Windows validation;

    private PartWindows(double[] values, int[] trainStarts, long[] trainPhases, int[] validationStarts,
        long[] validationPhases, long skipped, int lookback, int horizon, Object[] keys, int[] perSeries) {
      this.keys = keys;
      this.perSeries = perSeries;
      this.values = values;
      this.trainStarts = trainStarts;
      this.trainPhases = trainPhases;
      this.validationStarts = validationStarts;
      this.validationPhases = validationPhases;
      this.skipped = skipped;
      this.lookback = lookback;
      this.horizon = horizon;
    }

    long trainCount() {
      return trainStarts.length;
    }

    long validationCount() {
      return validationStarts.length;
    }

    Windows train() {
      if (train == null) {
        train = Windows.at(new double[][] {values}, trainStarts, trainPhases, lookback, horizon, skipped);
      }
      return train;
    }

    Windows validation() {
      if (validation == null) {
        validation = Windows.at(new double[][] {values}, validationStarts, validationPhases, lookback, horizon, 0);
      }
      return validation;
    }

    /** Walks a partition of sorted rows and keeps its training and validation windows. */
    static PartWindows collect(Iterator<Row> part, SsmForecast.Columns c, int l, int h, WindowSplit s,
        Broadcast<Map<Object, Long>> rows) {
      int span = l + h;
      WindowWalker walker = c.walker(span);
      Packer pack = new Packer(span);
      Iterator<Row> inOrder = c.keyed(part);
      long[] skipped = new long[1];
      long[] reported = new long[1];
      while (inOrder.hasNext()) {
        Row r = inOrder.next();
        if (walker.key() != null && walker.startsSeries(r.get(0))) {
          skipped[0] += Math.max(0, walker.rows() - span + 1) - reported[0];
          reported[0] = 0;
        }
        walker.add(r.get(0), r.isNullAt(1), r.isNullAt(1) ? 0 : r.getLong(1), SsmForecast.valueOf(r),
            (key, values, times, off, lastRow) -> {
              reported[0]++;
              long seriesRows = rows == null ? 0 : rows.value().get(key);
              WindowSplit.Part where = s.partOf(lastRow - h + 1, h, seriesRows, times[off + l],
                  times[off + l + h - 1]);
              if (where == WindowSplit.Part.TRAIN || where == WindowSplit.Part.VALIDATION) {
                pack.add(key, values, off, lastRow, c.phase(times[off], lastRow - span + 1),
                    where == WindowSplit.Part.TRAIN);
              }
            });
      }
      if (walker.key() != null) {
        skipped[0] += Math.max(0, walker.rows() - span + 1) - reported[0];
      }
      return pack.done(skipped[0], l, h);
    }
  }

  /** Appends windows to one array, each series' values once: a window following the previous one adds one value. */
  private static final class Packer {
    private final int span;
    private double[] values = new double[1024];
    private int size;
    private Object lastKey;
    private long lastRow = Long.MIN_VALUE;
    private final Starts train = new Starts();
    private final Starts validation = new Starts();
    private final List<Object> keys = new ArrayList<>();
    private final List<Integer> perSeries = new ArrayList<>();

    Packer(int span) {
      this.span = span;
    }

    void add(Object key, double[] ring, int off, long row, long phase, boolean isTrain) {
      if (key.equals(lastKey) && row == lastRow + 1) {
        grow(1);
        values[size++] = ring[off + span - 1];
      } else {
        grow(span);
        System.arraycopy(ring, off, values, size, span);
        size += span;
      }
      lastKey = key;
      lastRow = row;
      if (size - span > Integer.MAX_VALUE - span) {
        Checks.fail("partitions: a task holds more than 2^31 values; train with more partitions");
      }
      (isTrain ? train : validation).add(size - span, phase);
      if (isTrain) {
        if (keys.isEmpty() || !keys.get(keys.size() - 1).equals(key)) {
          keys.add(key);
          perSeries.add(0);
        }
        perSeries.set(perSeries.size() - 1, perSeries.get(perSeries.size() - 1) + 1);
      }
    }

    private void grow(int n) {
      if (size + n > values.length) {
        values = Arrays.copyOf(values, Math.max(size + n, values.length * 2));
      }
    }

    PartWindows done(long skipped, int l, int h) {
      return new PartWindows(Arrays.copyOf(values, size), train.starts(), train.phases(), validation.starts(),
          validation.phases(), skipped, l, h, keys.toArray(), perSeries.stream().mapToInt(Integer::intValue).toArray());
    }
  }

  /** A growing list of (offset, phase). */
  private static final class Starts {
    private int[] starts = new int[256];
    private long[] phases = new long[256];
    private int n;

    void add(int start, long phase) {
      if (n == starts.length) {
        starts = Arrays.copyOf(starts, 2 * n);
        phases = Arrays.copyOf(phases, 2 * n);
      }
      starts[n] = start;
      phases[n++] = phase;
    }

    int[] starts() {
      return Arrays.copyOf(starts, n);
    }

    long[] phases() {
      return Arrays.copyOf(phases, n);
    }
  }

  /** A task's gradient (or error sums): its partition, its loss sum and its values. */
  record Partial(int partition, double loss, double[] values, double seconds) implements Serializable {}

  /** The gradient source whose workers are Spark tasks, one per partition of cached windows. */
  private static final class SparkGradients implements Trainer.GradientSource {
    private final JavaSparkContext sc;
    private final JavaRDD<PartWindows> windows;
    private final Broadcast<long[][]> starts;
    private final NetSpec net;
    private final String run;
    private final long train;
    private final long validation;
    private final long skipped;
    private final int horizon;
    private final long firstStep;
    private final GpuMode gpu;
    private final Precision precision;
    private long steps;
    private double stepSeconds;
    private double slowestTaskSeconds;
    private double taskSeconds;

    Timing timing() {
      return new Timing(steps, stepSeconds, slowestTaskSeconds, taskSeconds);
    }

    SparkGradients(JavaSparkContext sc, JavaRDD<PartWindows> windows, Broadcast<long[][]> starts, NetSpec net,
        String run, long train, long validation, long skipped, long firstStep, GpuMode gpu, Precision precision) {
      this.sc = sc;
      this.gpu = gpu;
      this.precision = precision;
      this.windows = windows;
      this.starts = starts;
      this.net = net;
      this.run = run;
      this.train = train;
      this.validation = validation;
      this.skipped = skipped;
      this.firstStep = firstStep;
      this.horizon = net.horizon();
    }

    @Override
    public long trainWindows() {
      return train;
    }

    @Override
    public long validationWindows() {
      return validation;
    }

    @Override
    public long skippedWindows() {
      return skipped;
    }

    @Override
    public double gradient(double[] w, long[] batch, int n, Loss loss, double scale, long stepSeed, double[] grad) {
      // The weights travel in the task closure, which Spark broadcasts once per stage anyway: a
      // broadcast of their own measured slower (a second broadcast to create and destroy per step).
      double[] weights = w.clone();
      long[] ids = Arrays.copyOf(batch, n);
      Broadcast<long[][]> globalStarts = starts;
      NetSpec spec = net;
      String key = run;
      GpuMode device = gpu;
      Precision compute = precision;
      Function2<Integer, Iterator<PartWindows>, Iterator<Partial>> task = (partition, it) -> {
        PartWindows part = it.next();
        TaskCache.Held held = TaskCache.of(key, spec).held(partition, part, globalStarts.value()[partition], device,
            compute);
        int[] local = new int[ids.length];
        int[] positions = new int[ids.length];
        int m = 0;
        for (int k = 0; k < ids.length; k++) {
          int id = held.local(ids[k]);
          if (id >= 0) {
            local[m] = id;
            positions[m++] = k;
          }
        }
        if (m == 0) {
          return Collections.singletonList(new Partial(partition, 0, null, 0)).iterator();
        }
        long t0 = System.nanoTime();
        double[] g = new double[weights.length];
        double sum = held.gradient.accumulate(weights, local, positions, m, loss, scale, stepSeed, g);
        return Collections.singletonList(new Partial(partition, sum, g, (System.nanoTime() - t0) / 1e9)).iterator();
      };
      double total = 0;
      long t0 = System.nanoTime();
      List<Partial> parts = collect(windows.mapPartitionsWithIndex(task, true),
          "optimizer step " + (firstStep + steps + 1));
      steps++;
      stepSeconds += (System.nanoTime() - t0) / 1e9;
      double slowest = 0;
      for (Partial part : parts) {
        slowest = Math.max(slowest, part.seconds());
        taskSeconds += part.seconds();
      }
      slowestTaskSeconds += slowest;
      for (Partial part : parts) {
        if (part.values() == null) {
          continue;
        }
        total += part.loss();
        double[] g = part.values();
        for (int i = 0; i < grad.length; i++) {
          grad[i] += g[i];
        }
      }
      return total;
    }

    @Override
    public double[] validate(double[] w) {
      double[] weights = w.clone();
      NetSpec spec = net;
      String key = run;
      Function2<Integer, Iterator<PartWindows>, Iterator<Partial>> task = (partition, it) -> {
        PartWindows part = it.next();
        double[] sums = part.validationCount() == 0 ? new double[2]
            : TaskCache.of(key, spec).errors().all(weights, part.validation());
        return Collections.singletonList(new Partial(partition, 0, sums, 0)).iterator();
      };
      double sse = 0;
      double sae = 0;
      for (Partial part : collect(windows.mapPartitionsWithIndex(task, true), "validation")) {
        sse += part.values()[0];
        sae += part.values()[1];
      }
      double count = (double) validation * horizon;
      return new double[] {sse / count, sae / count};
    }

    /** Runs the job under a description the UI shows (and fault tests wait on), then restores the caller's. */
    private List<Partial> collect(JavaRDD<Partial> job, String what) {
      String before = sc.getLocalProperty(JOB_DESCRIPTION);
      sc.setJobDescription(DESCRIPTION_PREFIX + what);
      try {
        return job.collect();
      } finally {
        sc.setLocalProperty(JOB_DESCRIPTION, before);
      }
    }

    @Override
    public void close() {}
  }

  private static final String JOB_DESCRIPTION = "spark.job.description";

  /** The Spark job description of each training job: this, then "optimizer step N" (N from 1) or "validation". */
  public static final String DESCRIPTION_PREFIX = "spark-ssm train: ";

  /**
   * An executor thread's network and workspaces for the current run, kept across the run's steps
   * (a task per step would otherwise rebuild them every step); a new run replaces them.
   */
  private static final class TaskCache {
    private static final ThreadLocal<TaskCache> CURRENT = new ThreadLocal<>();
    private final String run;
    private final WindowModel model;
    private final Map<Integer, Held> held = new HashMap<>();
    private final List<GpuLayers> devices = new ArrayList<>(); // freed when a new run replaces this one
    private Trainer.ErrorSums errors;

    private TaskCache(String run, WindowModel model) {
      this.run = run;
      this.model = model;
    }

    static TaskCache of(String run, NetSpec spec) {
      TaskCache c = CURRENT.get();
      if (c == null || !c.run.equals(run)) {
        if (c != null) {
          c.devices.forEach(GpuLayers::close); // the device memory of the previous run's workspaces
        }
        c = new TaskCache(run, spec.build());
        CURRENT.set(c);
      }
      return c;
    }

    /**
     * The partition's workspace, made on first use; with a GPU chosen for the task (see
     * {@link TaskGpu}), its S4D convolutions and Mamba scans run on that device ({@link GpuLayers}).
     */
    Held held(int partition, PartWindows part, long[] seriesStarts, GpuMode mode, Precision precision) {
      return held.computeIfAbsent(partition, k -> {
        Trainer.ShardGradient gradient = new Trainer.ShardGradient(model, part.train());
        gradient.computeIn(precision);
        Gpu gpu = TaskGpu.gpu(mode);
        if (gpu != null) {
          GpuLayers layers = new GpuLayers(gpu);
          devices.add(layers);
          gradient.runOn(layers);
        }
        return new Held(gradient, part, seriesStarts);
      });
    }

    /** A partition's workspace and its map from global window ids to its own. */
    static final class Held {
      final Trainer.ShardGradient gradient;
      private final long[] globalStart; // ascending
      private final int[] localStart;
      private final int[] count;

      Held(Trainer.ShardGradient gradient, PartWindows part, long[] seriesStarts) {
        this.gradient = gradient;
        int n = part.perSeries.length;
        Integer[] order = new Integer[n];
        int[] local = new int[n];
        for (int j = 0, at = 0; j < n; j++) {
          order[j] = j;
          local[j] = at;
          at += part.perSeries[j];
        }
        Arrays.sort(order, (a, b) -> Long.compare(seriesStarts[a], seriesStarts[b]));
        globalStart = new long[n];
        localStart = new int[n];
        count = new int[n];
        for (int i = 0; i < n; i++) {
          globalStart[i] = seriesStarts[order[i]];
          localStart[i] = local[order[i]];
          count[i] = part.perSeries[order[i]];
        }
      }

      /** This partition's id of the global window id, or -1 when another partition holds it. */
      int local(long id) {
        int i = Arrays.binarySearch(globalStart, id);
        if (i < 0) {
          i = -i - 2; // the series starting before id
        }
        if (i < 0 || id >= globalStart[i] + count[i]) {
          return -1;
        }
        return localStart[i] + (int) (id - globalStart[i]);
      }
    }

    Trainer.ErrorSums errors() {
      if (errors == null) {
        errors = new Trainer.ErrorSums(model);
      }
      return errors;
    }
  }

  /** The checkpoint folder: one file per epoch, the newest kept. */
  private static final class Checkpoints {
    private final Path dir;
    private final FileSystem fs;

    Checkpoints(String uri, org.apache.hadoop.conf.Configuration conf) {
      try {
        this.dir = new Path(uri);
        this.fs = dir.getFileSystem(conf);
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalArgumentException("checkpoint '" + uri + "': " + e.getMessage(), e);
      }
    }

    /** The state to resume from (null: start afresh), refusing to overwrite a checkpoint without resume. */
    Trainer.State start(boolean resume, String run) {
      try {
        Path newest = newest();
        if (newest == null) {
          return null;
        }
        if (!resume) {
          Checks.fail("checkpoint '%s': expected an empty folder, got the checkpoint %s; resume from it, or choose "
              + "another folder", dir, newest.getName());
        }
        java.nio.file.Path local = HadoopFiles.download(newest, fs.getConf());
        try {
          return TrainingCheckpoint.read(local, run);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(e.getMessage().replace(local.toString(), newest.toString()), e);
        } finally {
          HadoopFiles.delete(local);
        }
      } catch (IOException e) {
        throw new IllegalStateException("checkpoint '" + dir + "': " + e.getMessage(), e);
      }
    }

    void write(Trainer.State state, String run) {
      try {
        String name = String.format(Locale.ROOT, "epoch-%06d.safetensors", state.epoch());
        java.nio.file.Path local = Files.createTempFile("spark-ssm-checkpoint", ".safetensors");
        try {
          TrainingCheckpoint.write(state, run, local);
          HadoopFiles.upload(local, new Path(dir, name), fs.getConf());
        } finally {
          Files.deleteIfExists(local);
        }
        for (FileStatus f : list()) {
          if (!f.getPath().getName().equals(name)) {
            fs.delete(f.getPath(), false);
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("checkpoint '" + dir + "': " + e.getMessage(), e);
      }
    }

    private Path newest() throws IOException {
      Path best = null;
      for (FileStatus f : list()) {
        if (best == null || f.getPath().getName().compareTo(best.getName()) > 0) {
          best = f.getPath();
        }
      }
      return best;
    }

    private List<FileStatus> list() throws IOException {
      List<FileStatus> out = new ArrayList<>();
      if (!fs.exists(dir)) {
        return out;
      }
      for (FileStatus f : fs.listStatus(dir)) {
        String n = f.getPath().getName();
        if (n.startsWith("epoch-") && n.endsWith(".safetensors")) {
          out.add(f);
        }
      }
      return out;
    }
  }
}
