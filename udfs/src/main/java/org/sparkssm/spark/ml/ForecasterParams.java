package org.sparkssm.spark.ml;

import java.util.Arrays;
import java.util.Locale;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.param.Params;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.RidgeStats;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.TimeGrid;
import org.sparkssm.spark.scan.SsmScan;
import scala.runtime.AbstractFunction1;

/**
 * The params {@link SsmForecaster} and {@link SsmForecasterModel} share (MLlib's {@code ...Params}
 * trait): created for one owner, whose uid they carry, with their validators and defaults. The
 * trained forecasters' stages extend them ({@link NetForecasterParams}).
 */
class ForecasterParams {
  final Param<String> seriesCol;
  final Param<String> timeCol;
  final Param<String> valueCol;
  final Param<String> model;
  final IntParam lookback;
  final IntParam horizon;
  final IntParam validationRows;
  final DoubleArrayParam lambdas;
  final DoubleArrayParam intervalLevels;
  final Param<String> stepCol;
  final Param<String> predictionCol;
  final Param<String> freq;
  final Param<String> fill;
  final IntParam maxGap;
  private final Params owner;

  ForecasterParams(Params owner) {
    this(owner, new Param<>(owner, "model", "forecaster: " + String.join(", ", ForecastModels.NAMES)
        + ", with :N for the state size where it has one (e.g. legt:64)", new ModelNameValidator()));
  }

  /** The params with another {@code model} param (its names and validator). */
  ForecasterParams(Params owner, Param<String> model) {
    this.owner = owner;
    this.model = model;
    seriesCol = new Param<>(owner, "seriesCol", "series key column");
    timeCol = new Param<>(owner, "timeCol", "time column (timestamp, timestamp_ntz, date, long or int)");
    valueCol = new Param<>(owner, "valueCol", "numeric value column to forecast");
    lookback = new IntParam(owner, "lookback", "L, rows of history each forecast reads", ParamValidators.gtEq(1));
    horizon = new IntParam(owner, "horizon", "H, rows forecast ahead", ParamValidators.gtEq(1));
    validationRows = new IntParam(owner, "validationRows", "rows at the end of each series whose windows choose "
        + "the ridge penalty and calibrate the intervals (-1: H, one window per series)", ParamValidators.gtEq(-1));
    lambdas = new DoubleArrayParam(owner, "lambdas", "ridge penalties relative to the training windows, the "
        + "validation windows choose one", StageParams.nonEmptyNonNegative());
    intervalLevels = new DoubleArrayParam(owner, "intervalLevels", "coverage levels in (0, 1) of split-conformal "
        + "prediction intervals, e.g. [0.8, 0.95] (none by default)", StageParams.eachInOpenUnitInterval());
    stepCol = new Param<>(owner, "stepCol", "output column of the forecast step, 1..H");
    predictionCol = new Param<>(owner, "predictionCol", "output column of the point forecast");
    freq = new Param<>(owner, "freq", "time step of every series: rows (each row is the next step, whatever its "
        + "time), auto (the most common gap between consecutive times), a duration such as 1h or 15min for "
        + "timestamps and dates, or a number for integer times; a time off the grid fails naming the series",
        new Accepts(v -> TimeGrid.checkFreq("freq", v)));
    fill = new Param<>(owner, "fill", "fills a run of at most maxGap missing steps (absent grid times, null, NaN or "
        + "infinite values) between two present values: none, ffill, linear or zero; longer runs and runs at a "
        + "series' end stay missing and no window containing one is fitted or forecast from",
        new Accepts(TimeGrid.Fill::parse));
    maxGap = new IntParam(owner, "maxGap", "longest run of missing steps fill fills",
        ParamValidators.inRange(0, TimeGrid.MAX_GAP));
  }

  void setDefaults(DefaultSetter setter) {
    setDefaults(setter, "ssm");
  }

  void setDefaults(DefaultSetter setter, String defaultModel) {
    setter.set(seriesCol, SsmScan.DEFAULT_SERIES);
    setter.set(timeCol, SsmScan.DEFAULT_TIME);
    setter.set(valueCol, SsmScan.DEFAULT_VALUE);
    setter.set(model, defaultModel);
    setter.set(lookback, 96);
    setter.set(horizon, 24);
    setter.set(validationRows, -1);
    setter.set(lambdas, RidgeStats.DEFAULT_LAMBDAS.clone());
    setter.set(intervalLevels, new double[0]);
    setter.set(stepCol, SsmForecast.STEP);
    setter.set(predictionCol, SsmForecast.FORECAST);
    setter.set(freq, TimeGrid.ROWS_FREQ);
    setter.set(fill, "none");
    setter.set(maxGap, 3);
  }

  /** {@code Params.setDefault}, which is protected: each owner passes its own. */
  interface DefaultSetter {
    <T> void set(Param<T> param, T value);
  }

  long getLong(org.apache.spark.ml.param.LongParam p) {
    return (Long) owner.getOrDefault(p);
  }

  double getDouble(org.apache.spark.ml.param.DoubleParam p) {
    return (Double) owner.getOrDefault(p);
  }

  boolean getBoolean(org.apache.spark.ml.param.BooleanParam p) {
    return (Boolean) owner.getOrDefault(p);
  }

