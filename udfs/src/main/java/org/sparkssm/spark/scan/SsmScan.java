package org.sparkssm.spark.scan;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.streaming.GroupStateTimeout;
import org.apache.spark.sql.streaming.OutputMode;
import org.apache.spark.storage.StorageLevel;
import org.sparkssm.Checks;
import org.sparkssm.scan.LayerStack;
import org.sparkssm.scan.ScanModel;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;

/**
 * Scans many time series in long format with an SSM, inside the executor JVMs:
 *
 * <pre>{@code
 * Dataset<Row> out = SsmScan.on(df)               // columns unique_id, ds, y by default
 *     .series("unique_id").time("ds").values("y")
 *     .model(model)                                // any org.sparkssm.scan.ScanModel
 *     .chunkRows(8192)
 *     .run();                                      // unique_id, ds, ssm_output: array<double>
 * }</pre>
 *
 * <h2>How it runs</h2>
 * Rows are hashed to partitions by series and sorted by series and time (Spark's shuffle and
 * sort, which spill: no series has to fit in memory; an input Spark estimates at most
 * {@link #oneTaskBytes} is sorted in one task without a shuffle). Each task then reads the sorted
 * rows in Spark's internal form, in place ({@link SeriesScanner}): a chunk of at most
 * {@link #chunkRows} rows is copied column by column into the kernel's primitive input array, the
 * model scans it from the carried state, and the outputs are written into one reused internal row
 * ({@link ScanRows}): no object per row and no external {@code Row} encoder on either side.
  * The result equals the model's one-shot scan of each series (bit for bit for the engine's
 * kernels, whose per-step arithmetic does not depend on where chunks are cut), whatever the
 * partitioning or chunk size.
 *
 * <p>Models: any {@link ScanModel} of the engine (S4D/S4/LRU diagonal, S5, dense HiPPO memories,
 * continuous-time diagonal for irregular time), or a multi-layer {@link LayerStack} of them with
 * causal convolutions, channel-mixing maps and nonlinearities between the SSM layers.
 *
 * <p>Series longer than {@link #longSeriesRows} (counted first; default 10^7 rows) do not go to one
 * task: they are cut into blocks of {@link #blockRows} rows and scanned in two passes across
 * partitions ({@link LongSeriesScan}, blocks of equal time width): pass 1 scans each block from
 * zero, the driver chains the blocks' carries into each block's incoming state ({@link TwoPass}),
 * pass 2 rescans from it. A layer stack runs
 * stage by stage, convolutions taking their k − 1 halo rows from the blocks before. That result equals
 * the one-shot scan to rounding, and is bit-identical for a given block size.
 *
 * <h2>Input and policies</h2>
 * <ul>
 *   <li>Series: any column type; null keys fail the job naming the column, how many rows hold one and the
 *       first one's time.</li>
 *   <li>Time: timestamp, timestamp_ntz, date, long or int; rows are ordered by it within a series.
 *       A null time, or two rows of a series with the same time (duplicates), fail the job naming
 *       the column, the series and the time. By default steps are rows (fixed-step models); with
 *       {@link #stepEvery} each step's Δt is its real gap to the previous row.</li>
 *   <li>Values: one numeric column per model input channel (checked before any job runs; strings,
 *       booleans or a count that does not match {@link ScanModel#inputs()} are rejected naming the
 *       column). <b>Missing values</b>: a row with a null, NaN or infinite value in any channel
 *       holds the state (the step is skipped) and outputs NaN; the next present row continues from
 *       the held state.</li>
 *   <li>A series with no rows produces no output rows.</li>
 * </ul>
 *
 * <h2>Streaming</h2>
 * On a streaming DataFrame, {@link #run()} keeps each series' state (last time and
 * {@link org.sparkssm.state.ScanState}) in Spark's state store ({@code flatMapGroupsWithState},
 * append mode): each micro-batch's rows of a series are sorted and scanned from it, so a stream
 * gives the batch scan's output whatever its micro-batches, and a query restarted from its
 * checkpoint continues from the saved states. A row at or before a series' last scanned time fails
 * the query naming the series; {@link #stateTimeout} forgets idle series (default: never). See
 * {@link StreamingSeriesScanner}. {@link #runWithState()} and {@link #resumeFrom} are batch only.
 *
 * <h2>Incremental runs</h2>
 * {@link #runWithState()} also returns each series' end state (a state table: series, last time,
 * {@link org.sparkssm.state.ScanState} bytes, format version, model fingerprint and description);
 * {@link #resumeFrom(Dataset)} starts each series from its saved state and scans only rows after
 * its saved time. The input may hold only the new rows or the whole history (rows at or before the
 * saved time are then skipped); any other number of rows at or before the saved time (late or
 * deleted rows) fails naming the series, as do an unreadable state or an unknown format version. A
 * state table saved by another model fails on the driver before the scan, naming both models
 * ({@link #modelDescription}; by fingerprint for tables written without a description), judged by
 * its first row; the tasks check every state. Series in the state table without new rows keep
 * their state in the new table. A small run (input and state table at most {@link #oneTaskBytes})
 * sorts the states in with the rows in one task; otherwise a state table of at most
 * {@link #broadcastStates} rows is collected, checked and broadcast, and a larger one is shuffled
 * with the rows, each series' state sorted before its rows.
 */
