package org.sparkssm.spark.ml;

import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.spark.forecast.NetTraining;
import org.sparkssm.spark.forecast.WindowSplit;
import org.sparkssm.train.Trainer;

/**
 * Trains one deep SSM forecaster over every series of a long-format table, data-parallel on the
 * executors ({@link NetTraining}: windows built and cached where the data is, a Spark job per
 * optimizer step, gradients summed in partition order, deterministic for a seed and
 * {@link #numPartitions}, checkpoints every epoch with exact resume):
 *
 * <pre>{@code
 * SsmNetForecasterModel m = new SsmNetForecaster().setModel("s4dnet").setLookback(96).setHorizon(24)
 *     .setValidationRows(96).setEpochs(10).setIntervalLevels(new double[] {0.9}).fit(train);
 * Dataset<Row> future = m.transform(history);  // unique_id, ds, step, forecast, forecast_lo_90, ...
 * }</pre>
 *
 * Each series is one channel of one window (the networks are channel-independent over series);
 * the training windows' targets lie before each series' last {@link #validationRows} rows, whose
 * windows choose the best epoch (early stopping) and calibrate the split-conformal intervals as in
 * {@link SsmForecaster}. Windows with a missing step are left out (counted in the model's
 * {@link SsmNetForecasterModel#skippedWindows}), never trained on.
 */
