package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.WindowSplit;

/**
 * A fitted {@link SsmForecaster}: {@code transform} forecasts the next H values of every series
 * after its last row, in long format ({@code seriesCol, timeCol, stepCol, predictionCol} and, per
 * interval level, {@code <predictionCol>_lo_<percent>}, {@code <predictionCol>_hi_<percent>}).
 * Future times step by the fitted grid ({@code freq}), or with {@code freq = rows} continue each
 * series at its last gap. A series whose last L steps are not all present (after the fitted
 * {@code fill}) gets no rows, never NaN forecasts; {@link #skippedSeries} names it.
 *
 * <p>Saved as MLlib's metadata JSON (params) plus one Parquet row under {@code path/data}
 * ({@link ForecasterData}: weights, fit summary, interval half-widths, the grid, a featurization
 * fingerprint checked on load, a format version).
 */
public final class SsmForecasterModel extends Model<SsmForecasterModel> implements MLWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final ForecasterParams p;
  private final ForecasterData data;

  /**
   * An unfitted model, for Spark Connect's {@code ServiceLoader} (which instantiates every listed
   * stage); obtain real ones from {@link SsmForecaster#fit} or {@link #load}.
   */
  public SsmForecasterModel() {
    this(org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("ssmForecasterModel"), null);
  }

  SsmForecasterModel(String uid, ForecasterData data) {
    this.uid = uid;
    this.p = new ForecasterParams(this);
    this.data = data;
    p.setDefaults(this::setDefault);
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> seriesCol() {
    return p.seriesCol;
  }

  public Param<String> timeCol() {
    return p.timeCol;
  }

  public Param<String> valueCol() {
    return p.valueCol;
  }

  public Param<String> model() {
    return p.model;
  }

  public IntParam lookback() {
    return p.lookback;
  }

  public IntParam horizon() {
    return p.horizon;
  }

  public IntParam validationRows() {
    return p.validationRows;
  }

  public DoubleArrayParam lambdas() {
    return p.lambdas;
  }

  public DoubleArrayParam intervalLevels() {
    return p.intervalLevels;
  }

  public Param<String> stepCol() {
    return p.stepCol;
  }

  public Param<String> predictionCol() {
    return p.predictionCol;
  }

  public Param<String> freq() {
    return p.freq;
  }

  public Param<String> fill() {
    return p.fill;
  }

  public IntParam maxGap() {
    return p.maxGap;
  }

  /** The grid step (in the time column's encoded units; 0: rows are steps) and fill the model forecasts with. */
  public org.sparkssm.spark.forecast.TimeGrid grid() {
    return data.grid;
  }

  /**
   * The series of {@code dataset} that get no forecast rows from {@link #transform}, and why
   * (columns as {@link SsmForecast.Fitted#skippedSeries}).
   */
  public Dataset<Row> skippedSeries(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    return fitted(WindowSplit.lastRows(0, 0)).skippedSeries(dataset.toDF());
  }

  public SsmForecasterModel setSeriesCol(String value) {
    set(p.seriesCol, value);
    return this;
  }

  public SsmForecasterModel setTimeCol(String value) {
    set(p.timeCol, value);
    return this;
  }

  public SsmForecasterModel setValueCol(String value) {
    set(p.valueCol, value);
    return this;
  }

  public SsmForecasterModel setStepCol(String value) {
    set(p.stepCol, value);
    return this;
  }

  public SsmForecasterModel setPredictionCol(String value) {
    set(p.predictionCol, value);
    return this;
  }

  /** The fitted linear forecaster (features and ridge weights). */
  public LinearForecaster forecaster() {
    return data.forecaster;
  }

  /** Training windows of the fit. */
  public long trainWindows() {
    return data.trainWindows;
  }

  /** Validation (and calibration) windows of the fit. */
  public long validationWindows() {
    return data.validationWindows;
  }

  /** Validation MSE of the chosen penalty, on the scale of the data (NaN without validation windows). */
  public double validationMse() {
    return data.validationMse;
  }

  /** The chosen relative ridge penalty. */
  public double lambdaRel() {
    return data.forecaster.weights().lambdaRel();
  }

  /** The conformal half-width of the interval at {@code intervalLevels[level]} for step {@code step} (1..H). */
  public double intervalHalfWidth(int level, int step) {
    return data.halfWidths[level][step - 1];
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return p.validateFitted(schema, uid, data != null, data == null ? null : data.levels,
        data == null ? null : data.timeType);
  }

  private SsmForecast.Fitted fitted(WindowSplit split) {
    return SsmForecast.Fitted.of(p.get(p.seriesCol), p.get(p.timeCol), p.get(p.valueCol), data.timeType, data.grid,
        data.forecaster, data.model, split);
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    if (dataset.isStreaming()) {
      if (data.grid.onGrid() || data.grid.fill() != org.sparkssm.spark.forecast.TimeGrid.Fill.NONE) {
        throw new IllegalArgumentException(String.format("freq, fill: streaming forecasts read each row as the next "
            + "step and leave missing values missing; expected a model fitted with freq rows and fill none, got "
            + "a grid step of %d time units and fill %s", data.grid.step(), data.grid.fill()));
      }
      return StreamingForecast.forecast(this, dataset.toDF());
    }
    Dataset<Row> future = fitted(WindowSplit.lastRows(0, 0)).forecast(dataset.toDF());
    return withIntervals(future.withColumnRenamed(SsmForecast.STEP, p.get(p.stepCol))
        .withColumnRenamed(SsmForecast.FORECAST, p.get(p.predictionCol)));
  }

  /**
   * Every window whose H targets lie in the last {@code testRows} rows of its series, forecast from
   * the L rows before it, next to the actual values: {@code seriesCol, timeCol (of the target),
   * stepCol, actual, predictionCol} and the interval columns. For backtests and coverage checks.
   */
  public Dataset<Row> predictWindows(Dataset<?> dataset, int testRows) {
    transformSchema(dataset.schema(), true);
    Dataset<Row> windows = fitted(WindowSplit.lastRows(0, testRows)).testPredictions(dataset.toDF());
    return withIntervals(windows.withColumnRenamed(SsmForecast.STEP, p.get(p.stepCol))
        .withColumnRenamed(SsmForecast.FORECAST, p.get(p.predictionCol)));
  }

  /** Adds {@code forecast ∓ half-width[step]} per level. */
  Dataset<Row> withIntervals(Dataset<Row> forecasts) {
    return p.withIntervals(forecasts, data.halfWidths);
  }

  ForecasterParams forecasterParams() {
    return p;
  }

  @Override
  public SsmForecasterModel copy(ParamMap extra) {
    SsmForecasterModel copied = new SsmForecasterModel(uid, data);
    return (SsmForecasterModel) copyValues(copied, extra).setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<SsmForecasterModel> read() {
    return new Reader();
  }

  public static SsmForecasterModel load(String path) {
    return read().load(path);
  }

  /** Metadata JSON as MLlib writes it, then the model data as one Parquet row under {@code path/data}. */
  private static final class Writer extends MLWriter {
    private final SsmForecasterModel instance;

    Writer(SsmForecasterModel instance) {
      this.instance = instance;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter$.MODULE$.saveMetadata(instance, path, sparkSession());
      List<Row> rows = Collections.singletonList(instance.data.toRow());
      sparkSession().createDataFrame(rows, ForecasterData.SCHEMA).repartition(1).write()
          .parquet(new org.apache.hadoop.fs.Path(path, "data").toString());
    }
  }

  private static final class Reader extends MLReader<SsmForecasterModel> {
    @Override
    public SsmForecasterModel load(String path) {
      DefaultParamsReader.Metadata metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(),
          SsmForecasterModel.class.getName());
      String dataPath = new org.apache.hadoop.fs.Path(path, "data").toString();
      List<Row> rows = new ArrayList<>(sparkSession().read().parquet(dataPath).collectAsList());
      if (rows.size() != 1) {
        throw new IllegalArgumentException(String.format("%s: expected one model data row, got %d", dataPath,
            rows.size()));
      }
      SsmForecasterModel model = new SsmForecasterModel(metadata.uid(), ForecasterData.fromRow(rows.get(0), dataPath));
      metadata.getAndSetParams(model, scala.Option.empty());
      return model;
    }
  }
}