public final class SsmScan {
  /** Default column names: the common long-format contract. */
  public static final String DEFAULT_SERIES = "unique_id";
  public static final String DEFAULT_TIME = "ds";
  public static final String DEFAULT_VALUE = "y";
  public static final String DEFAULT_OUTPUT = "ssm_output";

  /** State table columns. */
  public static final String STATE_LAST_TIME = "last_time";
  public static final String STATE_BYTES = "state";
  public static final String STATE_VERSION = "state_format_version";
  public static final String STATE_FINGERPRINT = "model_fingerprint";
  /** The model in words ({@link #modelDescription}); state tables written before it have none. */
  public static final String STATE_MODEL = "model_description";

  private final Dataset<Row> input;
  private String series = DEFAULT_SERIES;
  private String time = DEFAULT_TIME;
  private String[] values = {DEFAULT_VALUE};
  private ScanModel model;
  private int chunkRows = 8192;
  private long chunkBytes = 64L << 20;
  private String outputArray = DEFAULT_OUTPUT;
  private String[] outputColumns;
  private String stateColumn;
  private long stateTimeoutMillis;
  private Dataset<Row> savedStates;
  private String savedStatesName = "state table";
  private String modelDescription;
  private long longSeriesRows = 10_000_000L;
  private long blockRows = 1L << 20;
  private int longSeriesPartitions;
  private long stepEvery;
  private long broadcastStates = 100_000L;
  private long oneTaskBytes = 8L << 20;

  private SsmScan(Dataset<Row> input) {
    this.input = Checks.notNull("input", input);
  }

  /** Starts a scan of {@code df} (long format: one row per series and time). */
  public static SsmScan on(Dataset<Row> df) {
    return new SsmScan(df);
  }

  public SsmScan series(String column) {
    this.series = Checks.notNull("series", column);
    return this;
  }

  public SsmScan time(String column) {
    this.time = Checks.notNull("time", column);
    return this;
  }

  /** The value columns, one per model input channel, in channel order. */
  public SsmScan values(String... columns) {
    Checks.notNull("values", columns);
    if (columns.length == 0) {
      Checks.fail("values: expected at least one column, got none");
    }
    this.values = columns.clone();
    return this;
  }

  public SsmScan model(ScanModel scanModel) {
    this.model = Checks.notNull("model", scanModel);
    return this;
  }

  /** Rows per chunk (default 8192): the unit of off-heap buffering and of one kernel call. */
  public SsmScan chunkRows(int rows) {
    this.chunkRows = Checks.chunkSize("chunkRows", rows);
    return this;
  }

  /**
   * Upper bound on a chunk's array bytes (default 64 MiB): the chunk holds
   * {@code min(chunkRows, chunkBytes / bytes per row)} rows (times, inputs, outputs, flags; one set
   * per task, on the heap).
   */
  public SsmScan chunkBytes(long bytes) {
    if (bytes < 1024) {
      Checks.fail("chunkBytes: expected at least 1024, got %d", bytes);
    }
    this.chunkBytes = bytes;
    return this;
  }

  /** Outputs as one {@code array<double>} column of this name (the default, {@value #DEFAULT_OUTPUT}). */
  public SsmScan outputArray(String column) {
    this.outputArray = Checks.notNull("outputArray", column);
    this.outputColumns = null;
    return this;
  }

  /** Outputs as one double column each, named in output order. */
  public SsmScan outputColumns(String... columns) {
    Checks.notNull("outputColumns", columns);
    this.outputColumns = columns.clone();
    this.outputArray = null;
    return this;
  }

