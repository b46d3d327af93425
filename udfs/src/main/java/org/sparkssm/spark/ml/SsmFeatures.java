package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.col;

import java.util.Arrays;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.LongParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.StringArrayParam;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.init.ModelSpec;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.scan.SsmScan;

/**
 * Scans each series with an SSM and emits its hidden state as an ML vector, ready for any MLlib
 * estimator: at every step ({@code seriesCol, timeCol, outputCol}) or, with {@link #lastStepOnly},
 * once per series at its last step.
 *
 * <pre>{@code
 * SsmFeatures features = new SsmFeatures().setInputCols(new String[] {"y"})
 *     .setModel("legt").setStateSize(16).setTheta(96);
 * Dataset<Row> states = features.transform(df);   // unique_id, ds, ssm_state: vector
 * }</pre>
 *
 * The model is a {@link ModelSpec} described by params ({@link #model}, {@link #stateSize},
 * {@link #dt}, {@link #theta}, {@link #discretization}, {@link #seed} for LRU), one copy per
 * input column; the scan is {@link SsmScan}'s (chunked, carried state, missing-value and
 * duplicate-time policies as documented there). A streaming input is scanned with the state in
 * Spark's state store (every step only: the last step of an unbounded series does not exist).
 */
public final class SsmFeatures extends Transformer implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> seriesCol;
  private final Param<String> timeCol;
  private final StringArrayParam inputCols;
  private final Param<String> outputCol;
  private final Param<String> model;
  private final IntParam stateSize;
  private final DoubleParam dt;
  private final DoubleParam theta;
  private final Param<String> discretization;
  private final LongParam seed;
  private final IntParam chunkRows;
  private final BooleanParam lastStepOnly;

  public SsmFeatures() {
    this(Identifiable$.MODULE$.randomUID("ssmFeatures"));
  }

  public SsmFeatures(String uid) {
    this.uid = uid;
    seriesCol = new Param<>(this, "seriesCol", "series key column");
    timeCol = new Param<>(this, "timeCol", "time column (timestamp, timestamp_ntz, date, long or int)");
    inputCols = new StringArrayParam(this, "inputCols", "numeric value columns, one model input channel each",
        StageParams.nonEmptyArray());
    outputCol = new Param<>(this, "outputCol", "output column of the hidden state vectors");
    model = new Param<>(this, "model", "SSM: " + ModelSpec.DESCRIPTION, ParamValidators.inArray(ModelSpec.Kind.labels()));
    stateSize = new IntParam(this, "stateSize", "state size N per channel (even for S4D)", ParamValidators.gtEq(1));
    dt = new DoubleParam(this, "dt", "S4D step size per row", ParamValidators.gt(0));
    theta = new DoubleParam(this, "theta", "HiPPO time scale in rows", ParamValidators.gt(0));
    discretization = new Param<>(this, "discretization",
        "zoh or bilinear; empty for the model's default (zoh for S4D, bilinear for HiPPO)",
        ParamValidators.inArray(new String[] {"", "zoh", "bilinear"}));
    seed = new LongParam(this, "seed", "LRU: seed of the random B, C and D");
    chunkRows = new IntParam(this, "chunkRows", "rows per scan chunk (off-heap buffer and kernel call)",
        ParamValidators.gtEq(1));
    lastStepOnly = new BooleanParam(this, "lastStepOnly", "emit one row per series, the state at its last step");
    setDefault(seriesCol, SsmScan.DEFAULT_SERIES);
    setDefault(timeCol, SsmScan.DEFAULT_TIME);
    setDefault(inputCols, new String[] {SsmScan.DEFAULT_VALUE});
    setDefault(outputCol, "ssm_state");
    setDefault(model, "legt");
    setDefault(stateSize, 16);
    setDefault(dt, 0.01);
    setDefault(theta, 100.0);
    setDefault(discretization, "");
    setDefault(seed, 0L);
    setDefault(chunkRows, 8192);
    setDefault(lastStepOnly, false);
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> seriesCol() {
    return seriesCol;
  }

  public Param<String> timeCol() {
    return timeCol;
  }

  public StringArrayParam inputCols() {
    return inputCols;
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public Param<String> model() {
    return model;
  }

  public IntParam stateSize() {
    return stateSize;
  }

  public DoubleParam dt() {
    return dt;
  }

  public DoubleParam theta() {
    return theta;
  }

  public Param<String> discretization() {
    return discretization;
  }

  public LongParam seed() {
    return seed;
  }

  public IntParam chunkRows() {
    return chunkRows;
  }

  public BooleanParam lastStepOnly() {
    return lastStepOnly;
  }

  public SsmFeatures setSeriesCol(String value) {
    set(seriesCol, value);
    return this;
  }

  public SsmFeatures setTimeCol(String value) {
    set(timeCol, value);
    return this;
  }

  public SsmFeatures setInputCols(String[] value) {
    set(inputCols, value);
    return this;
  }

  public SsmFeatures setOutputCol(String value) {
    set(outputCol, value);
    return this;
  }

  public SsmFeatures setModel(String value) {
    set(model, value);
    return this;
  }

  public SsmFeatures setStateSize(int value) {
    set(stateSize, value);
    return this;
  }

  public SsmFeatures setDt(double value) {
    set(dt, value);
    return this;
  }

  public SsmFeatures setTheta(double value) {
    set(theta, value);
    return this;
  }

  public SsmFeatures setDiscretization(String value) {
    set(discretization, value);
    return this;
  }

  public SsmFeatures setSeed(long value) {
    set(seed, value);
    return this;
  }

  public SsmFeatures setChunkRows(int value) {
    set(chunkRows, value);
    return this;
  }

  public SsmFeatures setLastStepOnly(boolean value) {
    set(lastStepOnly, value);
    return this;
  }

  /** The scan model the params describe; throws naming the param on a bad combination (e.g. odd S4D N). */
  public ScanModel scanModel() {
    ModelSpec spec = ModelSpec.of(getOrDefault(model)).withState((Integer) getOrDefault(stateSize))
        .withDt((Double) getOrDefault(dt)).withTheta((Double) getOrDefault(theta))
        .withDiscretization(getOrDefault(discretization)).withLru(0.9, 0.999, Math.PI / 10, (Long) getOrDefault(seed));
    try {
      return spec.build(getOrDefault(inputCols).length, false);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(uid + ": " + e.getMessage(), e);
    }
  }

  private SsmScan scan(Dataset<?> dataset) {
    @SuppressWarnings("unchecked")
    Dataset<Row> df = (Dataset<Row>) dataset.toDF();
    return SsmScan.on(df).series(getOrDefault(seriesCol)).time(getOrDefault(timeCol)).values(getOrDefault(inputCols))
        .model(scanModel()).chunkRows((Integer) getOrDefault(chunkRows)).withState(getOrDefault(outputCol));
  }

  @Override
  public StructType transformSchema(StructType schema) {
    String out = getOrDefault(outputCol);
    if (Arrays.asList(schema.fieldNames()).contains(out)) {
      throw new IllegalArgumentException(String.format("outputCol '%s': expected a new column, got one of the input",
          out));
    }
    StageParams.requireColumns(schema, getOrDefault(seriesCol), getOrDefault(timeCol), getOrDefault(inputCols));
    scanModel(); // a bad combination of model params fails here, before any job
    StructField series = schema.apply(getOrDefault(seriesCol));
    StructField time = schema.apply(getOrDefault(timeCol));
    return new StructType(new StructField[] {
        DataTypes.createStructField(series.name(), series.dataType(), true),
        DataTypes.createStructField(time.name(), time.dataType(), true),
        DataTypes.createStructField(out, SQLDataTypes.VectorType(), true)});
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    transformSchema(dataset.schema(), true);
    boolean last = (Boolean) getOrDefault(lastStepOnly);
    if (last && dataset.isStreaming()) {
      throw new IllegalArgumentException("lastStepOnly: expected a batch input (a stream's series have no last "
          + "step), got a streaming DataFrame");
    }
    String series = getOrDefault(seriesCol);
    String time = getOrDefault(timeCol);
    String out = getOrDefault(outputCol);
    Dataset<Row> scanned = scan(dataset).run().select(col(series), col(time), col(out));
    if (!last) {
      return scanned;
    }
    // The row of each series' greatest time: max_by over the struct keeps time and state together.
    Column row = functions.struct(col(time), col(out));
    return scanned.groupBy(col(series)).agg(functions.max_by(row, col(time)).as("__last"))
        .select(col(series), col("__last." + time).as(time), col("__last." + out).as(out));
  }

  @Override
  public SsmFeatures copy(ParamMap extra) {
    return (SsmFeatures) defaultCopy(extra);
  }

  public static MLReader<SsmFeatures> read() {
    return new DefaultParamsReader<>();
  }

  public static SsmFeatures load(String path) {
    return read().load(path);
  }
}
