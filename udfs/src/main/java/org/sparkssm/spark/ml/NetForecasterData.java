package org.sparkssm.spark.ml;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.spark.forecast.HadoopFiles;
import org.sparkssm.spark.forecast.NetTraining;
import org.sparkssm.spark.forecast.TimeGrid;
import org.sparkssm.train.TrainedForecaster;
import org.sparkssm.train.Trainer;

/**
 * What a {@link SsmNetForecaster} fit learned: the trained network ({@link TrainedForecaster},
 * saved under {@code path/weights} as safetensors + config.json, its architecture fingerprint and
 * probe forecast checked on load) and, as one Parquet row under {@code path/data}, the time type,
 * grid, interval half-widths and the training summary (windows, best epoch, the history).
 */
final class NetForecasterData implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Bumped when the row's layout changes. */
  static final int FORMAT_VERSION = 1;

  static final StructType SCHEMA = new StructType()
      .add("format_version", DataTypes.IntegerType, false)
      .add("time_type", DataTypes.StringType, false)
      .add("grid_step", DataTypes.LongType, false)
      .add("fill", DataTypes.StringType, false)
      .add("max_gap", DataTypes.IntegerType, false)
      .add("interval_levels", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      // Level-major: the half-width of level i at step k (1..H) at [i * H + k - 1].
      .add("interval_half_widths", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
      .add("train_windows", DataTypes.LongType, false)
      .add("validation_windows", DataTypes.LongType, false)
      .add("skipped_windows", DataTypes.LongType, false)
      .add("partitions", DataTypes.IntegerType, false)
      .add("best_epoch", DataTypes.IntegerType, false)
      .add("validation_mse", DataTypes.DoubleType, false)
      // One row per epoch: epoch, train loss, validation MSE, validation MAE, learning rate, seconds.
      .add("history", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType, false), false),
          false);

  final TrainedForecaster forecaster;
  final DataType timeType;
  final TimeGrid grid;
  final double[] levels;
  final double[][] halfWidths; // [level][step]
  final long trainWindows;
  final long validationWindows;
  final long skippedWindows;
  final int partitions;
  final int bestEpoch;
  final double validationMse;
  final List<Trainer.Epoch> history;

  private NetForecasterData(TrainedForecaster forecaster, DataType timeType, TimeGrid grid, double[] levels,
      double[][] halfWidths, long trainWindows, long validationWindows, long skippedWindows, int partitions,
      int bestEpoch, double validationMse, List<Trainer.Epoch> history) {
    this.forecaster = forecaster;
    this.timeType = timeType;
    this.grid = grid;
    this.levels = levels;
    this.halfWidths = halfWidths;
    this.trainWindows = trainWindows;
    this.validationWindows = validationWindows;
    this.skippedWindows = skippedWindows;
    this.partitions = partitions;
    this.bestEpoch = bestEpoch;
    this.validationMse = validationMse;
    this.history = List.copyOf(history);
  }

  static NetForecasterData of(NetTraining.Outcome o, DataType timeType, double[] levels, double[][] halfWidths) {
    return new NetForecasterData(o.forecaster(), timeType, o.fitted().grid(), levels.clone(), halfWidths,
        o.trainWindows(), o.validationWindows(), o.skippedWindows(), o.partitions(), o.result().bestEpoch(),
        o.result().bestValidationMse(), o.result().history());
  }

  /** Writes {@code path/data} (Parquet, through Spark) and {@code path/weights}. */
  void save(org.apache.spark.sql.SparkSession spark, String path) throws IOException {
    List<Double> widths = new ArrayList<>();
    for (double[] level : halfWidths) {
      for (double w : level) {
        widths.add(w);
      }
    }
    List<List<Double>> rows = new ArrayList<>();
    for (Trainer.Epoch e : history) {
      rows.add(Arrays.asList((double) e.epoch(), e.trainLoss(), e.validationMse(), e.validationMae(),
          e.learningRate(), e.seconds()));
    }
    Row r = RowFactory.create(FORMAT_VERSION, timeType.json(), grid.step(),
        grid.fill().name().toLowerCase(java.util.Locale.ROOT), grid.maxGap(), ForecasterData.boxed(levels), widths,
        trainWindows, validationWindows, skippedWindows, partitions, bestEpoch, validationMse, rows);
    spark.createDataFrame(List.of(r), SCHEMA).repartition(1).write().parquet(new Path(path, "data").toString());
    java.nio.file.Path local = java.nio.file.Files.createTempDirectory("spark-ssm-weights");
    try {
      forecaster.save(local);
      HadoopFiles.upload(local, new Path(path, "weights"), spark.sparkContext().hadoopConfiguration());
    } finally {
      HadoopFiles.deleteTree(local);
    }
  }

  /** Reads what {@link #save} wrote; a foreign or corrupt model fails naming the path. */
  static NetForecasterData load(org.apache.spark.sql.SparkSession spark, String path) throws IOException {
    String dataPath = new Path(path, "data").toString();
    List<Row> rows = spark.read().parquet(dataPath).collectAsList();
    if (rows.size() != 1) {
      throw new IllegalArgumentException(String.format("%s: expected one model data row, got %d", dataPath,
          rows.size()));
    }
    Row r = rows.get(0);
    int version = r.getInt(r.fieldIndex("format_version"));
    if (version != FORMAT_VERSION) {
      throw new IllegalArgumentException(String.format("%s: expected model data format version %d, got %d (saved by "
          + "another build of spark-ssm; retrain the model)", dataPath, FORMAT_VERSION, version));
    }
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    Path weights = new Path(path, "weights");
    java.nio.file.Path local = HadoopFiles.download(weights, conf);
    TrainedForecaster forecaster;
    try {
      forecaster = TrainedForecaster.load(local);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().replace(local.toString(), weights.toString()), e);
    } finally {
      HadoopFiles.delete(local);
    }
    int horizon = forecaster.horizon();
    double[] levels = ForecasterData.unboxed(r.getList(r.fieldIndex("interval_levels")));
    double[] widths = ForecasterData.unboxed(r.getList(r.fieldIndex("interval_half_widths")));
    if (widths.length != levels.length * horizon) {
      throw new IllegalArgumentException(String.format("%s: expected %d interval half-widths (%d levels x H = %d), "
          + "got %d", dataPath, levels.length * horizon, levels.length, horizon, widths.length));
    }
    double[][] halfWidths = new double[levels.length][];
    for (int i = 0; i < levels.length; i++) {
      halfWidths[i] = Arrays.copyOfRange(widths, i * horizon, (i + 1) * horizon);
    }
    List<Trainer.Epoch> history = new ArrayList<>();
    for (Object row : r.getList(r.fieldIndex("history"))) {
      @SuppressWarnings("unchecked")
      List<Double> e = row instanceof List ? (List<Double>) row
          : scala.jdk.javaapi.CollectionConverters.asJava((scala.collection.Seq<Double>) row);
      history.add(new Trainer.Epoch(e.get(0).intValue(), e.get(1), e.get(2), e.get(3), e.get(4), e.get(5)));
    }
    TimeGrid grid = new TimeGrid(r.getLong(r.fieldIndex("grid_step")),
        TimeGrid.Fill.parse(r.getString(r.fieldIndex("fill"))), r.getInt(r.fieldIndex("max_gap")));
    return new NetForecasterData(forecaster, DataType.fromJson(r.getString(r.fieldIndex("time_type"))), grid, levels,
        halfWidths, r.getLong(r.fieldIndex("train_windows")), r.getLong(r.fieldIndex("validation_windows")),
        r.getLong(r.fieldIndex("skipped_windows")), r.getInt(r.fieldIndex("partitions")),
        r.getInt(r.fieldIndex("best_epoch")), r.getDouble(r.fieldIndex("validation_mse")), history);
  }
}
