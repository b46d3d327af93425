package org.sparkssm.jobs.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads and writes the jobs' tables by URI ({@code file:}, {@code hdfs:}, or a plain path on the
 * default file system) through Spark's DataFrameReader and DataFrameWriter.
 *
 * <p>Writes go through Spark's commit protocol into a staging folder of an {@link OutputCommit},
 * which makes a job's outputs visible together.
 */
public final class Tables {
  private Tables() {}

  /**
   * Reads a table. The format is {@code format} when given, else the name's extension
   * ({@code .csv}, {@code .csv.gz}, {@code .parquet}), else CSV for a folder of {@code .csv} part
   * files, else Parquet. CSV has a header row; column types are inferred.
   */
  public static Dataset<Row> read(SparkSession spark, String uri, DataFormat format) {
    Path path = new Path(uri);
    FileSystem fs = fileSystem(spark, path);
    requireMatch(fs, path, uri); // Spark's own message for a missing path comes with a logged stack trace
    DataFormat chosen = format != null ? format : detect(fs, path, uri);
    DataFrameReader reader = spark.read();
    if (chosen == DataFormat.CSV) {
      return requireRows(reader.option("header", "true").option("inferSchema", "true").csv(uri), uri);
    }
    return reader.parquet(uri);
  }

  /**
   * A CSV file with a header line and no rows (or nothing at all) fails naming it, before the
   * column checks blame a column for it: with no rows, schema inference leaves every column a
   * string. The one limit-1 query runs only when every column is a string.
   */
  private static Dataset<Row> requireRows(Dataset<Row> df, String uri) {
    StructType schema = df.schema();
    if (schema.fields().length == 0) {
      throw new IllegalArgumentException("input '" + uri + "': expected a header and rows, got an empty file");
    }
    for (StructField f : schema.fields()) {
      if (!f.dataType().equals(DataTypes.StringType)) {
        return df;
      }
    }
    if (df.isEmpty()) {
      throw new IllegalArgumentException(String.format("input '%s': expected rows, got a header only (%s)", uri,
          String.join(", ", schema.fieldNames())));
    }
    return df;
  }

  /**
   * Writes {@code df} to {@code uri}, replacing what is there: jobs write into the staging folders
   * of an {@link OutputCommit}, which checks the real outputs before any work and publishes them.
   */
  public static void write(Dataset<Row> df, String uri, DataFormat format) {
    if (format == DataFormat.CSV) {
      csvCells(df).write().mode(SaveMode.Overwrite).option("header", "true").csv(uri);
    } else {
      df.write().mode(SaveMode.Overwrite).parquet(uri);
    }
  }

  /**
   * {@code df} with every column CSV cannot hold as text: arrays as {@code [1.0, 2.0]}, ML vectors
   * as arrays, binary as base64, structs and maps as JSON.
   */
  static Dataset<Row> csvCells(Dataset<Row> df) {
    List<Column> cells = new ArrayList<>();
    for (StructField f : df.schema().fields()) {
      Column c = functions.col(f.name());
      DataType t = f.dataType();
      if (t instanceof ArrayType) {
        c = c.cast(DataTypes.StringType);
      } else if (t instanceof VectorUDT) {
        c = org.apache.spark.ml.functions.vector_to_array(c, "float64").cast(DataTypes.StringType);
      } else if (t instanceof BinaryType) {
        c = functions.base64(c);
      } else if (t instanceof StructType || t instanceof MapType) {
        c = functions.to_json(c);
      } else {
        cells.add(c);
        continue;
      }
      cells.add(c.as(f.name()));
    }
    return df.select(cells.toArray(new Column[0]));
  }

  /** Whether {@code uri} exists on its file system. */
  public static boolean exists(SparkSession spark, String uri) {
    Path path = new Path(uri);
    return exists(fileSystem(spark, path), path);
  }

  private static DataFormat detect(FileSystem fs, Path path, String uri) {
    DataFormat byName = DataFormat.fromName(uri);
    if (byName != null) {
      return byName;
    }
    try {
      for (FileStatus match : requireMatch(fs, path, uri)) {
        FileStatus[] children = match.isDirectory() ? fs.listStatus(match.getPath()) : new FileStatus[] {match};
        for (FileStatus child : children) {
          String name = child.getPath().getName();
          if (!name.startsWith("_") && !name.startsWith(".") && DataFormat.fromName(name) == DataFormat.CSV) {
            return DataFormat.CSV;
          }
        }
      }
      return DataFormat.PARQUET;
    } catch (IOException e) {
      throw new UncheckedIOException("input '" + uri + "': " + e.getMessage(), e);
    }
  }

  /** The files or folders {@code path} (a glob) names; fails naming {@code uri} when there are none. */
  private static FileStatus[] requireMatch(FileSystem fs, Path path, String uri) {
    try {
      FileStatus[] matches = fs.globStatus(path);
      if (matches == null || matches.length == 0) {
        throw new IllegalArgumentException("input '" + uri + "': expected an existing file or folder, got none");
      }
      return matches;
    } catch (IOException e) {
      throw new UncheckedIOException("input '" + uri + "': " + e.getMessage(), e);
    }
  }

  private static FileSystem fileSystem(SparkSession spark, Path path) {
    Configuration conf = spark.sparkContext().hadoopConfiguration();
    try {
      return path.getFileSystem(conf);
    } catch (IOException e) {
      throw new UncheckedIOException("'" + path + "': " + e.getMessage(), e);
    }
  }

  private static boolean exists(FileSystem fs, Path path) {
    try {
      return fs.exists(path);
    } catch (IOException e) {
      throw new UncheckedIOException("'" + path + "': " + e.getMessage(), e);
    }
  }
}
