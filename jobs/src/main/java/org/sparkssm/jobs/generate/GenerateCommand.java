package org.sparkssm.jobs.generate;

import static org.apache.spark.sql.functions.col;

import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.spark.scan.Durations;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SeriesColumns;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.spark.scan.SsmScan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code generate}: a reproducible synthetic panel in long format, made on the executors. */
@Command(name = "generate", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Writes a synthetic panel in long format (series, time, value columns): per series a level, a trend, "
            + "seasonal waves with random amplitude and phase, and AR(1) or white noise. The same seed gives the "
            + "same rows, whatever the number of partitions. Rows are made on the executors.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm generate --out /tmp/panel --series 20 --length 720 --freq 1h",
        "  spark-ssm generate --out hdfs:///data/synth --series 100000 --length 10000 \\",
        "      --freq 15min --partitions 400",
        "  spark-ssm generate --out /tmp/irregular.csv --format csv --series 5 \\",
        "      --length 200 --irregular 0.2",
        "  spark-ssm generate --out /tmp/sensors --channels 3 --seasonality 1d,7d \\",
        "      --noise white --seed 7"})
public final class GenerateCommand extends SparkCommand {
  @Option(names = {"-o", "--out", "--output"}, required = true, paramLabel = "URI",
      description = "Output folder (file:, hdfs: or a plain path).")
  private String out;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "parquet",
      description = "parquet or csv (default: ${DEFAULT-VALUE}).")
  private DataFormat format;

  @Mixin
  private OutputOptions output;

  @Option(names = "--series", paramLabel = "N", defaultValue = "20", description = "Number of series (default: ${DEFAULT-VALUE}).")
  private long series;

  @Option(names = "--length", paramLabel = "ROWS", defaultValue = "720",
      description = "Rows per series before --irregular drops any (default: ${DEFAULT-VALUE}).")
  private long length;

  @Option(names = "--freq", paramLabel = "DURATION", defaultValue = "1h",
      description = "Time between rows, e.g. 15min, 1h, 1d (units " + Durations.UNITS + "; default: ${DEFAULT-VALUE}).")
  private String freq;

  @Option(names = "--start", paramLabel = "TIME", defaultValue = "2024-01-01T00:00:00",
      description = "First timestamp, UTC, e.g. 2024-01-01 or 2024-01-01T06:30:00 (default: ${DEFAULT-VALUE}).")
  private String start;

  @Option(names = "--seed", paramLabel = "SEED", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
  private long seed;

  @Option(names = "--seasonality", paramLabel = "DURATIONS", split = ",",
      description = "Seasonal periods, e.g. 1d,7d, or 'none'. Default: 1d,7d below a daily --freq, 7d,365d from "
          + "daily, 365d from weekly.")
  private List<String> seasonality;

  @Option(names = "--noise", paramLabel = "KIND", defaultValue = "ar1", description = "ar1 or white (default: ${DEFAULT-VALUE}).")
  private SyntheticPanel.Noise noise;

  @Option(names = "--phi", paramLabel = "PHI", defaultValue = "0.7",
      description = "AR(1) coefficient, |phi| < 1 (default: ${DEFAULT-VALUE}).")
  private double phi;

  @Option(names = "--irregular", paramLabel = "P", arity = "0..1", fallbackValue = "0.1", defaultValue = "0",
      description = "Drop each row with probability P (0.1 when given without a value): random gaps.")
  private double dropProbability;

  @Option(names = "--channels", paramLabel = "K", defaultValue = "1",
      description = "Value columns per row: the value column, then <value>_1 .. <value>_<K-1> (default: ${DEFAULT-VALUE}).")
  private int channels;

  @Option(names = "--partitions", paramLabel = "N",
      description = "Partitions (tasks and output files). Default: min(series, Spark's default parallelism).")
  private Integer partitions;

  @Mixin
  private SeriesColumns columns;

  @Option(names = "--value-col", paramLabel = "NAME", defaultValue = SsmScan.DEFAULT_VALUE,
      description = "Value column (default: ${DEFAULT-VALUE}).")
  private String value;

  @Override
  protected void validate() {
    if (series < 1) {
      throw usageError("--series: expected >= 1, got %d", series);
    }
    if (length < 1) {
      throw usageError("--length: expected >= 1, got %d", length);
    }
    if (channels < 1) {
      throw usageError("--channels: expected >= 1, got %d", channels);
    }
    if (!(dropProbability >= 0 && dropProbability < 1)) {
      throw usageError("--irregular: expected a drop probability in [0, 1), got %s", dropProbability);
    }
    if (!(Math.abs(phi) < 1)) {
      throw usageError("--phi: expected |phi| < 1, got %s", phi);
    }
    if (partitions != null && partitions < 1) {
      throw usageError("--partitions: expected >= 1, got %d", partitions);
    }
    panel(); // parses --freq, --start and --seasonality
  }

  /** The panel the options describe. */
  SyntheticPanel panel() {
    Duration step = parseDuration("--freq", freq);
    long stepMicros = Durations.micros(step);
    List<String> seasons = seasonality != null ? seasonality : defaultSeasonality(step);
    List<Double> periods = new ArrayList<>();
    for (String s : seasons) {
      if (s.equalsIgnoreCase("none")) {
        continue;
      }
      double period = (double) Durations.micros(parseDuration("--seasonality", s)) / stepMicros;
      if (period < 2) {
        throw usageError("--seasonality: expected periods of at least two steps of --freq %s, got %s", freq, s);
      }
      periods.add(period);
    }
    return new SyntheticPanel(seed, startMicros(), stepMicros, length, channels,
        periods.stream().mapToDouble(Double::doubleValue).toArray(), noise, phi, dropProbability);
  }

  private static List<String> defaultSeasonality(Duration step) {
    if (step.compareTo(Duration.ofDays(1)) < 0) {
      return List.of("1d", "7d");
    }
    return step.compareTo(Duration.ofDays(7)) < 0 ? List.of("7d", "365d") : List.of("365d");
  }

  private Duration parseDuration(String option, String text) {
    try {
      return Durations.parse(option, text);
    } catch (IllegalArgumentException e) {
      throw usageError("%s", e.getMessage());
    }
  }

  private long startMicros() {
    String text = start.strip().replace(' ', 'T');
    try {
      OffsetDateTime t;
      if (text.length() == 10) {
        t = LocalDate.parse(text).atStartOfDay().atOffset(ZoneOffset.UTC);
      } else if (text.endsWith("Z") || text.matches(".*[+-]\\d\\d:\\d\\d$")) {
        t = OffsetDateTime.parse(text);
      } else {
        t = LocalDateTime.parse(text).atOffset(ZoneOffset.UTC);
      }
      return Math.addExact(Math.multiplyExact(t.toEpochSecond(), 1_000_000L), t.getNano() / 1000);
    } catch (DateTimeParseException | ArithmeticException e) {
      throw usageError("--start: expected a date or date-time such as 2024-01-01 or 2024-01-01T06:30:00, got '%s'", start);
    }
  }

  /** The column names of the value channels. */
  List<String> valueColumns() {
    List<String> names = new ArrayList<>();
    names.add(value);
    for (int c = 1; c < channels; c++) {
      names.add(value + "_" + c);
    }
    return names;
  }

  /** The panel as a DataFrame: series key (string), time (timestamp), value columns (double). */
  Dataset<Row> panelFrame(SparkSession spark) {
    SyntheticPanel panel = panel();
    int parts = partitions != null ? partitions
        : (int) Math.max(1, Math.min(series, spark.sparkContext().defaultParallelism()));
    List<String> values = valueColumns();
    List<StructField> fields = new ArrayList<>();
    fields.add(DataTypes.createStructField(columns.series(), DataTypes.StringType, false));
    fields.add(DataTypes.createStructField("__micros", DataTypes.LongType, false));
    for (String v : values) {
      fields.add(DataTypes.createStructField(v, DataTypes.DoubleType, false));
    }
    StructType schema = DataTypes.createStructType(fields);
    // Each task makes its own series from (seed, series index): nothing is built on the driver.
    Dataset<Row> raw = spark.range(0, series, 1, parts)
        .flatMap(new SeriesRows(panel, idFormat(series)), Encoders.row(schema));
    List<Column> select = new ArrayList<>();
    select.add(col(columns.series()));
    select.add(functions.timestamp_micros(col("__micros")).as(columns.time()));
    for (String v : values) {
      select.add(col(v));
    }
    return raw.select(select.toArray(new Column[0]));
  }

  /** Ids S0 .. S{n-1}, zero-padded so that they sort in series order. */
  static String idFormat(long series) {
    int digits = Long.toString(Math.max(0, series - 1)).length();
    return "S%0" + digits + "d";
  }

  @Override
  protected int run(SparkSession spark) {
    try (OutputCommit commit = output.begin(spark, this::notice, out)) {
      phase("generating %d series of %d rows", series, length);
      Tables.write(panelFrame(spark), commit.staged(out), format);
      commit.publish();
    }
    summary("generate: %d series x %d rows%s (%s, %s) -> %s", series, length,
        dropProbability > 0 ? String.format(Locale.ROOT, " less %.0f%% dropped", 100 * dropProbability) : "", freq,
        format.name().toLowerCase(Locale.ROOT), out);
    return 0;
  }

  /** The rows of the series of one task, made lazily (a long series is never held in memory). */
  private static final class SeriesRows implements FlatMapFunction<Long, Row> {
    private static final long serialVersionUID = 1L;
    private final SyntheticPanel panel;
    private final String idFormat;

    SeriesRows(SyntheticPanel panel, String idFormat) {
      this.panel = panel;
      this.idFormat = idFormat;
    }

    @Override
    public Iterator<Row> call(Long index) {
      String id = String.format(Locale.ROOT, idFormat, index);
      SyntheticPanel.Series s = panel.series(index);
      int k = panel.channels();
      return new Iterator<>() {
        private boolean ready;
        private boolean more;

        @Override
        public boolean hasNext() {
          if (!ready) {
            more = s.next();
            ready = true;
          }
          return more;
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new NoSuchElementException();
          }
          ready = false;
          Object[] row = new Object[2 + k];
          row[0] = id;
          row[1] = s.timeMicros();
          for (int c = 0; c < k; c++) {
            row[2 + c] = s.value(c);
          }
          return RowFactory.create(row);
        }
      };
    }
  }
}
