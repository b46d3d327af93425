package org.sparkssm.jobs.bench;

import org.apache.spark.sql.SparkSession;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.spark.bench.ScanBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code bench}: the Spark scan benchmark ({@link ScanBenchmark}) on generated data, on any master. */
@Command(name = "bench", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Times the scan paths on generated data and prints the ratios recorded in BENCHMARKS.md: many (Arrow "
            + "scan vs. a bare grouped pass vs. a row UDF over collect_list), long (one series, two passes on P "
            + "partitions vs. 1), incremental (1 %% new rows vs. a full rescan), stack (a two-stage LayerStack vs. "
            + "one layer). Each timing is the best of 3 runs, forced with the noop sink.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm bench many --series 10000 --rows 1000",
        "  spark-ssm bench long --series 1 --rows 100000000 --partitions 4"})
public final class BenchCommand extends SparkCommand {
  @Parameters(index = "0", paramLabel = "SCENARIO", defaultValue = "many",
      description = "many, long, incremental or stack (default: ${DEFAULT-VALUE}).")
  private String scenario;

  @Option(names = "--series", paramLabel = "N", defaultValue = "1000", description = "Series (default: ${DEFAULT-VALUE}).")
  private long series;

  @Option(names = "--rows", paramLabel = "N", defaultValue = "1000",
      description = "Rows per series (default: ${DEFAULT-VALUE}).")
  private long rows;

  @Option(names = "--partitions", paramLabel = "P", defaultValue = "2",
      description = "Partitions of the two-pass scans (default: ${DEFAULT-VALUE}).")
  private int partitions;

  @Override
  protected void validate() {
    if (!scenario.matches("many|long|incremental|stack")) {
      throw usageError("SCENARIO: expected many, long, incremental or stack, got %s", scenario);
    }
    if (series < 1 || rows < 1 || partitions < 1) {
      throw usageError("--series, --rows, --partitions: expected >= 1, got %d, %d, %d", series, rows, partitions);
    }
  }

  @Override
  protected int run(SparkSession spark) throws Exception {
    ScanBenchmark.run(spark, scenario, Long.toString(series), Long.toString(rows), Integer.toString(partitions));
    return 0;
  }
}
