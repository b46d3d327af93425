package org.sparkssm.jobs.forecast;

import static org.apache.spark.sql.functions.col;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SeriesColumns;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.jobs.report.MarkdownReport;
import org.sparkssm.jobs.report.Plots;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.WindowSplit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code forecast}: fits a forecaster on every series of a long-format table in one distributed
 * pass, scores it on each series' last H rows against the naive forecast, forecasts the H rows
 * after each series' end, and writes the forecasts (Parquet), a PNG plot and a report.
 */
@Command(name = "forecast", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Fits one forecaster of the next H values from the last L (channel-independent, ridge on SSM memory "
            + "features, one distributed pass) over every series of a long-format table, holds out each series' "
            + "last H rows to score it (MSE, MAE, against repeating the last value), and forecasts H rows past "
            + "each series' end. Writes <out>/forecasts and <out>/holdout (Parquet), <out>/forecast.png and "
            + "<out>/report.md.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm forecast                        # the sample panel in data-samples/",
        "  spark-ssm forecast -i data-samples/hourly-20x720 -m legt --lookback 168 --horizon 24",
        "  spark-ssm forecast -i hdfs:///sales -o hdfs:///out/fc --series-col store --time-col day \\",
        "      --value-col units -m s4d --lookback 56 --horizon 14"})
public final class ForecastCommand extends SparkCommand {
  /** The panel the README's first command forecasts (made by {@code generate}, see data-samples/README.md). */
  public static final String SAMPLE = "data-samples/hourly-20x720";

  @Option(names = {"-i", "--input"}, paramLabel = "URI", defaultValue = SAMPLE,
      description = "Input table in long format: Parquet or CSV with a header (default: ${DEFAULT-VALUE}).")
  private String input;

  @Option(names = "--format", paramLabel = "FORMAT", description = "Input format, parquet or csv (default: from the name).")
  private DataFormat format;

  @Option(names = {"-o", "--out", "--output"}, paramLabel = "URI", defaultValue = "target/forecast",
      description = "Output folder (default: ${DEFAULT-VALUE}).")
  private String out;

  @Mixin
  private OutputOptions output;

  @Mixin
  private SeriesColumns columns;

  @Option(names = "--value-col", paramLabel = "NAME", defaultValue = "y", description = "Value column (default: ${DEFAULT-VALUE}).")
  private String value;

  @Option(names = {"-m", "--model"}, paramLabel = "NAME", defaultValue = "ssm",
      description = "Forecaster: naive, linear, nlinear, legt[:N], legs[:N], s4d[:N], ssm[:N] (default: ${DEFAULT-VALUE}).")
  private String model;

  @Option(names = {"-L", "--lookback"}, paramLabel = "ROWS", defaultValue = "96", description = "Lookback L (default: ${DEFAULT-VALUE}).")
  private int lookback;

  @Option(names = {"-H", "--horizon"}, paramLabel = "ROWS", defaultValue = "24", description = "Horizon H (default: ${DEFAULT-VALUE}).")
  private int horizon;

  @Option(names = "--val-rows", paramLabel = "ROWS",
      description = "Rows before the holdout whose windows choose the ridge penalty (default: 2 H).")
  private Integer validationRows;

  @Option(names = "--plot-series", paramLabel = "N", defaultValue = "4", description = "Series drawn in the plot (default: ${DEFAULT-VALUE}).")
  private int plotSeries;

  @Override
  protected void validate() {
    if (lookback < 1 || horizon < 1) {
      throw usageError("--lookback, --horizon: expected >= 1, got %d, %d", lookback, horizon);
    }
    if (validationRows != null && validationRows < horizon) {
      throw usageError("--val-rows: expected >= the horizon (%d), got %d", horizon, validationRows);
    }
    try {
      ForecastModels.features(model, lookback);
    } catch (IllegalArgumentException e) {
      throw usageError("--model: %s", e.getMessage());
    }
  }

