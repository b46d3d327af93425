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

/**
 * What a fit learned, and what {@code path/data} holds as one Parquet row: the forecaster's name,
 * L and H, its ridge weights, the fit summary and the conformal half-widths per level and step.
 * The featurization is not stored: it is rebuilt from the name and L (it has no fitted state).
 */
final class ForecasterData implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bumped when the row's layout changes; readers accept this version and older ones they know. */
  static final int FORMAT_VERSION = 1;

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
      .add("interval_half_widths", DataTypes.createArrayType(DataTypes.DoubleType, false), false);

  final String model;
  final LinearForecaster forecaster;
  final long trainWindows;
  final long validationWindows;
  final double validationMse;
  final DataType timeType;
  final double[] levels;
  final double[][] halfWidths; // [level][step]

  private ForecasterData(String model, LinearForecaster forecaster, long trainWindows, long validationWindows,
      double validationMse, DataType timeType, double[] levels, double[][] halfWidths) {
    this.model = model;
    this.forecaster = forecaster;
    this.trainWindows = trainWindows;
    this.validationWindows = validationWindows;
    this.validationMse = validationMse;
    this.timeType = timeType;
    this.levels = levels;
    this.halfWidths = halfWidths;
  }

  static ForecasterData of(SsmForecast.Fitted fitted, DataType timeType, double[] levels, double[][] halfWidths) {
    return new ForecasterData(fitted.model(), fitted.forecaster(), fitted.trainWindows(), fitted.validationWindows(),
        fitted.validationMse(), timeType, levels.clone(), halfWidths);
  }

  Row toRow() {
    RidgeSolution w = forecaster.weights();
    List<Double> widths = new ArrayList<>();
    for (double[] level : halfWidths) {
      widths.addAll(boxed(level));
    }
    return RowFactory.create(FORMAT_VERSION, model, forecaster.lookback(), forecaster.horizon(), w.features(),
        boxed(w.beta()), boxed(w.intercept()), w.lambdaRel(), trainWindows, validationWindows, validationMse,
        timeType.json(), boxed(levels), widths);
  }

  /** Reads the row of {@link #toRow}, naming {@code source} (the model's path) when it is not one. */
  static ForecasterData fromRow(Row r, String source) {
    int version = r.getInt(r.fieldIndex("format_version"));
    if (version != FORMAT_VERSION) {
      throw new IllegalArgumentException(String.format("%s: expected model data format version %d, got %d", source,
          FORMAT_VERSION, version));
    }
    String model = r.getString(r.fieldIndex("model"));
    int lookback = r.getInt(r.fieldIndex("lookback"));
    int horizon = r.getInt(r.fieldIndex("horizon"));
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
    return new ForecasterData(model, forecaster, r.getLong(r.fieldIndex("train_windows")),
        r.getLong(r.fieldIndex("validation_windows")), r.getDouble(r.fieldIndex("validation_mse")),
        DataType.fromJson(r.getString(r.fieldIndex("time_type"))), levels, halfWidths);
  }

  private static List<Double> boxed(double[] values) {
    List<Double> out = new ArrayList<>(values.length);
    for (double v : values) {
      out.add(v);
    }
    return out;
  }

  private static double[] unboxed(List<Double> values) {
    double[] out = new double[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