  /** Adds the hidden state after each row as an ML vector column of this name. */
  public SsmScan withState(String column) {
    this.stateColumn = Checks.notNull("withState", column);
    return this;
  }

  /** Resumes each series from a state table written by an earlier {@link #runWithState()}. */
  public SsmScan resumeFrom(Dataset<Row> stateTable) {
    return resumeFrom(stateTable, "state table");
  }

  /** {@link #resumeFrom(Dataset)}, naming the state table {@code name} in messages (e.g. the option and URI). */
  public SsmScan resumeFrom(Dataset<Row> stateTable, String name) {
    this.savedStates = Checks.notNull("stateTable", stateTable);
    this.savedStatesName = Checks.notNull("name", name);
    return this;
  }

  /**
   * The model in words, e.g. {@code legt (N = 8, theta = 50.0 rows), 1 channel}: written next to
   * the fingerprint in the state table, so that resuming with another model names both. Default:
   * the model's class, inputs and state size.
   */
  public SsmScan modelDescription(String description) {
    this.modelDescription = Checks.notNull("modelDescription", description);
    return this;
  }

  private String description() {
    if (modelDescription != null) {
      return modelDescription;
    }
    return String.format(java.util.Locale.ROOT, "%s (%d inputs, %d state values)", model.getClass().getSimpleName(),
        model.inputs(), model.stateSize());
  }

  private ScanConfig config() {
    return new ScanConfig(model, effectiveChunkRows(), stateColumn != null, series, time,
        input.schema().apply(time).dataType(), stepEvery);
  }

  /**
   * Incremental runs: a state table of at most this many rows (default 10^5) is collected, checked
   * on the driver and broadcast to the tasks, so only the new rows are shuffled; a larger one goes
   * through the shuffle with them, each series' state sorted before its rows (one shuffle, a
   * cogroup in effect). 0 always shuffles.
   */
  public SsmScan broadcastStates(long maxRows) {
    this.broadcastStates = Checks.nonNegative("broadcastStates", maxRows);
    return this;
  }

  /**
   * Inputs (with the state table, when resuming) that Spark estimates at no more than this many
   * bytes (default 8 MiB; its plan statistics: exact for cached data, file sizes for files) are
   * sorted and scanned in one task without a shuffle, the state table sorted in with the rows: a
   * small incremental run then costs one stage, not a collect, a shuffle and a second stage. The
   * result is the same either way. 0 always shuffles.
   */
  public SsmScan oneTaskBytes(long bytes) {
    this.oneTaskBytes = Checks.nonNegative("oneTaskBytes", bytes);
    return this;
  }

  /** Whether Spark estimates {@code frames} together at no more than {@link #oneTaskBytes}. */
  private boolean small(Dataset<?>... frames) {
    java.math.BigInteger total = java.math.BigInteger.ZERO;
    for (Dataset<?> f : frames) {
      if (!(f instanceof org.apache.spark.sql.classic.Dataset)) {
        return false; // no plan statistics here (the scan itself then names the session it needs)
      }
      total = total.add(((org.apache.spark.sql.classic.Dataset<?>) f).queryExecution().optimizedPlan().stats()
          .sizeInBytes().bigInteger());
    }
    return total.compareTo(java.math.BigInteger.valueOf(oneTaskBytes)) <= 0;
  }

  /**
   * Series with more rows than this (default 10^7) are scanned by the two-pass path across
   * partitions instead of in one task; {@code Long.MAX_VALUE} turns the check (one counting
   * aggregation) off. Incremental runs ({@link #resumeFrom}) always use the many-series path.
   */
  public SsmScan longSeriesRows(long rows) {
    if (rows < 1) {
      Checks.fail("longSeriesRows: expected >= 1, got %d", rows);
    }
    this.longSeriesRows = rows;
    return this;
  }

  /**
   * Rows per block of the two-pass path, on average (default 2^20): a long series is cut into
   * {@code rows / blockRows} blocks of equal time width, a function of the data alone, so its
   * output is bit-identical from run to run (and across retries) for a given block size.
   */
  public SsmScan blockRows(long rows) {
    if (rows < 1) {
      Checks.fail("blockRows: expected >= 1, got %d", rows);
    }
    this.blockRows = rows;
    return this;
  }

