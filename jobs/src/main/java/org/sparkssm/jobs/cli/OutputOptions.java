package org.sparkssm.jobs.cli;

import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The {@code --overwrite} switch of every subcommand that writes tables (a picocli mixin). */
public final class OutputOptions {
  @Option(names = "--overwrite",
      description = "Replace outputs that exist. Without it an existing output is refused before any work is done.")
  private boolean overwrite;

  /** How {@link Tables#write} treats an existing path. */
  public WriteMode mode() {
    return overwrite ? WriteMode.OVERWRITE : WriteMode.ERROR;
  }

  /** Refuses an output folder that is a file, or that holds anything unless --overwrite (see {@link Tables#requireOutputFolder}). */
  public void requireOutputFolder(SparkSession spark, String uri) {
    Tables.requireOutputFolder(spark, uri, overwrite);
  }

  /**
   * Fails naming the first of {@code uris} that exists, unless {@code --overwrite} was given: a
   * job with several outputs checks them all before it writes the first.
   */
  public void requireAbsent(SparkSession spark, String... uris) {
    if (overwrite) {
      return;
    }
    for (String uri : uris) {
      if (Tables.exists(spark, uri)) {
        throw Tables.existingOutput(uri);
      }
    }
  }
}
