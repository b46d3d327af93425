package org.sparkssm.spark.forecast;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.Checks;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.RidgeStats;
import org.sparkssm.forecast.WindowFeatures;
import org.sparkssm.forecast.WindowForecaster;
import org.sparkssm.spark.scan.InputColumns;
import org.sparkssm.spark.scan.NullSeriesKeys;
import org.sparkssm.spark.scan.SsmScan;
import org.sparkssm.spark.scan.TimeCodec;

/**
 * Fits a forecaster of the next H values from the last L over many series in long format, in one
 * distributed pass, and predicts with it:
 *
 * <pre>{@code
 * SsmForecast.Fitted fit = SsmForecast.on(df)           // unique_id, ds, y by default
 *     .model("legt").lookback(96).horizon(24)
 *     .split(WindowSplit.lastRows(48, 24))              // validation, test rows per series
 *     .fit();
 * Dataset<Row> future = fit.forecast(df);               // unique_id, ds, step, forecast
 * SsmForecast.Metrics test = fit.evaluate(df);          // MSE, MAE over the test windows
 * }</pre>
 *
 * <h2>How it fits</h2>
 * Rows are hash-partitioned by series and sorted by time; each task walks its series with a ring of
 * L + H values ({@link WindowWalker}: no series is held whole), turns every stride-1 window into
 * the model's features and level-relative targets, and adds them to ridge sufficient statistics
 * ({@code XᵀX}, {@code XᵀY}, ...), one set for training windows and one for validation windows
 * ({@link WindowSplit}). The per-task statistics are merged by a tree reduction in partition
 * order ({@link OrderedMerge}: like {@code treeAggregate}, but bit-identical run to run); the driver
 * solves the ridge for every λ_rel of the grid and keeps the one with the smallest validation MSE
 * (computed from the validation statistics alone, no second pass). One linear map serves every
 * series (channel-independent, as LTSF-Linear). Prediction broadcasts the forecaster and is
 * distributed the same way.
 *
 * <h2>Policies</h2>
 * Rows become steps by a {@link TimeGrid} ({@link #grid}): by default each row is the next step;
 * on a grid, missing grid times are missing steps and a time off the grid fails naming the series
 * and the time. A missing step (null, NaN, ±∞, or an absent grid time) is filled by the grid's
 * policy when its run is short, else it stays missing: a window containing one is neither trained,
 * scored nor forecast from, and a series whose last L steps are not all present gets no forecast
 * (it is listed by {@link Fitted#skippedSeries}, never given NaN). Series shorter than
 * {@link #minLength} are left out of everything and listed the same way. A null key or time, or a
 * duplicate time in a series, fails naming the column, the series and the time (ISO-8601). Future
 * times step by the grid (without one: by each series' last gap).
 */
public final class SsmForecast {
  // The columns of the frames a fit returns, besides the series and time columns, which keep the
  // input's names (series, time). Read them by these names: columns may be added.

  /** The forecast step, 1..H ({@link Fitted#forecast}, {@link Fitted#testPredictions}). */
  public static final String STEP = "step";
  /** The point forecast ({@link Fitted#forecast}, {@link Fitted#testPredictions}). */
  public static final String FORECAST = "forecast";
  /** The actual value of a test target ({@link Fitted#testPredictions}). */
  public static final String ACTUAL = "actual";
  /** {@link Fitted#skippedSeries}: the series' steps. */
  public static final String STEPS = "steps";
  /** {@link Fitted#skippedSeries}: the steps left missing after the fill policy. */
  public static final String MISSING = "missing";
  /** {@link Fitted#skippedSeries}: whether the series is scored (has a complete test window). */
  public static final String SCORED = "scored";
  /**
   * {@link Fitted#skippedSeries}: whether the series gets a forecast (a boolean; the same word as
   * {@link #FORECAST}, the value, which this frame does not have).
   */
  public static final String FORECASTED = "forecast";
  /** {@link Fitted#skippedSeries}: why the series is listed, e.g. "a missing value in its last L = 96 steps". */
  public static final String REASON = "reason";
  /** The lower bound of a prediction interval, in {@link #intervalColumn}'s names. */
  public static final String LOWER = "lo";
  /** The upper bound of a prediction interval, in {@link #intervalColumn}'s names. */
  public static final String UPPER = "hi";