  /** Partitions the blocks of long series are spread over (default: Spark's default parallelism). */
  public SsmScan longSeriesPartitions(int partitions) {
    this.longSeriesPartitions = Checks.positive("longSeriesPartitions", partitions);
    return this;
  }

  /**
   * Irregular time: each step's Δt is its real gap to the previous row, in model time units of
   * {@code timeUnits} of the time column (microseconds for timestamps, days for dates, the value
   * itself for numbers); a series' first row takes Δt = 1. Requires an
   * {@link org.sparkssm.scan.IrregularScanModel} such as
   * {@link org.sparkssm.scan.ContinuousDiagonalSsm}. A missing row holds the state (its gap is
   * still counted by the next row). Irregular scans use the many-series path only.
   */
  public SsmScan stepEvery(long timeUnits) {
    if (timeUnits < 1) {
      Checks.fail("stepEvery: expected >= 1 time-column units per model time unit, got %d", timeUnits);
    }
    this.stepEvery = timeUnits;
    return this;
  }

  /**
   * Streaming inputs only: forget a series' state after this long without rows (processing time;
   * default 0, never). Its later rows start from the zero state. See {@link StreamingSeriesScanner}.
   */
  public SsmScan stateTimeout(long millis) {
    this.stateTimeoutMillis = Checks.nonNegative("stateTimeout", millis);
    return this;
  }

  /** Rows per chunk after the byte bound. */
  int effectiveChunkRows() {
    long perRow = ScanConfig.bytesPerRow(model.inputs(), model.outputs());
    if (model instanceof LayerStack) { // the two-pass path buffers each stage's inputs and outputs
      for (ScanModel layer : ((LayerStack) model).layers()) {
        perRow = Math.max(perRow, ScanConfig.bytesPerRow(layer.inputs(), layer.outputs()));
      }
    }
    return (int) Math.max(1, Math.min(chunkRows, chunkBytes / perRow));
  }

  /**
   * Checks the input schema against the settings and returns the output schema, without running
   * anything (MLlib's transformSchema).
   */
  public StructType outputSchema() {
    if (model == null) {
      Checks.fail("model: expected a ScanModel, got none (call model(...))");
    }
    StructType schema = input.schema();
    StructField seriesField = InputColumns.field(schema, series, "series");
    DataType timeType = InputColumns.time(schema, time).dataType();
    if (stepEvery > 0 && !(model instanceof org.sparkssm.scan.IrregularScanModel)) {
      Checks.fail("stepEvery: expected an IrregularScanModel (e.g. ContinuousDiagonalSsm) for per-step Δt, got %s",
          model.getClass().getSimpleName());
    }
    if (values.length != model.inputs()) {
      Checks.fail("values: expected %d columns (the model's input channels), got %d: %s", model.inputs(),
          values.length, Arrays.toString(values));
    }
    for (String v : values) {
      InputColumns.numeric(schema, v);
    }
    if (outputColumns != null && outputColumns.length != model.outputs()) {
      Checks.fail("outputColumns: expected %d names (the model's outputs), got %d", model.outputs(),
          outputColumns.length);
    }
    List<StructField> out = new ArrayList<>();
    // Field names and types of run()'s result; nullability is Spark's to infer.
    out.add(DataTypes.createStructField(series, seriesField.dataType(), true));
    out.add(DataTypes.createStructField(time, timeType, true));
    if (outputColumns != null) {
      for (String c : outputColumns) {
        out.add(DataTypes.createStructField(c, DataTypes.DoubleType, true));
      }
    } else {
      out.add(DataTypes.createStructField(outputArray, DataTypes.createArrayType(DataTypes.DoubleType, true), true));
    }
    if (stateColumn != null) {
      out.add(DataTypes.createStructField(stateColumn, SQLDataTypes.VectorType(), true));
    }
    return DataTypes.createStructType(out);
  }

  /**
   * The scan's output (lazy; nothing runs until an action, except the row count per series that
   * picks the long-series path). Long series keep their blocked rows cached for the output's
   * lifetime; {@link #runWithState()} returns a handle that releases them.
   */
  public Dataset<Row> run() {
    return output(scanned(new ArrayList<>()).rows);
  }