public final class SsmNetForecaster extends Estimator<SsmNetForecasterModel> implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final NetForecasterParams p;

  public SsmNetForecaster() {
    this(Identifiable$.MODULE$.randomUID("ssmNetForecaster"));
  }

  public SsmNetForecaster(String uid) {
    this.uid = uid;
    this.p = new NetForecasterParams(this);
    p.setDefaults(this::setDefault);
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> seriesCol() {
    return p.seriesCol;
  }

  public SsmNetForecaster setSeriesCol(String value) {
    set(p.seriesCol, value);
    return this;
  }

  public Param<String> timeCol() {
    return p.timeCol;
  }

  public SsmNetForecaster setTimeCol(String value) {
    set(p.timeCol, value);
    return this;
  }

  public Param<String> valueCol() {
    return p.valueCol;
  }

  public SsmNetForecaster setValueCol(String value) {
    set(p.valueCol, value);
    return this;
  }

  public Param<String> model() {
    return p.model;
  }

  public SsmNetForecaster setModel(String value) {
    set(p.model, value);
    return this;
  }

  public IntParam lookback() {
    return p.lookback;
  }

  public SsmNetForecaster setLookback(int value) {
    set(p.lookback, value);
    return this;
  }

  public IntParam horizon() {
    return p.horizon;
  }

  public SsmNetForecaster setHorizon(int value) {
    set(p.horizon, value);
    return this;
  }

  public IntParam validationRows() {
    return p.validationRows;
  }

  public SsmNetForecaster setValidationRows(int value) {
    set(p.validationRows, value);
    return this;
  }

  public DoubleArrayParam lambdas() {
    return p.lambdas;
  }

  public SsmNetForecaster setLambdas(double[] value) {
    set(p.lambdas, value);
    return this;
  }

  public DoubleArrayParam intervalLevels() {
    return p.intervalLevels;
  }

  public SsmNetForecaster setIntervalLevels(double[] value) {
    set(p.intervalLevels, value);
    return this;
  }

  public Param<String> stepCol() {
    return p.stepCol;
  }

  public SsmNetForecaster setStepCol(String value) {
    set(p.stepCol, value);
    return this;
  }

  public Param<String> predictionCol() {
    return p.predictionCol;
  }

  public SsmNetForecaster setPredictionCol(String value) {
    set(p.predictionCol, value);
    return this;
  }

  public Param<String> freq() {
    return p.freq;
  }

  public SsmNetForecaster setFreq(String value) {
    set(p.freq, value);
    return this;
  }

  public Param<String> fill() {
    return p.fill;
  }

  public SsmNetForecaster setFill(String value) {
    set(p.fill, value);
    return this;
  }

  public IntParam maxGap() {
    return p.maxGap;
  }

  public SsmNetForecaster setMaxGap(int value) {
    set(p.maxGap, value);
    return this;
  }

  public IntParam dModel() {
    return p.dModel;
  }

  public SsmNetForecaster setDModel(int value) {
    set(p.dModel, value);
    return this;
  }

  public IntParam layers() {
    return p.layers;
  }

  public SsmNetForecaster setLayers(int value) {
    set(p.layers, value);
    return this;
  }

  public IntParam dState() {
    return p.dState;
  }

  public SsmNetForecaster setDState(int value) {
    set(p.dState, value);
    return this;
  }

  public IntParam dFf() {
    return p.dFf;
  }

  public SsmNetForecaster setDFf(int value) {
    set(p.dFf, value);
    return this;
  }

  public DoubleParam dropout() {
    return p.dropout;
  }

  public SsmNetForecaster setDropout(double value) {
    set(p.dropout, value);
    return this;
  }

  public IntParam cycle() {
    return p.cycle;
  }

  public SsmNetForecaster setCycle(int value) {
    set(p.cycle, value);
    return this;
  }

  public Param<String> skip() {
    return p.skip;
  }

  public SsmNetForecaster setSkip(String value) {
    set(p.skip, value);
    return this;
  }

  public IntParam epochs() {
    return p.epochs;
  }

  public SsmNetForecaster setEpochs(int value) {
    set(p.epochs, value);
    return this;
  }

  public IntParam batchSize() {
    return p.batchSize;
  }

  public SsmNetForecaster setBatchSize(int value) {
    set(p.batchSize, value);
    return this;
  }

  public DoubleParam learningRate() {
    return p.learningRate;
  }

  public SsmNetForecaster setLearningRate(double value) {
    set(p.learningRate, value);
    return this;
  }

  public IntParam warmupSteps() {
    return p.warmupSteps;
  }

  public SsmNetForecaster setWarmupSteps(int value) {
    set(p.warmupSteps, value);
    return this;
  }

  public DoubleParam weightDecay() {
    return p.weightDecay;
  }

  public SsmNetForecaster setWeightDecay(double value) {
    set(p.weightDecay, value);
    return this;
  }

  public DoubleParam clipNorm() {
    return p.clipNorm;
  }

  public SsmNetForecaster setClipNorm(double value) {
    set(p.clipNorm, value);
    return this;
  }

  public Param<String> loss() {
    return p.loss;
  }

  public SsmNetForecaster setLoss(String value) {
    set(p.loss, value);
    return this;
  }

  public IntParam patience() {
    return p.patience;
  }

  public SsmNetForecaster setPatience(int value) {
    set(p.patience, value);
    return this;
  }

  public IntParam windowsPerEpoch() {
    return p.windowsPerEpoch;
  }

  public SsmNetForecaster setWindowsPerEpoch(int value) {
    set(p.windowsPerEpoch, value);
    return this;
  }

  public LongParam seed() {
    return p.seed;
  }

  public SsmNetForecaster setSeed(long value) {
    set(p.seed, value);
    return this;
  }

  public IntParam numPartitions() {
    return p.numPartitions;
  }

  public SsmNetForecaster setNumPartitions(int value) {
    set(p.numPartitions, value);
    return this;
  }

  public Param<String> checkpointDir() {
    return p.checkpointDir;
  }

  public SsmNetForecaster setCheckpointDir(String value) {
    set(p.checkpointDir, value);
    return this;
  }

  public BooleanParam resume() {
    return p.resume;
  }

  public SsmNetForecaster setResume(boolean value) {
    set(p.resume, value);
    return this;
  }

  public Param<String> precision() {
    return p.precision;
  }

  public SsmNetForecaster setPrecision(String value) {
    set(p.precision, value);
    return this;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return p.validateAndTransformSchema(schema);
  }

  @Override
  public SsmNetForecasterModel fit(Dataset<?> dataset) {
    return fit(dataset, new Trainer.Listener() {});
  }

  /** {@link #fit(Dataset)} reporting steps and epochs to {@code progress} (on the driver). */
  public SsmNetForecasterModel fit(Dataset<?> dataset, Trainer.Listener progress) {
    transformSchema(dataset.schema(), true);
    @SuppressWarnings("unchecked")
    Dataset<Row> df = (Dataset<Row>) dataset.toDF();
    int validation = p.resolvedValidationRows();
    String checkpoint = p.get(p.checkpointDir);
    NetTraining.Outcome o = NetTraining.on(df).series(p.get(p.seriesCol)).time(p.get(p.timeCol))
        .value(p.get(p.valueCol)).model(p.spec()).lookback(p.getInt(p.lookback)).horizon(p.getInt(p.horizon))
        .split(WindowSplit.lastRows(validation, 0)).grid(p.grid(df)).lambdas(p.getDoubles(p.lambdas))
        .config(p.config()).partitions(p.getInt(p.numPartitions)).checkpoint(checkpoint.isEmpty() ? null : checkpoint)
        .resume(p.getBoolean(p.resume)).listener(progress).fit();
    return modelOf(o, df);
  }

  /**
   * The model of a network trained with these params elsewhere (the forecast job trains before its
   * holdout), its intervals calibrated on the windows whose targets lie in each series' last
   * {@link #validationRows} steps.
   */
  public SsmNetForecasterModel modelOf(NetTraining.Outcome o, Dataset<Row> df) {
    int validation = p.resolvedValidationRows();
    double[][] halfWidths = ConformalIntervals.halfWidths(o.fitted().withSplit(WindowSplit.lastRows(0, validation)),
        df, p.getDoubles(p.intervalLevels));
    SsmNetForecasterModel model = new SsmNetForecasterModel(uid, NetForecasterData.of(o,
        df.schema().apply(p.get(p.timeCol)).dataType(), p.getDoubles(p.intervalLevels), halfWidths));
    copyValues(model, extractParamMap());
    return (SsmNetForecasterModel) model.setParent(this);
  }

  /** The network these params name. */
  public org.sparkssm.train.DeepModels network() {
    return p.spec();
  }

  /** The training these params name. */
  public org.sparkssm.train.TrainingConfig training() {
    return p.config();
  }

  ForecasterParams forecasterParams() {
    return p;
  }

  @Override
  public SsmNetForecaster copy(ParamMap extra) {
    return (SsmNetForecaster) defaultCopy(extra);
  }

  public static MLReader<SsmNetForecaster> read() {
    return new DefaultParamsReader<>();
  }

  public static SsmNetForecaster load(String path) {
    return read().load(path);
  }
}