  /**
   * The column of one bound of a level's prediction interval, as the ML stages add them next to
   * their prediction column: {@code forecast_lo_80} for ({@code forecast}, {@link #LOWER}, 0.8),
   * {@code forecast_hi_97_5} for ({@code forecast}, {@link #UPPER}, 0.975).
   */
  public static String intervalColumn(String prediction, String bound, double level) {
    String percent = new java.math.BigDecimal(Double.toString(level * 100)).stripTrailingZeros().toPlainString();
    return prediction + "_" + bound + "_" + percent.replace('.', '_');
  }

  private final Dataset<Row> input;
  private String series = SsmScan.DEFAULT_SERIES;
  private String time = SsmScan.DEFAULT_TIME;
  private String value = SsmScan.DEFAULT_VALUE;
  private String model = "nlinear";
  private int lookback = 96;
  private int horizon = 24;
  private WindowSplit split = WindowSplit.lastRows(24, 0);
  private double[] lambdas = RidgeStats.DEFAULT_LAMBDAS.clone();
  private TimeGrid grid = TimeGrid.ROWS;
  private long minLength;

  private SsmForecast(Dataset<Row> input) {
    this.input = Checks.notNull("input", input);
  }

  public static SsmForecast on(Dataset<Row> df) {
    return new SsmForecast(df);
  }

  public SsmForecast series(String column) {
    this.series = Checks.notNull("series", column);
    return this;
  }

  public SsmForecast time(String column) {
    this.time = Checks.notNull("time", column);
    return this;
  }

  public SsmForecast value(String column) {
    this.value = Checks.notNull("value", column);
    return this;
  }

  /** A model of {@link ForecastModels} by name: naive, linear, nlinear, legt[:N], legs[:N], s4d[:N], ... */
  public SsmForecast model(String name) {
    ForecastModels.features(Checks.notNull("model", name), 8); // fails now on an unknown name
    this.model = name;
    return this;
  }

  public SsmForecast lookback(int rows) {
    this.lookback = Checks.positive("lookback", rows);
    return this;
  }

  public SsmForecast horizon(int rows) {
    this.horizon = Checks.positive("horizon", rows);
    return this;
  }

  /** Which windows train, validate (choose λ) and test (default: validation on each series' last H rows). */
  public SsmForecast split(WindowSplit windowSplit) {
    this.split = Checks.notNull("split", windowSplit);
    return this;
  }

  /** The λ_rel grid (λ = λ_rel · training windows); default 1e-7 … 1e2. */
  public SsmForecast lambdas(double... grid) {
    Checks.notNull("lambdas", grid);
    if (grid.length == 0) {
      Checks.fail("lambdas: expected at least one value, got none");
    }
    this.lambdas = grid.clone();
    return this;
  }

  /** How rows become steps and what fills a missing one (default {@link TimeGrid#ROWS}). */
  public SsmForecast grid(TimeGrid timeGrid) {
    this.grid = Checks.notNull("grid", timeGrid);
    return this;
  }

  /** Series with fewer steps are left out of fitting, scoring and forecasting (default 0: none). */
  public SsmForecast minLength(long steps) {
    this.minLength = Checks.nonNegative("min length", steps);
    return this;
  }

  /** Checks the columns before any job runs (MLlib's transformSchema); {@link #fit} calls it too. */
  public void validate() {
    StructType schema = input.schema();
    InputColumns.field(schema, series, "series");
    InputColumns.time(schema, time);
    InputColumns.numeric(schema, value);
  }

