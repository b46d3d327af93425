package org.sparkssm.jobs.scan;

import java.time.Duration;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.spark.scan.Durations;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputFormatOption;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SeriesColumns;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.scan.SsmScan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code scan}: runs an SSM over every series of a long-format table ({@link SsmScan}) and writes Parquet. */
@Command(name = "scan", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Scans every series of a long-format table (series, time, value columns) with a state-space model, in time "
            + "order and chunk by chunk inside the executors, and writes one output row per input row (Parquet): "
            + "series, time, and the model's outputs as an array column. With --state-out it also writes each "
            + "series' end state, from which --resume-from scans only newer rows next time.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm scan -i data-samples/hourly-20x720 -o /tmp/s4d \\",
        "      --model s4d-lin --state 16 --dt 0.01",
        "  spark-ssm scan -i /tmp/panel.csv -o /tmp/legt -m legt --order 32 --theta 100",
        "  spark-ssm scan -i hdfs:///sensors -o hdfs:///out/lru --values a,b,c \\",
        "      --model lru --state 64 --chunk-rows 4096",
        "  spark-ssm scan -i day1 -o out1 --model s4d-inv --state-out state1",
        "  spark-ssm scan -i day2 -o out2 --model s4d-inv --resume-from state1 \\",
        "      --state-out state2",
        "  spark-ssm scan -i irregular -o out --model s4d-lin --dt 0.1 --step-every 1h",
        "  spark-submit --class org.sparkssm.jobs.Main --master yarn \\",
        "      jobs/target/spark-ssm-jobs-*.jar scan -i hdfs:///in -o hdfs:///out -m legt"})
public final class ScanCommand extends SparkCommand {
  @Option(names = {"-i", "--input"}, required = true, paramLabel = "URI",
      description = "Input table: Parquet or CSV with a header, by URI (file:, hdfs: or a plain path).")
  private String input;

  @Option(names = "--format", paramLabel = "FORMAT",
      description = "Input format, parquet or csv. Default: from the name (.csv, .parquet), else csv for a folder "
          + "of .csv files, else parquet.")
  private DataFormat format;

  @Option(names = {"-o", "--out", "--output"}, required = true, paramLabel = "URI", description = "Output folder (Parquet).")
  private String out;

  @Mixin
  private OutputOptions output;

  @Mixin
  private OutputFormatOption outFormat;

  @Mixin
  private SeriesColumns columns;

  @Option(names = "--values", paramLabel = "NAMES", split = ",", defaultValue = SsmScan.DEFAULT_VALUE,
      description = "Value columns, one per model input channel (default: ${DEFAULT-VALUE}).")
  private List<String> values;

  @Mixin
  private ModelOptions model;

  @Option(names = "--chunk-rows", paramLabel = "ROWS", defaultValue = "8192",
      description = "Rows scanned per chunk, the unit of off-heap buffering (default: ${DEFAULT-VALUE}).")
  private int chunkRows;

  @Option(names = "--long-series-rows", paramLabel = "ROWS", defaultValue = "10000000",
      description = "Series longer than this are scanned across partitions in two passes (default: ${DEFAULT-VALUE}).")
  private long longSeriesRows;

  @Option(names = "--output-col", paramLabel = "NAME", defaultValue = SsmScan.DEFAULT_OUTPUT,
      description = "Output column, array<double> (default: ${DEFAULT-VALUE}).")
  private String outputColumn;

  @Option(names = "--with-state", paramLabel = "NAME",
      description = "Also output the hidden state after each row, as a vector column of this name.")
  private String stateColumn;

  @Option(names = "--state-out", paramLabel = "URI",
      description = "Also write each series' end state (series, last time, state, model fingerprint and "
          + "description) here.")
  private String stateOut;

  @Option(names = "--resume-from", paramLabel = "URI",
      description = "Start each series from a state table written by --state-out; rows at or before its saved time "
          + "are skipped. The model options must be the same as in that run.")
  private String resumeFrom;

