package org.sparkssm.spark.ml;

import org.apache.spark.ml.Estimator;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.WindowSplit;

/**
 * Fits one of the forecast job's forecasters over many series in long format
 * ({@link SsmForecast}: one distributed pass of ridge sufficient statistics, the penalty chosen on
 * each series' last {@link #validationRows} rows):
 *
 * <pre>{@code
 * SsmForecasterModel m = new SsmForecaster().setModel("ssm").setLookback(96).setHorizon(24)
 *     .setIntervalLevels(new double[] {0.8, 0.95}).fit(train);
 * Dataset<Row> future = m.transform(history);  // unique_id, ds, step, forecast, forecast_lo_80, ...
 * }</pre>
 *
 * <h2>Prediction intervals</h2>
 * With {@link #intervalLevels}, the model carries split-conformal intervals: after the fit, every
 * validation window (targets in the last {@link #validationRows} rows of a series, none seen by the
 * ridge solve) is forecast, and for each step k the absolute errors {@code |y - ŷ|} of the n
 * windows are sorted; the interval at level α is {@code ŷ ± r_k}, with {@code r_k} the
 * {@code ⌈(n + 1) α⌉}-th smallest error at step k. Under exchangeable windows this covers with
 * probability at least α (Vovk et al.; Stankeviciute et al. 2021 apply it per horizon step).
 * Windows of one series overlap and are not exchangeable in time, so coverage is approximate on
 * real series; the tests check it on generated stationary data. The penalty is chosen on the same
 * windows, which makes the intervals very slightly optimistic. A level needing more windows than
 * there are ({@code ⌈(n + 1) α⌉ > n}) fails the fit naming the level.
 */
public final class SsmForecaster extends Estimator<SsmForecasterModel> implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final ForecasterParams p;

  public SsmForecaster() {
    this(Identifiable$.MODULE$.randomUID("ssmForecaster"));
  }

  public SsmForecaster(String uid) {
    this.uid = uid;
    this.p = new ForecasterParams(this);
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

  public SsmForecaster setSeriesCol(String value) {
    set(p.seriesCol, value);
    return this;
  }

  public SsmForecaster setTimeCol(String value) {
    set(p.timeCol, value);
    return this;
  }

  public SsmForecaster setValueCol(String value) {
    set(p.valueCol, value);
    return this;
  }

  public SsmForecaster setModel(String value) {
    set(p.model, value);
    return this;
  }

  public SsmForecaster setLookback(int value) {
    set(p.lookback, value);
    return this;
  }

  public SsmForecaster setHorizon(int value) {
    set(p.horizon, value);
    return this;
  }

  public SsmForecaster setValidationRows(int value) {
    set(p.validationRows, value);
    return this;
  }

  public SsmForecaster setLambdas(double[] value) {
    set(p.lambdas, value);
    return this;
  }

  public SsmForecaster setIntervalLevels(double[] value) {
    set(p.intervalLevels, value);
    return this;
  }

  public SsmForecaster setStepCol(String value) {
    set(p.stepCol, value);
    return this;
  }

  public SsmForecaster setPredictionCol(String value) {
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

  public SsmForecaster setFreq(String value) {
    set(p.freq, value);
    return this;
  }

  public SsmForecaster setFill(String value) {
    set(p.fill, value);
    return this;
  }

  public SsmForecaster setMaxGap(int value) {
    set(p.maxGap, value);
    return this;
  }

  @Override
  public StructType transformSchema(StructType schema) {
    return p.validateAndTransformSchema(schema);
  }

  @Override
  public SsmForecasterModel fit(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    @SuppressWarnings("unchecked")
    Dataset<Row> df = (Dataset<Row>) dataset.toDF();
    int validation = p.resolvedValidationRows();
    SsmForecast.Fitted fitted = SsmForecast.on(df).series(p.get(p.seriesCol)).time(p.get(p.timeCol))
        .value(p.get(p.valueCol)).model(p.get(p.model)).lookback(p.getInt(p.lookback)).horizon(p.getInt(p.horizon))
        .split(WindowSplit.lastRows(validation, 0)).lambdas(p.getDoubles(p.lambdas)).grid(p.grid(df)).fit();
    return modelOf(fitted, df);
  }

  /**
   * The model of a forecaster fitted with these params elsewhere (the forecast job fits before its
   * holdout), its intervals calibrated on the windows whose targets lie in each series' last
   * {@link #validationRows} steps, none of which the ridge solve saw.
   */
  public SsmForecasterModel modelOf(SsmForecast.Fitted fitted, Dataset<Row> df) {
    int validation = p.resolvedValidationRows();
    double[][] halfWidths = ConformalIntervals.halfWidths(fitted.withSplit(WindowSplit.lastRows(0, validation)), df,
        p.getDoubles(p.intervalLevels));
    SsmForecasterModel model = new SsmForecasterModel(uid, ForecasterData.of(fitted, p.getInt(p.lookback),
        df.schema().apply(p.get(p.timeCol)).dataType(), p.getDoubles(p.intervalLevels), halfWidths));
    copyValues(model, extractParamMap());
    return (SsmForecasterModel) model.setParent(this);
  }

  ForecasterParams forecasterParams() {
    return p;
  }

  @Override
  public SsmForecaster copy(ParamMap extra) {
    return (SsmForecaster) defaultCopy(extra);
  }

  public static MLReader<SsmForecaster> read() {
    return new DefaultParamsReader<>();
  }

  public static SsmForecaster load(String path) {
    return read().load(path);
  }
}