  /** Fits the model: one pass over the data (plus a row count per series for {@link WindowSplit#lastRows}). */
  public Fitted fit() {
    validate();
    WindowFeatures features = ForecastModels.features(model, lookback);
    Columns c = new Columns(series, time, value, input.schema().apply(time).dataType(), grid, minLength);
    if (!ForecastModels.isFitted(model)) {
      return new Fitted(c, LinearForecaster.naive(lookback, horizon), split, model, 0, 0, Double.NaN, Double.NaN);
    }
    Dataset<Row> sorted = sortedRows(input, c);
    Broadcast<Map<Object, Long>> rows = seriesRows(sorted, split, c);
    WindowSplit s = split;
    int h = horizon;
    FlatMapFunction<Iterator<Row>, FitStats> accumulate = part -> {
      FitStats stats = new FitStats(features, h);
      WindowWalker walker = c.walker(features.rowsRead() + h);
      Iterator<Row> inOrder = c.keyed(part);
      while (inOrder.hasNext()) {
        Row r = inOrder.next();
        walker.add(r.get(0), r.isNullAt(1), r.isNullAt(1) ? 0 : r.getLong(1), valueOf(r),
            (key, values, times, off, lastRow) -> {
              int l = features.rowsRead();
              long seriesRows = rows == null ? 0 : rows.value().get(key);
              WindowSplit.Part part1 = s.partOf(lastRow - h + 1, h, seriesRows, times[off + l], times[off + l + h - 1]);
              if (part1 == WindowSplit.Part.TRAIN || part1 == WindowSplit.Part.VALIDATION) {
                stats.add(part1, values, off);
              }
            });
      }
      stats.flush();
      return java.util.Collections.singletonList(stats).iterator();
    };
    JavaRDD<FitStats> perTask = sorted.toJavaRDD().mapPartitions(accumulate);
    FitStats all = merged(perTask);
    if (rows != null) {
      rows.destroy();
    }
    if (all.train.count() == 0) {
      Checks.fail("input: expected at least one training window of %d rows (lookback %d + horizon %d) with no "
          + "missing value, got none", lookback + horizon, lookback, horizon);
    }
    LinearForecaster forecaster;
    double lambda;
    double validationMse;
    if (all.validation.count() > 0) {
      RidgeStats.Selection pick = RidgeStats.select(all.train, all.validation, lambdas,
          features.nestedFeatureCounts());
      forecaster = LinearForecaster.of(features, pick.best());
      lambda = pick.best().lambdaRel();
      validationMse = all.validation.mse(pick.best());
    } else {
      // No validation windows: the smallest penalty of the grid that is positive keeps the solve well posed.
      lambda = Arrays.stream(lambdas).filter(x -> x > 0).min().orElse(lambdas[0]);
      forecaster = LinearForecaster.of(features, all.train.solve(lambda));
      validationMse = Double.NaN;
    }
    return new Fitted(c, forecaster, split, model, all.train.count(), all.validation.count(), lambda, validationMse);
  }

