package org.sparkssm.spark.ml;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.RidgeSolution;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.TimeGrid;

/**
 * What a fit learned, and what {@code path/data} holds as one Parquet row: the forecaster's name,
 * L and H, its ridge weights, the fit summary and the conformal half-widths per level and step.
 * The featurization is not stored: it is rebuilt from the name and L (it has no fitted state), and
 * checked against a fingerprint saved with it (its description and the features of a probe window).
 */
final class ForecasterData implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bumped when the row's layout changes; readers accept this version and older ones they know. */
  static final int FORMAT_VERSION = 2;

  /** Probe features may differ by this much (relative) across hosts (vector widths change rounding). */
  static final double PROBE_TOLERANCE = 1e-9;

  static final StructType SCHEMA = new StructType()
      .add("format_version", DataTypes.IntegerType, false)
      .add("model", DataTypes.StringType, false)
      .add("lookback", DataTypes.IntegerType, false)
      .add("horizon", DataTypes.IntegerType, false)
      .add("features", DataTypes.IntegerType, false)
      .add("beta", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      .add("intercept", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      .add("lambda_rel", DataTypes.DoubleType, false)
      .add("train_windows", DataTypes.LongType, false)
      .add("validation_windows", DataTypes.LongType, false)
      .add("validation_mse", DataTypes.DoubleType, false)
      .add("time_type", DataTypes.StringType, false)
      .add("interval_levels", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      // Level-major: the half-width of level i at step k (1..H) at [i * H + k - 1].
      .add("interval_half_widths", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      // Version 2: the time grid and fill policy, and the featurization's fingerprint.
      .add("grid_step", DataTypes.LongType, false)
      .add("fill", DataTypes.StringType, false)
      .add("max_gap", DataTypes.IntegerType, false)
      .add("featurization", DataTypes.StringType, false)
      .add("probe_features", DataTypes.createArrayType(DataTypes.DoubleType, false), false);

  final String model;
  final LinearForecaster forecaster;
  final long trainWindows;
  final long validationWindows;
  final double validationMse;
  final DataType timeType;
  final double[] levels;
  final double[][] halfWidths; // [level][step]
  final TimeGrid grid;
  /** L as the params give it: the rows a window reads ({@code forecaster.rowsRead()}) can be more ({@code ssm}). */
  final int lookback;

  private ForecasterData(String model, int lookback, LinearForecaster forecaster, long trainWindows, long validationWindows,
      double validationMse, DataType timeType, double[] levels, double[][] halfWidths, TimeGrid grid) {
    this.model = model;
    this.lookback = lookback;
    this.forecaster = forecaster;
    this.trainWindows = trainWindows;
    this.validationWindows = validationWindows;
    this.validationMse = validationMse;
    this.timeType = timeType;
    this.levels = levels;
    this.halfWidths = halfWidths;
    this.grid = grid;
  }

  static ForecasterData of(SsmForecast.Fitted fitted, int lookback, DataType timeType, double[] levels,
      double[][] halfWidths) {
    return new ForecasterData(fitted.model(), lookback, fitted.linear(), fitted.trainWindows(), fitted.validationWindows(),
        fitted.validationMse(), timeType, levels.clone(), halfWidths, fitted.grid());
  }

  Row toRow() {
    RidgeSolution w = forecaster.weights();
    List<Double> widths = new ArrayList<>();
    for (double[] level : halfWidths) {
      widths.addAll(boxed(level));
    }
    return RowFactory.create(FORMAT_VERSION, model, lookback, forecaster.horizon(), w.features(),
        boxed(w.beta()), boxed(w.intercept()), w.lambdaRel(), trainWindows, validationWindows, validationMse,
        timeType.json(), boxed(levels), widths, grid.step(), grid.fill().name().toLowerCase(java.util.Locale.ROOT),
        grid.maxGap(), ForecastModels.describe(model, lookback), boxed(ForecastModels.probeFeatures(model, lookback)));
  }

  /** Reads the row of {@link #toRow}, naming {@code source} (the model's path) when it is not one. */
  static ForecasterData fromRow(Row r, String source) {
    int version = r.getInt(r.fieldIndex("format_version"));
    if (version != FORMAT_VERSION && version != 1) {
      throw new IllegalArgumentException(String.format("%s: expected model data format version 1 or %d, got %d "
          + "(saved by another build of spark-ssm; refit the model)", source, FORMAT_VERSION, version));
    }
    String model = r.getString(r.fieldIndex("model"));
    int lookback = r.getInt(r.fieldIndex("lookback"));
    int horizon = r.getInt(r.fieldIndex("horizon"));
    TimeGrid grid = TimeGrid.ROWS; // version 1 read rows as steps
    if (version >= 2) {
      checkFeaturization(r, source, model, lookback);
      grid = new TimeGrid(r.getLong(r.fieldIndex("grid_step")), TimeGrid.Fill.parse(r.getString(r.fieldIndex("fill"))),
          r.getInt(r.fieldIndex("max_gap")));
    }
    LinearForecaster forecaster;
    if (!ForecastModels.isFitted(model)) {
      forecaster = LinearForecaster.naive(lookback, horizon);
    } else {
      RidgeSolution w = RidgeSolution.of(r.getInt(r.fieldIndex("features")), horizon,
          unboxed(r.getList(r.fieldIndex("beta"))), unboxed(r.getList(r.fieldIndex("intercept"))),
          r.getDouble(r.fieldIndex("lambda_rel")));
      forecaster = LinearForecaster.of(ForecastModels.features(model, lookback), w);
    }
    double[] levels = unboxed(r.getList(r.fieldIndex("interval_levels")));
    double[] widths = unboxed(r.getList(r.fieldIndex("interval_half_widths")));
    if (widths.length != levels.length * horizon) {
      throw new IllegalArgumentException(String.format("%s: expected %d interval half-widths (%d levels x H = %d), "
          + "got %d", source, levels.length * horizon, levels.length, horizon, widths.length));
    }
    double[][] halfWidths = new double[levels.length][];
    for (int i = 0; i < levels.length; i++) {
      halfWidths[i] = java.util.Arrays.copyOfRange(widths, i * horizon, (i + 1) * horizon);
    }
    return new ForecasterData(model, lookback, forecaster, r.getLong(r.fieldIndex("train_windows")),
        r.getLong(r.fieldIndex("validation_windows")), r.getDouble(r.fieldIndex("validation_mse")),
        DataType.fromJson(r.getString(r.fieldIndex("time_type"))), levels, halfWidths, grid);
  }

  /**
   * Refuses a model whose featurization this build computes differently: the saved description
   * (name, L, F, rows read) and the features of the probe window must match this build's.
   */
  private static void checkFeaturization(Row r, String source, String model, int lookback) {
    String saved = r.getString(r.fieldIndex("featurization"));
    String now = ForecastModels.describe(model, lookback);
    if (!saved.equals(now)) {
      throw new IllegalArgumentException(String.format("%s: expected a model whose featurization this build "
          + "computes ('%s'), got one saved as '%s' by another build; refit the model", source, now, saved));
    }
    double[] savedProbe = unboxed(r.getList(r.fieldIndex("probe_features")));
    double[] probe = ForecastModels.probeFeatures(model, lookback);
    for (int k = 0; k < probe.length; k++) {
      double scale = Math.max(1, Math.max(Math.abs(probe[k]), Math.abs(savedProbe[k])));
      if (!(Math.abs(probe[k] - savedProbe[k]) <= PROBE_TOLERANCE * scale)) {
        throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "%s: expected the featurization "
            + "'%s' to compute what it computed when the model was saved, got feature %d of the probe window = %s "
            + "(saved: %s); the model was saved by a build whose featurization differs; refit the model", source,
            now, k, probe[k], savedProbe[k]));
      }
    }
  }

  /** A Parquet array column's value (also NetForecasterData's). */
  static List<Double> boxed(double[] values) {
    List<Double> out = new ArrayList<>(values.length);
    for (double v : values) {
      out.add(v);
    }
    return out;
  }

  static double[] unboxed(List<Double> values) {
    double[] out = new double[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
