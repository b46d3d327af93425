package org.sparkssm.jobs.cli;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** Options every Spark subcommand takes (a picocli mixin of {@link SparkCommand}). */
public final class CommonOptions {
  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  private boolean help;

  @Option(names = "--master", paramLabel = "URL",
      description = "Spark master, e.g. local[4], spark://host:7077, yarn. Default: spark.master as set by "
          + "spark-submit, else local[*].")
  private String master;

  @Option(names = {"-v", "--verbose"},
      description = "Spark's INFO logging, and the stack trace of a failure.")
  private boolean verbose;

  @Option(names = {"-q", "--quiet"}, description = "No progress line and no summary.")
  private boolean quiet;

  @Option(names = "--conf", paramLabel = "KEY=VALUE",
      description = "A Spark configuration entry (repeatable), e.g. --conf spark.sql.shuffle.partitions=64.")
  private Map<String, String> conf = new LinkedHashMap<>();

  /** The --master option, or null when it was not given. */
  public String master() {
    return master;
  }

  public boolean verbose() {
    return verbose;
  }

  public boolean quiet() {
    return quiet;
  }

  /** The --conf entries in the order given. */
  public Map<String, String> conf() {
    return Collections.unmodifiableMap(conf);
  }
}
