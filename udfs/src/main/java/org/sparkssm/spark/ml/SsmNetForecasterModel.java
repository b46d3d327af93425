package org.sparkssm.spark.ml;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.spark.ml.Model;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsReader$;
import org.apache.spark.ml.util.DefaultParamsWriter$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.ml.util.MLWritable;
import org.apache.spark.ml.util.MLWriter;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.TimeGrid;
import org.sparkssm.spark.forecast.WindowSplit;
import org.sparkssm.train.TrainedForecaster;
import org.sparkssm.train.Trainer;

/**
 * A trained {@link SsmNetForecaster}: {@code transform} forecasts the next H values of every
 * series after its last row, in the long format of {@link SsmForecasterModel} (and its interval
 * columns). A series whose last L steps are not all present gets no rows ({@link #skippedSeries}).
 *
 * <p>Saved as MLlib's metadata JSON (params), one Parquet row under {@code path/data} (grid,
 * intervals, training summary and history) and the network under {@code path/weights}
 * ({@link TrainedForecaster#save}: {@code model.safetensors} with the tensor names of the
 * network's layout and {@code config.json}; a model saved by another architecture version is
 * refused on load, naming the path).
 */
public final class SsmNetForecasterModel extends Model<SsmNetForecasterModel> implements MLWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final NetForecasterParams p;
  private final NetForecasterData data;

  /**
   * An unfitted model, for Spark Connect's {@code ServiceLoader} (which instantiates every listed
   * stage); obtain real ones from {@link SsmNetForecaster#fit} or {@link #load}.
   */
  public SsmNetForecasterModel() {
    this(org.apache.spark.ml.util.Identifiable$.MODULE$.randomUID("ssmNetForecasterModel"), null);
  }

  SsmNetForecasterModel(String uid, NetForecasterData data) {
    this.uid = uid;
    this.p = new NetForecasterParams(this);
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

  public SsmNetForecasterModel setSeriesCol(String value) {
    set(p.seriesCol, value);
    return this;
  }

  public Param<String> timeCol() {
    return p.timeCol;
  }

  public SsmNetForecasterModel setTimeCol(String value) {
    set(p.timeCol, value);
    return this;
  }

  public Param<String> valueCol() {
    return p.valueCol;
  }

  public SsmNetForecasterModel setValueCol(String value) {
    set(p.valueCol, value);
    return this;
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

  public SsmNetForecasterModel setStepCol(String value) {
    set(p.stepCol, value);
    return this;
  }

  public Param<String> predictionCol() {
    return p.predictionCol;
  }

  public SsmNetForecasterModel setPredictionCol(String value) {
    set(p.predictionCol, value);
    return this;
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

  public IntParam dModel() {
    return p.dModel;
  }

  public IntParam layers() {
    return p.layers;
  }

  public IntParam dState() {
    return p.dState;
  }

  public IntParam dFf() {
    return p.dFf;
  }

  public DoubleParam dropout() {
    return p.dropout;
  }

  public IntParam cycle() {
    return p.cycle;
  }

  public Param<String> skip() {
    return p.skip;
  }

  public IntParam epochs() {
    return p.epochs;
  }

  public IntParam batchSize() {
    return p.batchSize;
  }

  public DoubleParam learningRate() {
    return p.learningRate;
  }

  public IntParam warmupSteps() {
    return p.warmupSteps;
  }

  public DoubleParam weightDecay() {
    return p.weightDecay;
  }

  public DoubleParam clipNorm() {
    return p.clipNorm;
  }

  public Param<String> loss() {
    return p.loss;
  }

  public IntParam patience() {
    return p.patience;
  }

  public IntParam windowsPerEpoch() {
    return p.windowsPerEpoch;
  }

  public LongParam seed() {
    return p.seed;
  }

  public IntParam numPartitions() {
    return p.numPartitions;
  }

  public Param<String> checkpointDir() {
    return p.checkpointDir;
  }

  public BooleanParam resume() {
    return p.resume;
  }

  public Param<String> precision() {
    return p.precision;
  }

  /** The trained network and its weights. */
  public TrainedForecaster forecaster() {
    return data.forecaster;
  }

  /** The time grid and missing-value policy the model was trained with, and forecasts with. */
  public TimeGrid grid() {
    return data.grid;
  }

  /** Training windows (over all series). */
  public long trainWindows() {
    return data.trainWindows;
  }

  /** Validation (and calibration) windows. */
  public long validationWindows() {
    return data.validationWindows;
  }

  /** Windows left out of training and validation because a step was missing. */
  public long skippedWindows() {
    return data.skippedWindows;
  }

  /** The partitions the windows were spread over (the weights depend on it through summation order only). */
  public int partitions() {
    return data.partitions;
  }

  /** The epoch whose weights were kept (0: the initial weights). */
  public int bestEpoch() {
    return data.bestEpoch;
  }

  /** The best validation MSE, on the scale of the data. */
  public double validationMse() {
    return data.validationMse;
  }

  /** Every epoch's train loss, validation MSE and MAE, learning rate and seconds, epoch 0 first. */
  public List<Trainer.Epoch> history() {
    return data.history;
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
        data.forecaster, p.get(p.model), split);
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    if (dataset.isStreaming()) {
      throw new IllegalArgumentException(uid + ": expected a batch table, got a streaming one (streaming forecasts "
          + "serve the closed-form SsmForecasterModel only)");
    }
    Dataset<Row> future = fitted(WindowSplit.lastRows(0, 0)).forecast(dataset.toDF());
    return p.withIntervals(future.withColumnRenamed(SsmForecast.STEP, p.get(p.stepCol))
        .withColumnRenamed(SsmForecast.FORECAST, p.get(p.predictionCol)), data.halfWidths);
  }

  /**
   * Every window whose H targets lie in the last {@code testRows} rows of its series, forecast from
   * the L rows before it, next to the actual values (as {@link SsmForecasterModel#predictWindows}).
   */
  public Dataset<Row> predictWindows(Dataset<?> dataset, int testRows) {
    transformSchema(dataset.schema(), true);
    Dataset<Row> windows = fitted(WindowSplit.lastRows(0, testRows)).testPredictions(dataset.toDF());
    return p.withIntervals(windows.withColumnRenamed(SsmForecast.STEP, p.get(p.stepCol))
        .withColumnRenamed(SsmForecast.FORECAST, p.get(p.predictionCol)), data.halfWidths);
  }

  /** The series of {@code dataset} that get no forecast rows from {@link #transform}, and why. */
  public Dataset<Row> skippedSeries(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    return fitted(WindowSplit.lastRows(0, 0)).skippedSeries(dataset.toDF());
  }

  ForecasterParams forecasterParams() {
    return p;
  }

  @Override
  public SsmNetForecasterModel copy(ParamMap extra) {
    SsmNetForecasterModel copied = new SsmNetForecasterModel(uid, data);
    return (SsmNetForecasterModel) copyValues(copied, extra).setParent(parent());
  }

  @Override
  public MLWriter write() {
    return new Writer(this);
  }

  public static MLReader<SsmNetForecasterModel> read() {
    return new Reader();
  }

  public static SsmNetForecasterModel load(String path) {
    return read().load(path);
  }

  private static final class Writer extends MLWriter {
    private final SsmNetForecasterModel instance;

    Writer(SsmNetForecasterModel instance) {
      this.instance = instance;
    }

    @Override
    public void saveImpl(String path) {
      DefaultParamsWriter$.MODULE$.saveMetadata(instance, path, sparkSession());
      try {
        instance.data.save(sparkSession(), path);
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": " + e.getMessage(), e);
      }
    }
  }

  private static final class Reader extends MLReader<SsmNetForecasterModel> {
    @Override
    public SsmNetForecasterModel load(String path) {
      DefaultParamsReader.Metadata metadata = DefaultParamsReader$.MODULE$.loadMetadata(path, sparkSession(),
          SsmNetForecasterModel.class.getName());
      NetForecasterData data;
      try {
        data = NetForecasterData.load(sparkSession(), path);
      } catch (IOException e) {
        throw new UncheckedIOException(path + ": " + e.getMessage(), e);
      }
      SsmNetForecasterModel model = new SsmNetForecasterModel(metadata.uid(), data);
      metadata.getAndSetParams(model, scala.Option.empty());
      return model;
    }
  }
}
