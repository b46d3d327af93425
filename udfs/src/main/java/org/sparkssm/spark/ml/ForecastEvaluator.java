package org.sparkssm.spark.ml;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.evaluation.Evaluator;
import org.apache.spark.ml.param.DoubleParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.Checks;
import org.sparkssm.spark.forecast.SsmForecast;

/**
 * Scores point forecasts and prediction intervals in long format, one row per forecast value, as
 * {@link SsmBacktest.Result#predictions()} and {@link SsmForecasterModel#predictWindows} give them
 * (the default columns are theirs: {@code actual}, {@code forecast}, {@code naive}, and
 * {@code forecast_lo_80}/{@code forecast_hi_80} for level 0.8):
 *
 * <pre>{@code
 * SsmBacktest.Result r = SsmBacktest.of(forecaster).nWindows(4).run(df);
 * double mase = new ForecastEvaluator().setMetricName("mase").evaluate(r.predictions());
 * }</pre>
 *
 * <h2>Metrics</h2>
 * Over the n rows, with y the label, ŷ the prediction:
 * <ul>
 *   <li>{@code mse}: {@code Σ (y - ŷ)² / n}; {@code rmse} its square root; {@code mae}: {@code Σ |y - ŷ| / n}.
 *   <li>{@code mase}: {@code Σ |y - ŷ| / Σ |y - naive|}, the MAE of the forecast over the MAE of the
 *       naive forecast (the series' last observed value before the forecast origin, repeated) on the
 *       same rows. Hyndman and Koehler's MASE scales by the in-sample one-step naive error instead;
 *       an evaluator sees only the predictions, not the history, so the scale here is the naive
 *       forecast's error on the scored rows (a relative MAE). Below 1: better than the naive forecast.
 *       {@link SsmBacktest.Result#predictions()} has the {@code naive} column; for
 *       {@code predictWindows} output, join a {@code naive} model's {@code predictWindows} (README).
 *   <li>{@code coverage}: the fraction of rows with {@code lo ≤ y ≤ hi}, reading the interval columns
 *       of {@link #intervalLevel} ({@code <predictionCol>_lo_80}, {@code <predictionCol>_hi_80} for
 *       0.8), as {@link SsmForecaster#intervalLevels} names them.
 * </ul>
 *
 * <h2>No silent NaN</h2>
 * A missing or non-numeric column fails before any job, naming its param; a null, NaN or infinite
 * value in a column the metric reads, an empty input, or a naive forecast without error (MASE
 * undefined) fails after the one aggregation pass, naming the column and counting the bad rows.
 *
 * <h2>isLargerBetter</h2>
 * False for every metric, coverage included. MLlib's tuners ({@code CrossValidator},
 * {@code TrainValidationSplit}) use it to pick a model; coverage has no better direction (its
 * target is the nominal level), and maximising it would reward the widest intervals, which
 * conformal calibration gives the least accurate models. Use coverage to check calibration, and
 * mse, mae or mase to select.
 */
