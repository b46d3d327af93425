package org.sparkssm.jobs.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads and writes the jobs' tables by URI ({@code file:}, {@code hdfs:}, or a plain path on the
 * default file system) through Spark's DataFrameReader and DataFrameWriter.
 *
 * <p>Writes go through Spark's commit protocol: task output is promoted only when the job commits,
 * so a failed job leaves no data files. Spark would still leave the (empty) output folder it
 * created; {@link #write} removes it when the path did not exist before, so the same command can be
 * run again unchanged.
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
      return reader.option("header", "true").option("inferSchema", "true").csv(uri);
    }
    return reader.parquet(uri);
  }

  /**
   * Writes {@code df} to {@code uri}. With {@link WriteMode#ERROR} an existing path fails before any
   * work is done; with {@link WriteMode#OVERWRITE} Spark deletes the old output first (so a failed
   * overwrite leaves no output, old or new).
   */
  public static void write(Dataset<Row> df, String uri, DataFormat format, WriteMode mode) {
    Path path = new Path(uri);
    FileSystem fs = fileSystem(df.sparkSession(), path);
    boolean existed = exists(fs, path);
    if (existed && mode == WriteMode.ERROR) {
      throw existingOutput(uri);
    }
    try {
      var writer = df.write().mode(mode.saveMode());
      if (format == DataFormat.CSV) {
        writer.option("header", "true").csv(uri);
      } else {
        writer.parquet(uri);
      }
    } catch (Throwable e) { // Spark's SparkException is checked in Java's eyes but undeclared
      if (!existed) {
        deleteQuietly(fs, path, e);
      }
      throw e;
    }
  }

  /** The error for an output that exists when the job may not replace it. */
  static IllegalArgumentException existingOutput(String uri) {
    return new IllegalArgumentException(
        "output '" + uri + "': expected a path that does not exist, got an existing one (use --overwrite)");
  }

  /**
   * Checks a job's output folder before any work: a plain file there is refused, and so is a
   * folder that holds anything unless {@code overwrite} (a job writes several files into it, and
   * none of a user's files may be replaced unasked).
   */
  public static void requireOutputFolder(SparkSession spark, String uri, boolean overwrite) {
    Path path = new Path(uri);
    FileSystem fs = fileSystem(spark, path);
    try {
      if (!fs.exists(path)) {
        return;
      }
      FileStatus status = fs.getFileStatus(path);
      if (!status.isDirectory()) {
        throw new IllegalArgumentException("output '" + uri + "': expected a folder, got a file");
      }
      FileStatus[] children = fs.listStatus(path);
      if (children.length > 0 && !overwrite) {
        throw new IllegalArgumentException(String.format("output '%s': expected an absent or empty folder, got one "
            + "holding %d %s, e.g. '%s' (use --overwrite)", uri, children.length, children.length == 1 ? "entry" : "entries",
            children[0].getPath().getName()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("output '" + uri + "': " + e.getMessage(), e);
    }
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

  private static void deleteQuietly(FileSystem fs, Path path, Throwable failure) {
    try {
      fs.delete(path, true);
    } catch (IOException e) {
      failure.addSuppressed(e);
    }
  }
}