  /** The per-task results merged in partition order (bit-identical run to run, see {@link OrderedMerge}). */
  private static <T extends Serializable & Mergeable<T>> T merged(JavaRDD<T> perTask) {
    try {
      return OrderedMerge.reduce(perTask, Mergeable::merge);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Per-task results that merge. */
  interface Mergeable<T> {
    T merge(T other);
  }

  /** How the input is read (column names, time type, grid, minimum length), shipped to tasks. */
  static final class Columns implements Serializable {
    private static final long serialVersionUID = 2L;
    final String series;
    final String time;
    final String value;
    final DataType timeType;
    final TimeGrid grid;
    final long minLength;

    Columns(String series, String time, String value, DataType timeType, TimeGrid grid, long minLength) {
      this.series = series;
      this.time = time;
      this.value = value;
      this.timeType = timeType;
      this.grid = grid;
      this.minLength = minLength;
    }

    WindowWalker walker(int span) {
      return new WindowWalker(span, series, time, timeType, grid);
    }

    /** A partition of {@link #sortedRows}, failing when it starts with null keys (it counts them). */
    Iterator<Row> keyed(Iterator<Row> partition) {
      return NullSeriesKeys.failOnNullKeys(partition, series, timeType);
    }

    /**
     * The phase of a window whose first step has this encoded time and step number in its series:
     * on a grid, its time in grid steps (so every series shares the clock's phase); else its step
     * number.
     */
    long phase(long firstTime, long firstRow) {
      return grid.onGrid() ? Math.floorDiv(firstTime, grid.step()) : firstRow;
    }

    /** A series' steps from its row count and first and last times (encoded). */
    Column steps(Column rows, Column first, Column last) {
      return grid.onGrid() ? last.minus(first).divide(grid.step()).cast(DataTypes.LongType).plus(1) : rows;
    }
  }

  /**
   * {@code [key, t: long, v: double]} of the series with at least the minimum length,
   * hash-partitioned by series and sorted by time within.
   */
  static Dataset<Row> sortedRows(Dataset<Row> df, Columns c) {
    return sortedRows(df, c, c.minLength);
  }

  private static Dataset<Row> sortedRows(Dataset<Row> df, Columns c, long minLength) {
    return sortedRows(df, c, minLength, df.sparkSession().sessionState().conf().numShufflePartitions());
  }

  /** {@link #sortedRows(Dataset, Columns)} in {@code partitions} partitions. */
  static Dataset<Row> sortedRows(Dataset<Row> df, Columns c, long minLength, int partitions) {
    // An explicit partition count: adaptive execution coalesces only count-less repartitions, and
    // the partial sums must fall the same way whatever the input's layout.
    return sortedWithin(encodedRows(df, c).repartition(partitions, col(c.series)), c, minLength);
  }

  /** The series, encoded time ({@code __t}) and value ({@code __v}) columns, checked by name. */
  static Dataset<Row> encodedRows(Dataset<Row> df, Columns c) {
    for (String name : new String[] {c.series, c.time, c.value}) {
      InputColumns.field(df.schema(), name, "input");
    }
    return df.select(col(c.series), TimeCodec.encode(col(c.time), c.timeType).as("__t"),
        col(c.value).cast(DataTypes.DoubleType).as("__v"));
  }

  /** Encoded rows already partitioned by series: those of series long enough, sorted by series and time. */
  static Dataset<Row> sortedWithin(Dataset<Row> partitioned, Columns c, long minLength) {
    Dataset<Row> rows = partitioned;
    if (minLength > 0) {
      org.apache.spark.sql.expressions.WindowSpec whole =
          org.apache.spark.sql.expressions.Window.partitionBy(col(c.series));
      rows = rows.withColumn("__steps", c.steps(functions.count(functions.lit(1)).over(whole),
          functions.min("__t").over(whole), functions.max("__t").over(whole)))
          // Null keys stay whatever their count: the tasks fail on them (NullSeriesKeys).
          .where(col("__steps").geq(minLength).or(col(c.series).isNull())).drop("__steps");
    }
    return rows.sortWithinPartitions(col(c.series), col("__t"));
  }

  static double valueOf(Row r) {
    return r.isNullAt(2) ? Double.NaN : r.getDouble(2);
  }

  /** Steps per series when the split counts from each series' end; null otherwise. */
  static Broadcast<Map<Object, Long>> seriesRows(Dataset<Row> sorted, WindowSplit split, Columns c) {
    if (!split.needsSeriesRows()) {
      return null;
    }
    Map<Object, Long> counts = new HashMap<>();
    for (Row r : sorted.groupBy(sorted.columns()[0]).agg(c.steps(functions.count(functions.lit(1)),
        functions.min("__t"), functions.max("__t"))).collectAsList()) {
      counts.put(r.get(0), r.getLong(1));
    }
    return sorted.sparkSession().sparkContext().broadcast(counts, scala.reflect.ClassTag$.MODULE$.apply(Map.class));
  }

  /** Windows per rank-k update of the statistics: large enough to amortize, small enough for cache. */
  private static final int BLOCK_ROWS = 64;

  /** Training and validation statistics of one task, windows batched into blocks for the rank-k updates. */
  static final class FitStats implements Serializable, Mergeable<FitStats> {
    private static final long serialVersionUID = 1L;
    final RidgeStats train;
    final RidgeStats validation;
    private final WindowFeatures features;
    private final int horizon;
    private transient Block trainBlock;
    private transient Block validationBlock;

    FitStats(WindowFeatures features, int horizon) {
      this.features = features;
      this.horizon = horizon;
      this.train = new RidgeStats(features.featureCount(), horizon);
      this.validation = new RidgeStats(features.featureCount(), horizon);
    }

    /** A window {@code values[off .. off + L + H)}: features of the first L, targets the next H minus the level. */
    void add(WindowSplit.Part part, double[] values, int off) {
      if (trainBlock == null) {
        trainBlock = new Block(features.featureCount(), horizon);
        validationBlock = new Block(features.featureCount(), horizon);
      }
      Block b = part == WindowSplit.Part.TRAIN ? trainBlock : validationBlock;
      int f = features.featureCount();
      features.features(values, off, b.x, b.rows * f);
      double level = features.level(values, off);
      int t = off + features.rowsRead();
      for (int k = 0; k < horizon; k++) {
        b.y[b.rows * horizon + k] = values[t + k] - level;
      }
      if (++b.rows == BLOCK_ROWS) {
        b.flushInto(part == WindowSplit.Part.TRAIN ? train : validation);
      }
    }

    void flush() {
      if (trainBlock != null) {
        trainBlock.flushInto(train);
        validationBlock.flushInto(validation);
      }
    }

    @Override
    public FitStats merge(FitStats other) {
      flush();
      other.flush();
      train.merge(other.train);
      validation.merge(other.validation);
      return this;
    }
  }

  /** Up to {@link RidgeStats#BLOCK} windows' features and targets, row-major. */
  private static final class Block {
    final double[] x;
    final double[] y;
    int rows;

    Block(int features, int horizon) {
      this.x = new double[BLOCK_ROWS * features];
      this.y = new double[BLOCK_ROWS * horizon];
    }

    void flushInto(RidgeStats stats) {
      if (rows > 0) {
        stats.addBlock(x, 0, y, 0, rows);
        rows = 0;
      }
    }
  }

  /**
   * Test windows gathered {@value #TEST_BLOCK} at a time for {@link WindowForecaster.Predictor#predictBlock}
   * (the weights pass through the cache once per block, not once per window), then scored in the
   * order they came, so the sums are those of one window at a time.
   */
  private static final class TestBlock {
    private final WindowForecaster.Predictor predictor;
    private final int lookback;
    private final int horizon;
    private final double[] windows; // (TEST_BLOCK, L + H): each window and its actual values
    private final long[] phases;
    private final double[] forecasts; // (TEST_BLOCK, H)
    private int count;

    TestBlock(WindowForecaster.Predictor predictor, int lookback, int horizon) {
      this.predictor = predictor;
      this.lookback = lookback;
      this.horizon = horizon;
      this.windows = new double[TEST_BLOCK * (lookback + horizon)];
      this.phases = new long[TEST_BLOCK];
      this.forecasts = new double[TEST_BLOCK * horizon];
    }

    /** Copies the window {@code values[off .. off + L + H)}; a full block is scored into {@code m}. */
    void add(double[] values, int off, long phase, Metrics m) {
      System.arraycopy(values, off, windows, count * (lookback + horizon), lookback + horizon);
      phases[count] = phase;
      if (++count == TEST_BLOCK) {
        scoreInto(m);
      }
    }

    /** Forecasts the pending windows and adds their errors to {@code m}, in order. */
    void scoreInto(Metrics m) {
      int span = lookback + horizon;
      predictor.predictBlock(windows, 0, span, count, phases, forecasts, 0, horizon);
      for (int j = 0; j < count; j++) {
        for (int k = 0; k < horizon; k++) {
          double e = windows[j * span + lookback + k] - forecasts[j * horizon + k];
          m.squared += e * e;
          m.absolute += Math.abs(e);
        }
        m.values += horizon;
        m.windows++;
      }
      count = 0;
    }
  }

  /** Test windows per {@link TestBlock}. */
  private static final int TEST_BLOCK = 32;

  /** Test-window errors on the scale of the data: mean squared and absolute error per forecast value. */
  public static final class Metrics implements Serializable, Mergeable<Metrics> {
    private static final long serialVersionUID = 1L;
    private double squared;
    private double absolute;
    private long values;
    private long windows;

    public double mse() {
      return squared / values;
    }

    public double mae() {
      return absolute / values;
    }

    /** Test windows scored (each gives H values). */
    public long windows() {
      return windows;
    }

    @Override
    public Metrics merge(Metrics o) {
      squared += o.squared;
      absolute += o.absolute;
      values += o.values;
      windows += o.windows;
      return this;
    }

    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "MSE %.6f, MAE %.6f over %d windows", mse(), mae(), windows);
    }
  }

