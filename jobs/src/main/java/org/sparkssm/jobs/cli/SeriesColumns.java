package org.sparkssm.jobs.cli;

import org.sparkssm.spark.scan.SsmScan;
import picocli.CommandLine.Option;

/** The key columns of a long-format table (one row per series and time), as a picocli mixin. */
public final class SeriesColumns {
  @Option(names = "--series-col", paramLabel = "NAME", defaultValue = SsmScan.DEFAULT_SERIES,
      description = "Series key column (default: ${DEFAULT-VALUE}).")
  private String series;

  @Option(names = "--time-col", paramLabel = "NAME", defaultValue = SsmScan.DEFAULT_TIME,
      description = "Time column: timestamp, date, long or int (default: ${DEFAULT-VALUE}).")
  private String time;

  public String series() {
    return series;
  }

  public String time() {
    return time;
  }
}