public final class ForecastEvaluator extends Evaluator implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  /** The metric names, in the order of {@link #metricName}'s doc. */
  public static final String[] METRICS = {"mse", "mae", "rmse", "mase", "coverage"};

  private final String uid;
  private final Param<String> labelCol;
  private final Param<String> predictionCol;
  private final Param<String> metricName;
  private final Param<String> naiveCol;
  private final DoubleParam intervalLevel;

  public ForecastEvaluator() {
    this(Identifiable$.MODULE$.randomUID("forecastEvaluator"));
  }

  public ForecastEvaluator(String uid) {
    this.uid = uid;
    labelCol = new Param<>(this, "labelCol", "column of the actual values");
    predictionCol = new Param<>(this, "predictionCol", "column of the point forecasts; the interval columns are "
        + "named after it");
    metricName = new Param<>(this, "metricName", "metric: mse, mae, rmse, mase (MAE over the naive forecast's MAE "
        + "on the same rows) or coverage (fraction of actuals inside the intervals of intervalLevel)",
        ParamValidators.inArray(METRICS));
    naiveCol = new Param<>(this, "naiveCol", "column of the naive forecast (the last observed value repeated) that "
        + "scales mase");
    intervalLevel = new DoubleParam(this, "intervalLevel", "coverage: the level in (0, 1) of the intervals to score, "
        + "e.g. 0.8 for <predictionCol>_lo_80 and <predictionCol>_hi_80 (no default)",
        ParamValidators.inRange(0, 1, false, false));
    // The output names of SsmForecasterModel.predictWindows and SsmBacktest.Result.predictions.
    setDefault(labelCol, SsmForecast.ACTUAL);
    setDefault(predictionCol, SsmForecast.FORECAST);
    setDefault(metricName, "mse");
    setDefault(naiveCol, "naive");
  }

  @Override
  public String uid() {
    return uid;
  }

  public Param<String> labelCol() {
    return labelCol;
  }

  public Param<String> predictionCol() {
    return predictionCol;
  }

  public Param<String> metricName() {
    return metricName;
  }

  public Param<String> naiveCol() {
    return naiveCol;
  }

  public DoubleParam intervalLevel() {
    return intervalLevel;
  }

  public ForecastEvaluator setLabelCol(String value) {
    set(labelCol, value);
    return this;
  }

  public ForecastEvaluator setPredictionCol(String value) {
    set(predictionCol, value);
    return this;
  }

  public ForecastEvaluator setMetricName(String value) {
    set(metricName, value);
    return this;
  }

  public ForecastEvaluator setNaiveCol(String value) {
    set(naiveCol, value);
    return this;
  }

  public ForecastEvaluator setIntervalLevel(double value) {
    set(intervalLevel, value);
    return this;
  }

  /** See the class Javadoc: no metric here has a better direction a tuner could safely maximise. */
  @Override
  public boolean isLargerBetter() {
    return false;
  }

  /** The columns the metric reads, each with the param that names it (for the error messages). */
  private List<String[]> inputs() {
    List<String[]> in = new ArrayList<>();
    in.add(new String[] {"labelCol", getOrDefault(labelCol)});
    String prediction = getOrDefault(predictionCol);
    switch (getOrDefault(metricName)) {
      case "coverage":
        if (!isDefined(intervalLevel)) {
          Checks.fail("intervalLevel: expected a level for metricName coverage (e.g. 0.8 for %s_lo_80 and %s_hi_80), "
              + "got none", prediction, prediction);
        }
        double fraction = (Double) getOrDefault(intervalLevel);
        String level = "intervalLevel " + getOrDefault(intervalLevel);
        in.add(new String[] {level + ", lower bound",
            SsmForecast.intervalColumn(prediction, SsmForecast.LOWER, fraction)});
        in.add(new String[] {level + ", upper bound",
            SsmForecast.intervalColumn(prediction, SsmForecast.UPPER, fraction)});
        break;
      case "mase":
        in.add(new String[] {"predictionCol", prediction});
        in.add(new String[] {"naiveCol", getOrDefault(naiveCol)});
        break;
      default:
        in.add(new String[] {"predictionCol", prediction});
    }
    return in;
  }

  /** Every column the metric reads exists and is numeric: checked on the schema, before any job. */
  private static void requireNumeric(StructType schema, List<String[]> inputs) {
    List<String> names = Arrays.asList(schema.fieldNames());
    for (String[] in : inputs) {
      if (!names.contains(in[1])) {
        Checks.fail("%s '%s': expected a column of the input, got none among %s", in[0], in[1], names);
      }
      if (!(schema.apply(in[1]).dataType() instanceof NumericType)) {
        Checks.fail("%s '%s': expected a numeric column, got %s", in[0], in[1],
            schema.apply(in[1]).dataType().simpleString());
      }
    }
  }

  private static Column asDouble(String name) {
    return col(name).cast(DataTypes.DoubleType);
  }

  private static Column ifTrue(Column condition) {
    return sum(when(condition, 1L).otherwise(0L));
  }

  @Override
  public double evaluate(Dataset<?> dataset) {
    List<String[]> inputs = inputs();
    requireNumeric(dataset.schema(), inputs);
    String metric = getOrDefault(metricName);
    // One pass: the row count, the bad values of every column read, then the metric's sums.
    List<Column> aggregates = new ArrayList<>();
    aggregates.add(count(lit(1)));
    for (String[] in : inputs) {
      Column v = asDouble(in[1]);
      aggregates.add(ifTrue(v.isNull().or(functions.isnan(v)).or(abs(v).equalTo(Double.POSITIVE_INFINITY))));
    }
    Column y = asDouble(inputs.get(0)[1]);
    Column second = asDouble(inputs.get(1)[1]);
    switch (metric) {
      case "coverage":
        Column hi = asDouble(inputs.get(2)[1]);
        aggregates.add(ifTrue(y.geq(second).and(y.leq(hi))));
        break;
      case "mase":
        aggregates.add(sum(abs(y.minus(second))));
        aggregates.add(sum(abs(y.minus(asDouble(inputs.get(2)[1])))));
        break;
      case "mae":
        aggregates.add(sum(abs(y.minus(second))));
        break;
      default: // mse, rmse
        Column error = y.minus(second);
        aggregates.add(sum(error.multiply(error)));
    }
    Row r = dataset.toDF().agg(aggregates.get(0), aggregates.subList(1, aggregates.size()).toArray(new Column[0]))
        .first();
    long n = r.getLong(0);
    if (n == 0) {
      Checks.fail("input: expected at least one row to score (metricName %s), got none", metric);
    }
    for (int i = 0; i < inputs.size(); i++) {
      long bad = r.getLong(1 + i);
      if (bad > 0) {
        Checks.fail("%s '%s': expected no null, NaN or infinite values, got %d of %d rows", inputs.get(i)[0],
            inputs.get(i)[1], bad, n);
      }
    }
    int at = 1 + inputs.size();
    switch (metric) {
      case "coverage":
        return r.getLong(at) / (double) n;
      case "mase":
        double naiveError = r.getDouble(at + 1);
        if (naiveError == 0) {
          Checks.fail("naiveCol '%s': expected a naive forecast with some error, got every %s equal to it (MASE "
              + "undefined)", inputs.get(2)[1], inputs.get(0)[1]);
        }
        return r.getDouble(at) / naiveError;
      case "mae":
        return r.getDouble(at) / n;
      case "rmse":
        return Math.sqrt(r.getDouble(at) / n);
      default:
        return r.getDouble(at) / n;
    }
  }

  @Override
  public ForecastEvaluator copy(ParamMap extra) {
    return (ForecastEvaluator) defaultCopy(extra);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "ForecastEvaluator: uid=%s, metricName=%s", uid, getOrDefault(metricName));
  }

  public static MLReader<ForecastEvaluator> read() {
    return new DefaultParamsReader<>();
  }

  public static ForecastEvaluator load(String path) {
    return read().load(path);
  }
}