  /** The output and the new state table, from one scan (persisted until {@link ScanResult#unpersist()}). */
  public ScanResult runWithState() {
    if (input.isStreaming()) {
      Checks.fail("runWithState: expected a batch input; a streaming scan keeps each series' state in the query's "
          + "checkpoint (use run())");
    }
    List<Dataset<Row>> cached = new ArrayList<>();
    Scanned scan = scanned(cached);
    Dataset<Row> scanned = scan.rows.persist(StorageLevel.MEMORY_AND_DISK());
    cached.add(scanned);
    DataType timeType = input.schema().apply(time).dataType();
    Dataset<Row> states = scanned.filter(col(ScanRows.END_STATE).isNotNull()).select(
        col(series),
        TimeCodec.decode(col(ScanRows.T), timeType).as(STATE_LAST_TIME),
        col(ScanRows.END_STATE).as(STATE_BYTES),
        functions.lit(org.sparkssm.state.ScanState.FORMAT_VERSION).as(STATE_VERSION),
        functions.lit(model.fingerprint()).as(STATE_FINGERPRINT),
        functions.lit(description()).as(STATE_MODEL));
    if (scan.unseenStates != null) { // broadcast states: those of series without rows here carry over as they are
      states = states.unionByName(scan.unseenStates.join(states.select(series), scan.unseenStates.col(series)
          .equalTo(states.col(series)), "left_anti").select(
              col(series),
              col(STATE_LAST_TIME).cast(timeType),
              col(STATE_BYTES),
              col(STATE_VERSION).cast(DataTypes.IntegerType),
              col(STATE_FINGERPRINT).cast(DataTypes.LongType),
              functions.lit(description()).as(STATE_MODEL)));
    }
    return new ScanResult(output(scanned), states, cached);
  }

  private Dataset<Row> output(Dataset<Row> scanned) {
    DataType timeType = input.schema().apply(time).dataType();
    List<Column> select = new ArrayList<>();
    select.add(col(series));
    select.add(TimeCodec.decode(col(ScanRows.T), timeType).as(time));
    Column[] ys = new Column[model.outputs()];
    for (int j = 0; j < ys.length; j++) {
      ys[j] = col(ScanRows.output(j));
    }
    if (outputColumns != null) {
      for (int j = 0; j < ys.length; j++) {
        select.add(ys[j].as(outputColumns[j]));
      }
    } else {
      select.add(functions.array(ys).as(outputArray));
    }
    if (stateColumn != null) {
      select.add(col(ScanRows.STATE).as(stateColumn));
    }
    return scanned.filter(col(ScanRows.IS_OUTPUT)).select(select.toArray(new Column[0]));
  }

  /** The scan's internal rows ({@link ScanRows}' output layout), and the saved states it does not see. */
  private static final class Scanned {
    final Dataset<Row> rows;
    /** Broadcast states only: the state table (checked), for the series without rows to carry over. */
    final Dataset<Row> unseenStates;

    Scanned(Dataset<Row> rows, Dataset<Row> unseenStates) {
      this.rows = rows;
      this.unseenStates = unseenStates;
    }
  }

