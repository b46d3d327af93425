package org.sparkssm.jobs.cli;

import java.util.function.Consumer;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Option;

/** The {@code --overwrite} switch of every subcommand that writes outputs (a picocli mixin). */
public final class OutputOptions {
  @Option(names = "--overwrite",
      description = "Replace outputs that exist; the previous ones stay in place until the new ones are complete. "
          + "Without it an output folder holding anything is refused before any work is done.")
  private boolean overwrite;

  /**
   * Starts the commit of a job's outputs before any work ({@link OutputCommit#begin}): stopped
   * earlier runs are recovered, existing outputs refused unless --overwrite. {@code primary} is
   * published last.
   */
  public OutputCommit begin(SparkSession spark, Consumer<String> notices, String primary, String... others) {
    return OutputCommit.begin(spark.sparkContext().hadoopConfiguration(), overwrite, notices, primary, others);
  }
}