  /** A fitted forecaster and the split it was fitted with. */
  public static final class Fitted implements Serializable {
    private static final long serialVersionUID = 1L;
    private final Columns columns;
    private final WindowForecaster forecaster;
    private final WindowSplit split;
    private final String model;
    private final long trainWindows;
    private final long validationWindows;
    private final double lambdaRel;
    private final double validationMse;

    Fitted(Columns columns, WindowForecaster forecaster, WindowSplit split, String model, long trainWindows,
        long validationWindows, double lambdaRel, double validationMse) {
      this.columns = columns;
      this.forecaster = forecaster;
      this.split = split;
      this.model = model;
      this.trainWindows = trainWindows;
      this.validationWindows = validationWindows;
      this.lambdaRel = lambdaRel;
      this.validationMse = validationMse;
    }

    /**
     * A fitted forecaster rebuilt from its parts (e.g. a saved model), for inputs whose columns have
     * these names and whose time column has this type.
     */
    public static Fitted of(String series, String time, String value, DataType timeType, TimeGrid grid,
        WindowForecaster forecaster, String model, WindowSplit split) {
      Checks.notNull("forecaster", forecaster);
      return new Fitted(new Columns(Checks.notNull("series", series), Checks.notNull("time", time),
          Checks.notNull("value", value), Checks.notNull("timeType", timeType), Checks.notNull("grid", grid), 0),
          forecaster,
          Checks.notNull("split", split), Checks.notNull("model", model), 0, 0, Double.NaN, Double.NaN);
    }