  /** The sorted scan with the internal columns; datasets it caches are added to {@code cached}. */
  private Scanned scanned(List<Dataset<Row>> cached) {
    outputSchema(); // validates the columns before any job runs
    StructType schema = input.schema();
    DataType timeType = schema.apply(time).dataType();
    DataType seriesType = schema.apply(series).dataType();
    ScanConfig config = config();
    ScanRows layout = config.layout();
    StructType internal = layout.outputSchema(series, seriesType);
    if (input.isStreaming()) {
      if (savedStates != null) {
        Checks.fail("resumeFrom: expected a batch input; a streaming scan keeps each series' state in the query's "
            + "checkpoint");
      }
      // The state store needs Spark's grouped API: rows stay external here (Row encoders).
      Dataset<Row> rows = layout.project(input, series, time, values);
      StructType keySchema = DataTypes.createStructType(new StructField[] {rows.schema().apply(series)});
      MapFunction<Row, Row> keyOf = r -> RowFactory.create(r.get(0));
      return new Scanned(rows.groupByKey(keyOf, Encoders.row(keySchema)).flatMapGroupsWithState(
          new StreamingSeriesScanner(config, stateTimeoutMillis), OutputMode.Append(), Encoders.BINARY(),
          Encoders.row(internal),
          stateTimeoutMillis > 0 ? GroupStateTimeout.ProcessingTimeTimeout() : GroupStateTimeout.NoTimeout()), null);
    }
    if (savedStates == null) {
      Dataset<Row> rows = layout.project(input, series, time, values);
      Map<Object, LongSeriesScan.Extent> extents = longSeriesExtents(rows);
      if (extents.isEmpty()) {
        return new Scanned(manySeries(rows, layout, null, internal, small(input)), null);
      }
      Column[] longKeys = new Column[extents.size()];
      int k = 0;
      for (Object key : extents.keySet()) {
        longKeys[k++] = LongSeriesScan.keyLiteral(key);
      }
      Column isLong = functions.coalesce(col(series).isin((Object[]) longKeys), functions.lit(false));
      Dataset<Row> many = manySeries(rows.filter(functions.not(isLong)), layout, null, internal, small(input));
      int partitions = longSeriesPartitions > 0 ? longSeriesPartitions
          : input.sparkSession().sparkContext().defaultParallelism();
      Dataset<Row> longOnes = LongSeriesScan.scan(input.sparkSession(), rows.filter(isLong), extents, config,
          blockRows, partitions, internal, cached);
      return new Scanned(many.union(longOnes), null);
    }
    checkStateColumns();
    SeriesKeys keys = new SeriesKeys(seriesType);
    boolean oneTask = small(input, savedStates);
    if (!oneTask && broadcastStates > 0 && keys.hashable()) {
      Map<Object, SeriesScanner.SavedState> small = collectStates(config, timeType, seriesType, broadcastStates);
      if (small != null) {
        Broadcast<Map<Object, SeriesScanner.SavedState>> shipped = input.sparkSession().sparkContext()
            .broadcast(small, scala.reflect.ClassTag$.MODULE$.apply(Map.class));
        return new Scanned(manySeries(layout.project(input, series, time, values), layout, shipped, internal, false),
            savedStates);
      }
    }
    checkSavedModel(Arrays.asList(savedStates.schema().fieldNames()).contains(STATE_MODEL));
    ScanRows withStates = layout.withSavedStates();
    Dataset<Row> rows = withStates.project(input, series, time, values)
        .union(withStates.projectStates(savedStates, series, seriesType, timeType));
    return new Scanned(manySeries(rows, withStates, null, internal, oneTask), null);
  }

  /**
   * The many-series path: rows hashed to partitions by series (or, {@code oneTask}, all in one
   * partition without a shuffle) and sorted by series and time (Spark's sort, which spills: no
   * series has to fit in memory), then each partition scanned series by series on Spark's
   * internal rows ({@link SeriesScanner}).
   */
  private Dataset<Row> manySeries(Dataset<Row> rows, ScanRows layout,
      Broadcast<Map<Object, SeriesScanner.SavedState>> states, StructType internal, boolean oneTask) {
    Dataset<Row> grouped = oneTask ? rows.coalesce(1) : rows.repartition(col(series));
    Dataset<Row> sorted = grouped.sortWithinPartitions(layout.sortOrder(series));
    SeriesScanner scanner = new SeriesScanner(config(), layout, input.schema().apply(series).dataType(), states);
    FlatMapFunction<java.util.Iterator<InternalRow>, InternalRow> scan = scanner::scan;
    RDD<InternalRow> out = InternalFrames.rowsOf(sorted).toJavaRDD().mapPartitions(scan).rdd();
    return InternalFrames.frameOf(input.sparkSession(), out, internal);
  }

  /** Extent of each series with more than {@link #longSeriesRows} rows (none when the check is off). */
  private Map<Object, LongSeriesScan.Extent> longSeriesExtents(Dataset<Row> rows) {
    Map<Object, LongSeriesScan.Extent> out = new HashMap<>();
    if (longSeriesRows == Long.MAX_VALUE || stepEvery > 0) {
      return out;
    }
    List<Row> stats = rows.groupBy(col(series)).agg(functions.count(functions.lit(1)).as("n"), functions.min(ScanRows.T),
        functions.max(ScanRows.T)).filter(col("n").gt(longSeriesRows)).collectAsList();
    for (Row r : stats) {
      if (!r.isNullAt(0) && !r.isNullAt(2)) {
        out.put(r.get(0), new LongSeriesScan.Extent(r.getLong(2), r.getLong(3), r.getLong(1)));
      }
    }
    return out;
  }

  /** The state table has the columns a resume reads (before any job). */
  private void checkStateColumns() {
    StructType stateSchema = savedStates.schema();
    for (String c : new String[] {series, STATE_LAST_TIME, STATE_BYTES, STATE_VERSION, STATE_FINGERPRINT}) {
      InputColumns.field(stateSchema, c, savedStatesName);
    }
  }