  @Override
  protected int run(SparkSession spark) throws Exception {
    if (input.equals(SAMPLE) && !Tables.exists(spark, input)) {
      // Run from another folder: the launcher says where the repository (and its sample) is.
      String home = System.getProperty("sparkssm.home");
      if (home != null && Tables.exists(spark, home + "/" + SAMPLE)) {
        input = home + "/" + SAMPLE;
      } else {
        throw new IllegalArgumentException("input '" + SAMPLE + "': expected the sample panel, got none (run from the "
            + "repository root, or make it with the command in data-samples/README.md)");
      }
    }
    String forecastsUri = out + "/forecasts";
    String holdoutUri = out + "/holdout";
    output.requireAbsent(spark, forecastsUri, holdoutUri);
    Dataset<Row> table = Tables.read(spark, input, format).cache();
    requireLongEnough(table);
    int val = validationRows == null ? 2 * horizon : validationRows;
    WindowSplit split = WindowSplit.lastRows(val, horizon);
    SsmForecast.Fitted fit = SsmForecast.on(table).series(columns.series()).time(columns.time()).value(value)
        .model(model).lookback(lookback).horizon(horizon).split(split).fit();
    SsmForecast.Metrics score = fit.evaluate(table);
    SsmForecast.Metrics naive = SsmForecast.on(table).series(columns.series()).time(columns.time()).value(value)
        .model("naive").lookback(lookback).horizon(horizon).split(split).fit().evaluate(table);

    Dataset<Row> future = fit.forecast(table);
    Dataset<Row> holdout = fit.testPredictions(table);
    Tables.write(future, forecastsUri, DataFormat.PARQUET, output.mode());
    Tables.write(holdout, holdoutUri, DataFormat.PARQUET, output.mode());

    Path reportDir = ReportFiles.localFolder(out, "target/forecast-report");
    Files.createDirectories(reportDir);
    Path png = Plots.forecastVsActual(reportDir.resolve("forecast.png"),
        model + ", L=" + lookback + ", H=" + horizon, views(spark, table, holdout, future));
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    metrics.put(model, metricRow(score.mse(), score.mae(), score.mse() / naive.mse()));
    metrics.put("naive", metricRow(naive.mse(), naive.mae(), 1.0));
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("input", input);
    settings.put("model", model);
    settings.put("lookback L", lookback);
    settings.put("horizon H", horizon);
    settings.put("holdout", "the last H rows of each series (" + score.windows() + " series scored)");
    settings.put("ridge λ_rel (by validation on the " + val + " rows before)", fit.lambdaRel());
    settings.put("training windows", fit.trainWindows());
    Path report = MarkdownReport.titled("spark-ssm forecast").settings(settings).heading("Holdout metrics")
        .metrics(metrics).image("Forecast vs. actual", "forecast.png").write(reportDir.resolve("report.md"));

    summary("forecast: %s, L=%d, H=%d: holdout MSE %.4f, MAE %.4f (naive: MSE %.4f, MAE %.4f)", model, lookback,
        horizon, score.mse(), score.mae(), naive.mse(), naive.mae());
    summary("  forecasts: %s", forecastsUri);
    summary("  holdout:   %s", holdoutUri);
    summary("  metrics:   %s", report);
    summary("  plot:      %s", png);
    table.unpersist();
    return 0;
  }

  /** MSE, MAE and the MSE relative to naive, in that column order. */
  static Map<String, Double> metricRow(double mse, double mae, double relative) {
    Map<String, Double> row = new LinkedHashMap<>();
    row.put("MSE", mse);
    row.put("MAE", mae);
    row.put("MSE / naive", relative);
    return row;
  }