  @Option(names = "--step-every", paramLabel = "DURATION",
      description = "Irregular time (S4D): each row's step is its gap to the previous row divided by this duration "
          + "(e.g. 1h; a plain number is in units of the time column), times --dt.")
  private String stepEvery;

  @Override
  protected void validate() {
    if (chunkRows < 1) {
      throw usageError("--chunk-rows: expected >= 1, got %d", chunkRows);
    }
    if (longSeriesRows < 1) {
      throw usageError("--long-series-rows: expected >= 1, got %d", longSeriesRows);
    }
    try {
      model.build(values.size(), stepEvery != null); // checks every model option before Spark starts
    } catch (IllegalArgumentException e) {
      throw usageError("%s", e.getMessage());
    }
  }

  @Override
  protected int run(SparkSession spark) {
    // The output appears last, so a reader that sees it (and its _SUCCESS) also finds the state table.
    try (OutputCommit commit = stateOut == null ? output.begin(spark, this::notice, out)
        : output.begin(spark, this::notice, out, stateOut)) {
      Dataset<Row> table = Tables.read(spark, input, format);
      ScanModel m = model.build(values.size(), stepEvery != null);
      SsmScan scan = SsmScan.on(table).series(columns.series()).time(columns.time())
          .values(values.toArray(new String[0])).model(m).chunkRows(chunkRows).longSeriesRows(longSeriesRows)
          .outputArray(outputColumn).modelDescription(modelInWords());
      if (stateColumn != null) {
        scan.withState(stateColumn);
      }
      if (stepEvery != null) {
        scan.stepEvery(timeUnits(table.schema().apply(columns.time()).dataType()));
      }
      if (resumeFrom != null) {
        if (!Tables.exists(spark, resumeFrom)) {
          throw new IllegalArgumentException("--resume-from '" + resumeFrom + "': expected a state table written by "
              + "--state-out, got no such folder");
        }
        scan.resumeFrom(Tables.read(spark, resumeFrom, DataFormat.PARQUET), "--resume-from '" + resumeFrom + "'");
      }
      scan.outputSchema(); // every column check, before any job runs
      phase("scanning %s with %s", input, model.describe());
      if (stateOut == null) {
        Tables.write(scan.run(), commit.staged(out), outFormat.format());
      } else {
        SsmScan.ScanResult result = scan.runWithState();
        try {
          Tables.write(result.output(), commit.staged(out), outFormat.format());
          Tables.write(result.states(), commit.staged(stateOut), DataFormat.PARQUET);
        } finally {
          result.unpersist();
        }
      }
      commit.publish();
    }
    summary("scan: %s over %s -> %s%s", model.describe(), input, out, stateOut == null ? "" : ", states -> " + stateOut);
    return 0;
  }

  /** The model as the state table names it, e.g. {@code legt (N = 8, theta = 50.0 rows), 1 channel}. */
  private String modelInWords() {
    return model.describe() + ", " + values.size() + (values.size() == 1 ? " channel" : " channels")
        + (stepEvery != null ? ", irregular time" : "");
  }

  /** --step-every in units of the time column: microseconds for timestamps, days for dates. */
  private long timeUnits(DataType timeType) {
    String text = stepEvery.strip();
    if (text.matches("\\d+")) {
      return Long.parseLong(text);
    }
    Duration d = Durations.parse("--step-every", text);
    if (timeType.equals(DataTypes.DateType)) {
      if (d.toDays() < 1 || !d.equals(Duration.ofDays(d.toDays()))) {
        throw new IllegalArgumentException("--step-every: expected whole days for the date column '" + columns.time()
            + "', got " + stepEvery);
      }
      return d.toDays();
    }
    if (timeType.equals(DataTypes.TimestampType) || timeType.equals(DataTypes.TimestampNTZType)) {
      return Durations.micros(d);
    }
    throw new IllegalArgumentException("--step-every: expected a plain number of time units for the numeric column '"
        + columns.time() + "', got " + stepEvery);
  }
}