  String get(Param<String> p) {
    return owner.getOrDefault(p);
  }

  int getInt(IntParam p) {
    return (Integer) owner.getOrDefault(p);
  }

  double[] getDoubles(DoubleArrayParam p) {
    return owner.getOrDefault(p);
  }

  /** Validation rows per series, with -1 resolved to H. */
  int resolvedValidationRows() {
    int v = getInt(validationRows);
    return v < 0 ? getInt(horizon) : v;
  }

  /** The interval columns: {@code <prediction>_lo_80}, {@code <prediction>_hi_80} per level (80 for 0.8). */
  String[] intervalColumns(String bound) {
    double[] levels = getDoubles(intervalLevels);
    String[] names = new String[levels.length];
    for (int i = 0; i < levels.length; i++) {
      names[i] = SsmForecast.intervalColumn(get(predictionCol), bound, levels[i]);
    }
    return names;
  }

  /** Checks the input columns and returns the forecast schema (series, time, step, forecast, intervals). */
  StructType validateAndTransformSchema(StructType schema) {
    StageParams.requireColumns(schema, get(seriesCol), get(timeCol), get(valueCol));
    StructField series = schema.apply(get(seriesCol));
    StructField time = schema.apply(get(timeCol));
    StructType out = new StructType().add(series.name(), series.dataType(), true).add(time.name(), time.dataType(), true)
        .add(get(stepCol), DataTypes.IntegerType, true).add(get(predictionCol), DataTypes.DoubleType, true);
    String[] lo = intervalColumns(SsmForecast.LOWER);
    String[] hi = intervalColumns(SsmForecast.UPPER);
    for (int i = 0; i < lo.length; i++) {
      out = out.add(lo[i], DataTypes.DoubleType, true).add(hi[i], DataTypes.DoubleType, true);
    }
    long distinct = Arrays.stream(out.fieldNames()).distinct().count();
    if (distinct != out.fieldNames().length) {
      throw new IllegalArgumentException("output columns: expected distinct names, got " + Arrays.toString(
          out.fieldNames()));
    }
    return out;
  }

  /**
   * A fitted model's schema check: the input's columns (as {@link #validateAndTransformSchema}), the
   * interval levels it was fitted with and the time type it was fitted on.
   */
  StructType validateFitted(StructType schema, String uid, boolean fitted, double[] levels,
      org.apache.spark.sql.types.DataType timeType) {
    if (!fitted) {
      throw new IllegalStateException(uid + ": expected a fitted model (from fit or load), got an unfitted one");
    }
    StructType out = validateAndTransformSchema(schema);
    if (levels.length != getDoubles(intervalLevels).length) {
      throw new IllegalArgumentException(String.format("intervalLevels: expected the %d levels the model was fitted "
          + "with, got %d", levels.length, getDoubles(intervalLevels).length));
    }
    org.apache.spark.sql.types.DataType time = schema.apply(get(timeCol)).dataType();
    if (!time.sameType(timeType)) {
      throw new IllegalArgumentException(String.format("timeCol '%s': expected %s, the type the model was fitted on, "
          + "got %s", get(timeCol), timeType.simpleString(), time.simpleString()));
    }
    return out;
  }

  /** Renames a forecast's step and forecast columns to the params' and adds {@code forecast ∓ half-width[step]} per level. */
  org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> withIntervals(
      org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> forecasts, double[][] halfWidths) {
    String[] lo = intervalColumns(SsmForecast.LOWER);
    String[] hi = intervalColumns(SsmForecast.UPPER);
    org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> out = forecasts;
    org.apache.spark.sql.Column prediction = org.apache.spark.sql.functions.col(get(predictionCol));
    org.apache.spark.sql.Column step = org.apache.spark.sql.functions.col(get(stepCol));
    for (int i = 0; i < lo.length; i++) {
      org.apache.spark.sql.Column width = org.apache.spark.sql.functions.element_at(
          org.apache.spark.sql.functions.lit(halfWidths[i]), step);
      out = out.withColumn(lo[i], prediction.minus(width)).withColumn(hi[i], prediction.plus(width));
    }
    return out;
  }

  /** The grid of {@code df} these params name (resolving {@code freq = auto} reads the data). */
  TimeGrid grid(org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> df) {
    long step = TimeGrid.step(df, get(seriesCol), get(timeCol), get(freq), "freq");
    return new TimeGrid(step, TimeGrid.Fill.parse(get(fill)), getInt(maxGap));
  }

  /** A param validator from a check that throws on a bad value. */
  static final class Accepts extends AbstractFunction1<String, Object> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final SerializableCheck check;

    Accepts(SerializableCheck check) {
      this.check = check;
    }

    @Override
    public Object apply(String value) {
      try {
        check.accept(value);
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }
  }

  /** A serializable check (params are serialized with their stage). */
  interface SerializableCheck extends java.io.Serializable {
    void accept(String value);
  }

  /** Accepts the names {@link ForecastModels#features} accepts. */
  private static final class ModelNameValidator extends AbstractFunction1<String, Object> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public Object apply(String name) {
      try {
        ForecastModels.features(name.toLowerCase(Locale.ROOT), 8);
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }
  }
}