    /** The same forecaster scored on other test windows ({@link #evaluate}, {@link #testPredictions}). */
    public Fitted withSplit(WindowSplit testSplit) {
      return new Fitted(columns, forecaster, Checks.notNull("split", testSplit), model, trainWindows,
          validationWindows, lambdaRel, validationMse);
    }

    public WindowForecaster forecaster() {
      return forecaster;
    }

    /** The closed-form forecaster a {@link SsmForecast#fit} fitted. */
    public LinearForecaster linear() {
      if (!(forecaster instanceof LinearForecaster)) {
        Checks.fail("model: expected a closed-form forecaster, got %s", model);
      }
      return (LinearForecaster) forecaster;
    }

    /** The time grid and missing-value policy the forecaster was fitted with, and forecasts with. */
    public TimeGrid grid() {
      return columns.grid;
    }

    public String model() {
      return model;
    }

    public long trainWindows() {
      return trainWindows;
    }

    public long validationWindows() {
      return validationWindows;
    }

    /** The chosen λ_rel (NaN for naive). */
    public double lambdaRel() {
      return lambdaRel;
    }

    /** Validation MSE of the chosen λ, on the scale of the data (NaN without validation windows). */
    public double validationMse() {
      return validationMse;
    }

    /**
     * The next H values of every series after its last row: {@code series, time, step (1..H),
     * forecast}. Future times step by the grid; without one, by each series' last gap (one time
     * unit for a series of one row). A series whose last L steps are not all present gets no rows
     * ({@link #skippedSeries} names it).
     */
    public Dataset<Row> forecast(Dataset<Row> df) {
      Dataset<Row> sorted = sortedRows(df, columns);
      Broadcast<WindowForecaster> model = broadcast(df);
      Columns c = columns;
      StructType schema = new StructType().add(c.series, df.schema().apply(c.series).dataType())
          .add("__t", DataTypes.LongType).add(STEP, DataTypes.IntegerType).add(FORECAST, DataTypes.DoubleType);
      Dataset<Row> out = sorted.mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) part -> {
        WindowForecaster f = model.value();
        WindowWalker walker = c.walker(f.rowsRead());
        List<Row> rows = new ArrayList<>();
        WindowForecaster.Predictor work = f.predictor();
        double[] yhat = new double[f.horizon()];
        long previous = 0;
        long last = 0;
        Iterator<Row> inOrder = c.keyed(part);
        while (inOrder.hasNext()) {
          Row r = inOrder.next();
          if (walker.key() != null && walker.startsSeries(r.get(0))) {
            emitFuture(walker, work, yhat, previous, last, rows, c);
          }
          if (!walker.startsSeries(r.get(0))) {
            previous = last;
          } else {
            previous = Long.MIN_VALUE;
          }
          last = r.isNullAt(1) ? 0 : r.getLong(1);
          walker.add(r.get(0), r.isNullAt(1), last, valueOf(r), null);
        }
        if (walker.key() != null) {
          emitFuture(walker, work, yhat, previous, last, rows, c);
        }
        return rows.iterator();
      }, Encoders.row(schema));
      return out.select(col(c.series), TimeCodec.decode(col("__t"), c.timeType).as(c.time), col(STEP),
          col(FORECAST));
    }

    private static void emitFuture(WindowWalker walker, WindowForecaster.Predictor f, double[] yhat,
        long previous, long last, List<Row> rows, Columns c) {
      if (!walker.lastSpanPresent()) {
        return;
      }
      int off = walker.lastSpanOffset();
      f.predict(walker.values(), off, c.phase(walker.times()[off], walker.rows() - walker.span()), yhat, 0);
      TimeGrid grid = c.grid;
      long gap = grid.onGrid() ? grid.step() : previous == Long.MIN_VALUE ? 1 : last - previous;
      for (int k = 0; k < yhat.length; k++) {
        rows.add(RowFactory.create(walker.key(), last + gap * (k + 1), k + 1, yhat[k]));
      }
    }

    /**
     * Fails unless some test window was scored: {@link #evaluate}'s check, for a caller that computes
     * its metrics from {@link #testPredictions} instead.
     */
    public void requireTestWindows(long windows) {
      if (windows == 0) {
        Checks.fail("split: expected at least one test window of %d rows with no missing value, got none",
            forecaster.rowsRead() + forecaster.horizon());
      }
    }

    /** MSE and MAE over every test window of the split (one distributed pass, merged in partition order). */
    public Metrics evaluate(Dataset<Row> df) {
      Dataset<Row> sorted = sortedRows(df, columns);
      Broadcast<WindowForecaster> model = broadcast(df);
      Broadcast<Map<Object, Long>> rows = seriesRows(sorted, split, columns);
      Columns c = columns;
      WindowSplit s = split;
      FlatMapFunction<Iterator<Row>, Metrics> score = part -> {
        WindowForecaster f = model.value();
        int l = f.rowsRead();
        int h = f.horizon();
        Metrics m = new Metrics();
        TestBlock block = new TestBlock(f.predictor(), l, h);
        WindowWalker walker = c.walker(l + h);
        Iterator<Row> inOrder = c.keyed(part);
        while (inOrder.hasNext()) {
          Row r = inOrder.next();
          walker.add(r.get(0), r.isNullAt(1), r.isNullAt(1) ? 0 : r.getLong(1), valueOf(r),
              (key, values, times, off, lastRow) -> {
                long seriesRows = rows == null ? 0 : rows.value().get(key);
                if (s.partOf(lastRow - h + 1, h, seriesRows, times[off + l], times[off + l + h - 1])
                    == WindowSplit.Part.TEST) {
                  block.add(values, off, c.phase(times[off], lastRow - l - h + 1), m);
                }
              });
        }
        block.scoreInto(m);
        return java.util.Collections.singletonList(m).iterator();
      };
      Metrics all = merged(sorted.toJavaRDD().mapPartitions(score));
      if (rows != null) {
        rows.destroy();
      }
      requireTestWindows(all.windows);
      return all;
    }

    /**
     * Every test window's forecasts next to the actual values, in long format: {@code series,
     * time (of the target), step, actual, forecast}. One row per test value: meant for a few
     * series or one window per series ({@link WindowSplit#lastRows}), e.g. for plots.
     */
    public Dataset<Row> testPredictions(Dataset<Row> df) {
      Dataset<Row> sorted = sortedRows(df, columns);
      Broadcast<WindowForecaster> model = broadcast(df);
      Broadcast<Map<Object, Long>> rows = seriesRows(sorted, split, columns);
      Columns c = columns;
      WindowSplit s = split;
      StructType schema = new StructType().add(c.series, df.schema().apply(c.series).dataType())
          .add("__t", DataTypes.LongType).add(STEP, DataTypes.IntegerType).add(ACTUAL, DataTypes.DoubleType)
          .add(FORECAST, DataTypes.DoubleType);
      Dataset<Row> out = sorted.mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) part -> {
        WindowForecaster f = model.value();
        int l = f.rowsRead();
        int h = f.horizon();
        List<Row> emitted = new ArrayList<>();
        WindowForecaster.Predictor work = f.predictor();
        double[] yhat = new double[h];
        WindowWalker walker = c.walker(l + h);
        Iterator<Row> inOrder = c.keyed(part);
        while (inOrder.hasNext()) {
          Row r = inOrder.next();
          walker.add(r.get(0), r.isNullAt(1), r.isNullAt(1) ? 0 : r.getLong(1), valueOf(r),
              (key, values, times, off, lastRow) -> {
                long seriesRows = rows == null ? 0 : rows.value().get(key);
                if (s.partOf(lastRow - h + 1, h, seriesRows, times[off + l], times[off + l + h - 1])
                    == WindowSplit.Part.TEST) {
                  work.predict(values, off, c.phase(times[off], lastRow - l - h + 1), yhat, 0);
                  for (int k = 0; k < h; k++) {
                    emitted.add(RowFactory.create(key, times[off + l + k], k + 1, values[off + l + k], yhat[k]));
                  }
                }
              });
        }
        return emitted.iterator();
      }, Encoders.row(schema));
      return out.select(col(c.series), TimeCodec.decode(col("__t"), c.timeType).as(c.time), col(STEP),
          col(ACTUAL), col(FORECAST));
    }

    /**
     * The series this forecaster cannot fully serve, one row each: {@code series, steps, missing
     * (steps left missing after the fill policy), scored (has a complete test window, or the split
     * has no test part), forecast
     * (its last L steps are present), reason}. A series shorter than the minimum length is neither
     * scored nor forecast. Series that are both scored and forecast are not listed.
     */
    public Dataset<Row> skippedSeries(Dataset<Row> df) {
      Dataset<Row> sorted = sortedRows(df, columns, 0);
      Broadcast<Map<Object, Long>> rows = seriesRows(sorted, split, columns);
      Columns c = columns;
      WindowSplit s = split;
      int l = forecaster.rowsRead();
      int h = forecaster.horizon();
      StructType schema = new StructType().add(c.series, df.schema().apply(c.series).dataType())
          .add(STEPS, DataTypes.LongType).add(MISSING, DataTypes.LongType).add(SCORED, DataTypes.BooleanType)
          .add(FORECASTED, DataTypes.BooleanType).add(REASON, DataTypes.StringType);
      return sorted.mapPartitions((org.apache.spark.api.java.function.MapPartitionsFunction<Row, Row>) part -> {
        List<Row> out = new ArrayList<>();
        WindowWalker walker = c.walker(l + h);
        long[] testWindows = new long[1];
        Iterator<Row> inOrder = c.keyed(part);
        while (inOrder.hasNext()) {
          Row r = inOrder.next();
          if (walker.key() != null && walker.startsSeries(r.get(0))) {
            addSkipped(walker, !s.hasTest() || testWindows[0] > 0, l, h, c.minLength, out);
            testWindows[0] = 0;
          }
          walker.add(r.get(0), r.isNullAt(1), r.isNullAt(1) ? 0 : r.getLong(1), valueOf(r),
              (key, values, times, off, lastRow) -> {
                long seriesRows = rows == null ? 0 : rows.value().get(key);
                if (s.partOf(lastRow - h + 1, h, seriesRows, times[off + l], times[off + l + h - 1])
                    == WindowSplit.Part.TEST) {
                  testWindows[0]++;
                }
              });
        }
        if (walker.key() != null) {
          addSkipped(walker, !s.hasTest() || testWindows[0] > 0, l, h, c.minLength, out);
        }
        return out.iterator();
      }, Encoders.row(schema));
    }

    private static void addSkipped(WindowWalker walker, boolean scored, int l, int h, long minLength,
        List<Row> out) {
      long steps = walker.rows();
      if (steps < minLength) {
        out.add(RowFactory.create(walker.key(), steps, walker.missing(), false, false,
            String.format("%d steps, fewer than the minimum length %d", steps, minLength)));
        return;
      }
      boolean forecast = walker.lastPresent(l);
      if (forecast && scored) {
        return;
      }
      List<String> why = new ArrayList<>();
      if (!forecast) {
        why.add(steps < l ? String.format("%d steps, fewer than the lookback L = %d", steps, l)
            : String.format("a missing value in its last L = %d steps", l));
      }
      if (!scored) {
        why.add(String.format("no test window of L + H = %d steps without a missing value", l + h));
      }
      out.add(RowFactory.create(walker.key(), steps, walker.missing(), scored, forecast, String.join("; ", why)));
    }

    private Broadcast<WindowForecaster> broadcast(Dataset<Row> df) {
      return df.sparkSession().sparkContext().broadcast(forecaster,
          scala.reflect.ClassTag$.MODULE$.apply(WindowForecaster.class));
    }
  }
}