  /** The first series (by key): their history before the holdout, the holdout, its forecast, and the future forecast. */
  private List<Plots.SeriesView> views(SparkSession spark, Dataset<Row> table, Dataset<Row> holdout,
      Dataset<Row> future) {
    String s = columns.series();
    String t = columns.time();
    List<Row> keys = table.select(col(s)).distinct().orderBy(col(s)).limit(plotSeries).collectAsList();
    List<Object> ids = new ArrayList<>();
    for (Row k : keys) {
      ids.add(k.get(0));
    }
    List<Plots.SeriesView> views = new ArrayList<>();
    for (Object id : ids) {
      List<Row> actual = holdout.filter(col(s).equalTo(functions.lit(id))).orderBy(t).collectAsList();
      List<Row> ahead = future.filter(col(s).equalTo(functions.lit(id))).orderBy(t).collectAsList();
      Object firstHoldout = actual.isEmpty() ? null : actual.get(0).get(1);
      Dataset<Row> before = table.filter(col(s).equalTo(functions.lit(id)));
      if (firstHoldout != null) {
        before = before.filter(col(t).lt(functions.lit(firstHoldout)));
      }
      List<Row> history = before.orderBy(col(t).desc()).limit(3 * lookback).orderBy(t).select(t, value).collectAsList();
      Instant[] ht = new Instant[history.size()];
      double[] hv = new double[history.size()];
      for (int i = 0; i < ht.length; i++) {
        ht[i] = instant(history.get(i).get(0));
        hv[i] = history.get(i).isNullAt(1) ? Double.NaN : ((Number) history.get(i).get(1)).doubleValue();
      }
      int n = actual.size();
      int m = ahead.size();
      Instant[] at = new Instant[n];
      double[] av = new double[n];
      Instant[] ft = new Instant[n + m];
      double[] fv = new double[n + m];
      for (int i = 0; i < n; i++) {
        at[i] = instant(actual.get(i).get(1));
        av[i] = actual.get(i).getDouble(3);
        ft[i] = at[i];
        fv[i] = actual.get(i).getDouble(4);
      }
      for (int i = 0; i < m; i++) {
        ft[n + i] = instant(ahead.get(i).get(1));
        fv[n + i] = ahead.get(i).getDouble(3);
      }
      views.add(new Plots.SeriesView(String.valueOf(id), new Plots.Line(ht, hv), new Plots.Line(at, av),
          new Plots.Line(ft, fv)));
    }
    return views;
  }

  /** A time value as an instant for the plot's axis (numbers as seconds from the epoch). */
  static Instant instant(Object time) {
    if (time instanceof Timestamp) {
      return ((Timestamp) time).toInstant();
    }
    if (time instanceof Instant) {
      return (Instant) time;
    }
    if (time instanceof LocalDateTime) {
      return ((LocalDateTime) time).toInstant(ZoneOffset.UTC);
    }
    if (time instanceof Date) {
      return ((Date) time).toLocalDate().atStartOfDay().toInstant(ZoneOffset.UTC);
    }
    if (time instanceof java.time.LocalDate) {
      return ((java.time.LocalDate) time).atStartOfDay().toInstant(ZoneOffset.UTC);
    }
    return Instant.ofEpochSecond(((Number) time).longValue());
  }

  /**
   * Every series is scored on a holdout window of L + H rows, so a shorter one is bad input: fail
   * naming the shortest (a missing series column is left to SsmForecast, which names it).
   */
  private void requireLongEnough(Dataset<Row> table) {
    String key = columns.series();
    if (!List.of(table.columns()).contains(key)) {
      return;
    }
    List<Row> shortest = table.groupBy(col(key)).count().orderBy(col("count"), col(key)).limit(1).collectAsList();
    if (shortest.isEmpty()) {
      throw new IllegalArgumentException("input '" + input + "': expected rows, got an empty table");
    }
    long rows = shortest.get(0).getLong(1);
    if (rows < lookback + horizon) {
      throw new IllegalArgumentException(String.format("series '%s' (column '%s'): expected at least L + H = %d rows "
          + "(lookback %d + horizon %d), got %d", shortest.get(0).get(0), key, lookback + horizon, lookback, horizon,
          rows));
    }
  }

}
