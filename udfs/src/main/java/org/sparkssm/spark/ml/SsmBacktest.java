package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.sparkssm.Checks;
import org.sparkssm.spark.forecast.SsmForecast;

/**
 * Rolling-origin backtesting of an {@link SsmForecaster} or an {@link SsmNetForecaster} over a
 * grid of param maps (from
 * {@link org.apache.spark.ml.tuning.ParamGridBuilder}, as {@code CrossValidator} takes them):
 *
 * <pre>{@code
 * ParamMap[] grid = new ParamGridBuilder().addGrid(f.lookback(), new int[] {48, 96}).build();
 * SsmBacktest.Result r = SsmBacktest.of(f).paramMaps(grid).nWindows(4).stepSize(24).run(df);
 * r.metrics().show();                  // param_index, window, origin_offset, mse, mae, values
 * double mase = new ForecastEvaluator().setMetricName("mase").evaluate(r.predictions());
 * SsmForecasterModel best = f.fit(df, r.bestParamMap());
 * }</pre>
 *
 * Per series, window w (0 = oldest) has its forecast origin {@code H + (nWindows - 1 - w) ·
 * stepSize} rows before the series' end: the forecaster reads the rows up to the origin and is
 * scored on the H rows after it. It is trained on the rows up to {@code gap} rows before the
 * origin, refitted per window with {@link #refit} (the default), or fitted once on window 0's
 * training rows and reused. Metrics are on the scale of the data, over the present forecasts (a
 * series whose L rows before the origin are not all present is not scored).
 *
 * <p>Why not {@code CrossValidator}: its folds are row sets, each model trained on all folds but
 * one, so a model would train on rows after the ones it is scored on, and its {@code Evaluator}
 * sees one prediction table, not per-series cutoffs with history and future apart. Time-series
 * evaluation needs the origin inside every series, the history for prediction separate from the
 * training rows (the gap) and metrics per window; so this is a separate helper that takes the same
 * param grid and returns what {@code CrossValidatorModel.avgMetrics} would, plus the per-window
 * table.
 */
public final class SsmBacktest {
  private final Estimator<? extends Model<?>> estimator;
  private ParamMap[] paramMaps = {new ParamMap()};
  private int nWindows = 3;
  private int stepSize = -1;
  private int gap;
  private boolean refit = true;

  private SsmBacktest(Estimator<? extends Model<?>> estimator) {
    this.estimator = Checks.notNull("estimator", estimator);
  }

  /** Backtests the closed-form forecasters. */
  public static SsmBacktest of(SsmForecaster estimator) {
    return new SsmBacktest(estimator);
  }

  /** Backtests a trained network: with {@link #refit} (the default) it trains once per window and param map. */
  public static SsmBacktest of(SsmNetForecaster estimator) {
    return new SsmBacktest(estimator);
  }

  /** The forecaster params of either estimator or either model. */
  private static ForecasterParams paramsOf(Params stage) {
    if (stage instanceof SsmForecaster f) {
      return f.forecasterParams();
    }
    if (stage instanceof SsmNetForecaster f) {
      return f.forecasterParams();
    }
    if (stage instanceof SsmForecasterModel m) {
      return m.forecasterParams();
    }
    return ((SsmNetForecasterModel) stage).forecasterParams();
  }

  /** The grid to compare (default: the estimator's own params only). */
  public SsmBacktest paramMaps(ParamMap[] maps) {
    Checks.notNull("paramMaps", maps);
    if (maps.length == 0) {
      Checks.fail("paramMaps: expected at least one param map, got none");
    }
    this.paramMaps = maps.clone();
    return this;
  }

  /** Forecast origins per series (default 3). */
  public SsmBacktest nWindows(int windows) {
    this.nWindows = Checks.positive("nWindows", windows);
    return this;
  }

  /** Rows between consecutive origins (default: H, so the windows' targets tile the end of each series). */
  public SsmBacktest stepSize(int rows) {
    this.stepSize = Checks.positive("stepSize", rows);
    return this;
  }

  /** Rows between the end of the training rows and the origin (default 0). */
  public SsmBacktest gap(int rows) {
    this.gap = Checks.nonNegative("gap", rows);
    return this;
  }

  /** Refit at every origin (default true) or fit once on the first window's training rows. */
  public SsmBacktest refit(boolean everyWindow) {
    this.refit = everyWindow;
    return this;
  }

  static final StructType METRICS = new StructType().add("param_index", DataTypes.IntegerType, false)
      .add("window", DataTypes.IntegerType, false).add("origin_offset", DataTypes.IntegerType, false)
      .add("mse", DataTypes.DoubleType, false).add("mae", DataTypes.DoubleType, false)
      .add("values", DataTypes.LongType, false);

  /** The columns {@link Result#predictions()} adds to the estimator's. */
  private static final List<String> PREDICTION_COLUMNS = List.of("param_index", "window", "actual", "naive");

