package org.sparkssm.jobs.cli;

import picocli.CommandLine.Option;

/** The {@code --out-format} option of the subcommands that write result tables (a picocli mixin). */
public final class OutputFormatOption {
  @Option(names = "--out-format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "Format of the result tables: parquet, or csv with a header (arrays and vectors as [a, b] "
          + "text, binary as base64); state tables and saved models stay Parquet (default: ${DEFAULT-VALUE}).")
  private DataFormat format;

  public DataFormat format() {
    return format;
  }
}
