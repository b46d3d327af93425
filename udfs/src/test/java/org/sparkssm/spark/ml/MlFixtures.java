package org.sparkssm.spark.ml;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Generated long-format panels and the streaming plumbing the stage tests share. */
final class MlFixtures {
  private MlFixtures() {}

  static final StructType SCHEMA = new StructType().add("unique_id", DataTypes.StringType)
      .add("ds", DataTypes.LongType).add("y", DataTypes.DoubleType);

  /**
   * {@code series} stationary series of {@code length} rows: a daily-like sine of period 24 plus
   * AR(1) noise (φ = 0.5, σ = noise), each with its own phase and level. Seeded.
   */
  static List<Row> panel(long seed, int series, int length, double noise) {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Row> rows = new ArrayList<>();
    for (int s = 0; s < series; s++) {
      double phase = rnd.nextDouble() * 2 * Math.PI;
      double level = 10 * rnd.nextDouble();
      double ar = 0;
      for (int t = 0; t < length; t++) {
        ar = 0.5 * ar + noise * gaussian(rnd);
        rows.add(RowFactory.create("s" + s, (long) t, level + Math.sin(2 * Math.PI * t / 24 + phase) + ar));
      }
    }
    return rows;
  }

  private static double gaussian(SplittableRandom rnd) {
    // Box-Muller: SplittableRandom has no nextGaussian on Java 17.
    double u = 1 - rnd.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
  }

  static Dataset<Row> frame(SparkSession spark, List<Row> rows) {
    return spark.createDataFrame(rows, SCHEMA);
  }

  /** Appends each part as its own Parquet file under {@code dir}: one micro-batch each with maxFilesPerTrigger 1. */
  static void appendFiles(SparkSession spark, Path dir, List<List<Row>> parts) {
    for (List<Row> part : parts) {
      spark.createDataFrame(part, SCHEMA).coalesce(1).write().mode(SaveMode.Append).parquet(dir.toString());
    }
  }

  /** The rows with {@code from <= ds < to}, all series. */
  static List<Row> timeRange(List<Row> rows, long from, long to) {
    List<Row> out = new ArrayList<>();
    for (Row r : rows) {
      if (r.getLong(1) >= from && r.getLong(1) < to) {
        out.add(r);
      }
    }
    return out;
  }

  /** A file stream of {@code dir}, one file per micro-batch. */
  static Dataset<Row> stream(SparkSession spark, Path dir) {
    return spark.readStream().schema(SCHEMA).option("maxFilesPerTrigger", 1).parquet(dir.toString());
  }
}