  /** Runs every param map over every window: {@code nWindows × paramMaps} fits with refit, else one per map. */
  public Result run(Dataset<?> dataset) {
    estimator.transformSchema(dataset.schema());
    ForecasterParams p = paramsOf(estimator);
    String series = estimator.getOrDefault(p.seriesCol);
    String time = estimator.getOrDefault(p.timeCol);
    String value = estimator.getOrDefault(p.valueCol);
    for (Param<String> param : List.of(p.seriesCol, p.timeCol, p.stepCol, p.predictionCol)) {
      if (PREDICTION_COLUMNS.contains(estimator.getOrDefault(param))) {
        Checks.fail("%s '%s': expected a name other than the backtest's own columns %s", param.name(),
            estimator.getOrDefault(param), PREDICTION_COLUMNS);
      }
    }
    WindowSpec bySeries = Window.partitionBy(col(series));
    Dataset<Row> ranked = dataset.toDF()
        .withColumn("__rn", functions.row_number().over(bySeries.orderBy(col(time))))
        .withColumn("__n", functions.count(functions.lit(1)).over(bySeries))
        .persist(StorageLevel.MEMORY_AND_DISK());
    Column[] original = {col(series), col(time), col(value)};
    List<Row> metrics = new ArrayList<>();
    double[] average = new double[paramMaps.length];
    Dataset<Row> predictions = null;
    try {
      for (int i = 0; i < paramMaps.length; i++) {
        Estimator<? extends Model<?>> f = estimator.copy(paramMaps[i]);
        ForecasterParams fp = paramsOf(f);
        int h = (Integer) f.getOrDefault(fp.horizon);
        int step = stepSize > 0 ? stepSize : h;
        Model<?> model = null;
        for (int w = 0; w < nWindows; w++) {
          int offset = h + (nWindows - 1 - w) * step;
          Column origin = col("__n").minus(offset);
          if (model == null || refit) {
            model = f.fit(ranked.filter(col("__rn").leq(origin.minus(gap))).select(original));
          }
          String stepName = f.getOrDefault(fp.stepCol);
          String prediction = f.getOrDefault(fp.predictionCol);
          List<Column> forecastCols = new ArrayList<>(List.of(col(series), col(stepName).as("__step"),
              col(prediction)));
          List<Column> out = new ArrayList<>(List.of(functions.lit(i).as("param_index"), functions.lit(w).as("window"),
              col(series), col(time), col("__step").as(stepName), col("actual"), col(prediction), col("naive")));
          for (String interval : intervalColumns(model)) {
            forecastCols.add(col(interval));
            out.add(col(interval));
          }
          Dataset<Row> forecasts = model.transform(ranked.filter(col("__rn").leq(origin)).select(original))
              .select(forecastCols.toArray(new Column[0]));
          Dataset<Row> actual = ranked.filter(col("__rn").gt(origin).and(col("__rn").leq(origin.plus(h))))
              .select(col(series), col(time), col("__rn").minus(origin).cast(DataTypes.IntegerType).as("__step"),
                  col(value).cast(DataTypes.DoubleType).as("actual"));
          // The naive forecast repeats the value at the origin (present: the forecast read it).
          Dataset<Row> naive = ranked.filter(col("__rn").equalTo(origin))
              .select(col(series), col(value).cast(DataTypes.DoubleType).as("naive"));
          Column error = col("actual").minus(col(prediction));
          Dataset<Row> scored = forecasts.join(actual, new String[] {series, "__step"}).join(naive, series)
              .filter(functions.not(functions.isnan(error)).and(error.isNotNull()))
              .select(out.toArray(new Column[0]));
          predictions = predictions == null ? scored : predictions.unionByName(scored, true);
          Row m = scored.agg(functions.avg(error.multiply(error)), functions.avg(functions.abs(error)),
              functions.count(error)).first();
          long values = m.getLong(2);
          double mse = values == 0 ? Double.NaN : m.getDouble(0);
          metrics.add(RowFactory.create(i, w, offset, mse, values == 0 ? Double.NaN : m.getDouble(1), values));
          average[i] += mse / nWindows;
        }
      }
    } finally {
      ranked.unpersist();
    }
    Dataset<Row> table = dataset.sparkSession().createDataFrame(metrics, METRICS);
    return new Result(table, predictions, average, paramMaps);
  }

  /** The interval columns the model adds (none without intervalLevels). */
  private static List<String> intervalColumns(Model<?> model) {
    ForecasterParams p = paramsOf(model);
    List<String> names = new ArrayList<>();
    String[] lo = p.intervalColumns(SsmForecast.LOWER);
    String[] hi = p.intervalColumns(SsmForecast.UPPER);
    for (int i = 0; i < lo.length; i++) {
      names.add(lo[i]);
      names.add(hi[i]);
    }
    return names;
  }

  /** Per-window metrics and forecasts, the mean MSE per param map, and the best map. */
  public static final class Result {
    private final Dataset<Row> metrics;
    private final Dataset<Row> predictions;
    private final double[] averageMse;
    private final ParamMap[] paramMaps;

    Result(Dataset<Row> metrics, Dataset<Row> predictions, double[] averageMse, ParamMap[] paramMaps) {
      this.metrics = metrics;
      this.predictions = predictions;
      this.averageMse = averageMse;
      this.paramMaps = paramMaps;
    }

    /** {@code param_index, window, origin_offset (rows before each series' end), mse, mae, values}. */
    public Dataset<Row> metrics() {
      return metrics;
    }

    /**
     * The scored forecasts, one row per forecast value the metrics count: {@code param_index,
     * window, seriesCol, timeCol (of the target), stepCol, actual, predictionCol, naive} (the
     * series' value at the origin, the naive forecast that scales {@link ForecastEvaluator}'s
     * MASE) and the interval columns of the estimator's {@code intervalLevels}. Score it with
     * {@link ForecastEvaluator} (its default columns are these), per window or param map after a
     * filter. Lazy: every action forecasts the windows again from the input with the fitted
     * models (no refit); persist it to read it more than once.
     */
    public Dataset<Row> predictions() {
      return predictions;
    }

    /** Mean over windows of the MSE, per param map (as {@code CrossValidatorModel.avgMetrics}). */
    public double[] averageMse() {
      return averageMse.clone();
    }

    /** The param map of the smallest mean MSE (the first on ties). */
    public ParamMap bestParamMap() {
      int best = 0;
      for (int i = 1; i < averageMse.length; i++) {
        if (averageMse[i] < averageMse[best]) {
          best = i;
        }
      }
      return paramMaps[best];
    }
  }
}
