package org.sparkssm.spark.forecast;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Local files to and from any Hadoop file system, for formats whose writers and readers take a
 * local path (safetensors): written locally, then copied; copied locally, then read.
 */
public final class HadoopFiles {
  private HadoopFiles() {}

  /**
   * Copies a local file or folder to {@code target} atomically for a reader: under a hidden
   * temporary name beside it, then renamed (replacing what was there).
   */
  public static void upload(java.nio.file.Path local, Path target, Configuration conf) throws IOException {
    FileSystem fs = target.getFileSystem(conf);
    if (target.getParent() != null) {
      fs.mkdirs(target.getParent());
    }
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp");
    fs.delete(tmp, true);
    fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
    fs.delete(target, true);
    if (!fs.rename(tmp, target)) {
      throw new IOException("could not rename " + tmp + " to " + target);
    }
  }

  /** A local copy of a file or folder, in a new temporary folder the caller deletes ({@link #delete}). */
  public static java.nio.file.Path download(Path remote, Configuration conf) throws IOException {
    FileSystem fs = remote.getFileSystem(conf);
    if (!fs.exists(remote)) {
      throw new java.io.FileNotFoundException(remote + " (not found)");
    }
    java.nio.file.Path dir = Files.createTempDirectory("spark-ssm-copy");
    java.nio.file.Path local = dir.resolve(remote.getName());
    fs.copyToLocalFile(false, remote, new Path(local.toUri()), true);
    return local;
  }

  /** Deletes a {@link #download}'s copy and its temporary folder. */
  public static void delete(java.nio.file.Path downloaded) throws IOException {
    deleteTree(downloaded.getParent());
  }

  /** Deletes a local folder and everything in it. */
  public static void deleteTree(java.nio.file.Path dir) throws IOException {
    try (Stream<java.nio.file.Path> all = Files.walk(dir)) {
      for (java.nio.file.Path p : (Iterable<java.nio.file.Path>) all.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