  /**
   * The state table by series key when it has at most {@code maxRows} rows (one query that reads
   * at most {@code maxRows + 1}), every state checked on the driver: the model (as
   * {@link #checkSavedModel}), the format, the fingerprint and size of each state. Null when larger.
   */
  private Map<Object, SeriesScanner.SavedState> collectStates(ScanConfig config, DataType timeType,
      DataType seriesType, long maxRows) {
    boolean described = Arrays.asList(savedStates.schema().fieldNames()).contains(STATE_MODEL);
    List<Column> read = new ArrayList<>(Arrays.asList(ScanRows.stateColumns(series, seriesType, timeType)));
    read.add(described ? col(STATE_MODEL) : functions.lit(null).cast(DataTypes.StringType));
    List<Row> rows = savedStates.select(read.toArray(new Column[0]))
        .limit((int) Math.min(Integer.MAX_VALUE - 1, maxRows) + 1).collectAsList();
    if (rows.size() > maxRows) {
      return null;
    }
    for (Row r : rows) { // another model's table: name both models, as before any scan
      if (!r.isNullAt(4) && r.getLong(4) != model.fingerprint()) {
        failOnOtherModel(r.getLong(4), described && !r.isNullAt(5) ? r.getString(5) : null);
      }
    }
    Map<Object, SeriesScanner.SavedState> out = new HashMap<>();
    for (Row r : rows) {
      if (r.isNullAt(0)) {
        Checks.fail("%s: expected a series key ('%s') on every state, got null", savedStatesName, series);
      }
      Object key = SeriesKeys.internal(r.get(0));
      String source = "series " + config.describe(key);
      boolean complete = !r.isNullAt(1) && !r.isNullAt(2);
      SeriesScanner.SavedState state = new SeriesScanner.SavedState(complete ? r.getLong(1) : 0,
          complete ? (byte[]) r.get(2) : null, r.isNullAt(3) ? null : r.getInt(3));
      state.read(config, source); // fails naming the series
      if (out.put(SeriesKeys.lookup(key), state) != null) {
        Checks.fail("state table: expected one state per series, got several for %s", source);
      }
    }
    return out;
  }

  /**
   * Fails on the driver, before the scan, when the table was saved by another model, judged by its
   * first row (one run writes a whole table; reading one row keeps the check's cost flat in the
   * table's size). The tasks check every state's own fingerprint as they read it, which catches a
   * table mixing models.
   */
  private void checkSavedModel(boolean described) {
    Column fingerprint = col(STATE_FINGERPRINT).cast(DataTypes.LongType);
    Column[] shown = described ? new Column[] {fingerprint, col(STATE_MODEL)} : new Column[] {fingerprint};
    List<Row> first = savedStates.select(shown).limit(1).collectAsList();
    if (first.isEmpty() || first.get(0).isNullAt(0) || first.get(0).getLong(0) == model.fingerprint()) {
      return;
    }
    Row saved = first.get(0);
    failOnOtherModel(saved.getLong(0), described && !saved.isNullAt(1) ? saved.getString(1) : null);
  }

  /** The failure for a state table of another model (fingerprint {@code savedFingerprint}). */
  private void failOnOtherModel(long savedFingerprint, String savedDescription) {
    if (savedDescription != null && !savedDescription.equals(description())) {
      Checks.fail("%s: expected states of %s, got states of another model (%s)", savedStatesName, description(),
          savedDescription);
    }
    Checks.fail("%s: expected states of %s (model fingerprint %016x), got states of another model (fingerprint %016x)",
        savedStatesName, description(), model.fingerprint(), savedFingerprint);
  }

  /** The output and state table of one scan. */
  public static final class ScanResult {
    private final Dataset<Row> output;
    private final Dataset<Row> states;
    private final List<Dataset<Row>> persisted;

    ScanResult(Dataset<Row> output, Dataset<Row> states, List<Dataset<Row>> persisted) {
      this.output = output;
      this.states = states;
      this.persisted = persisted;
    }

    public Dataset<Row> output() {
      return output;
    }

    /** The state table: series, last_time, state, state_format_version, model_fingerprint, model_description. */
    public Dataset<Row> states() {
      return states;
    }

    /** Releases the cached scan (and the long series' cached blocks) once output and states are written. */
    public void unpersist() {
      for (Dataset<Row> d : persisted) {
        d.unpersist();
      }
    }
  }
}
