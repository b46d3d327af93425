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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.jobs.cli.Failures;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputFormatOption;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SeriesColumns;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.jobs.report.MarkdownReport;
import org.sparkssm.jobs.report.Plots;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.ml.SsmForecaster;
import org.sparkssm.spark.ml.SsmForecasterModel;
import org.sparkssm.spark.ml.SsmNetForecaster;
import org.sparkssm.spark.ml.SsmNetForecasterModel;
import org.sparkssm.spark.forecast.NetTraining;
import org.sparkssm.forecast.WindowForecaster;
import org.sparkssm.train.DeepModels;
import org.sparkssm.spark.forecast.TimeGrid;
import org.sparkssm.spark.forecast.WindowSplit;
import org.sparkssm.spark.scan.TimeCodec;
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
            + "each series' end. Rows are put on the series' time grid (--freq; inferred by default): absent grid "
            + "times and null / NaN / infinite values are missing steps, short runs are filled by --fill, and a "
            + "series that cannot be scored or forecast (too short, or missing values at its end) is skipped by "
            + "name, never forecast as NaN. Writes <out>/forecasts, <out>/holdout and <out>/skipped (Parquet), "
            + "<out>/forecast.png and <out>/report.md.",
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
      description = "Forecaster: naive, linear, nlinear, legt, legs, s4d or ssm, with :N for the state size where "
          + "it has one, e.g. legt:64; or a network trained here with its defaults: smamba, s4dnet or rlinear "
          + "(the train job sets every setting) (default: ${DEFAULT-VALUE}).")
  private String model;

  @Option(names = {"-L", "--lookback"}, paramLabel = "ROWS", defaultValue = "96", description = "Lookback L (default: ${DEFAULT-VALUE}).")
  private int lookback;

  @Option(names = {"-H", "--horizon"}, paramLabel = "ROWS", defaultValue = "24", description = "Horizon H (default: ${DEFAULT-VALUE}).")
  private int horizon;

  @Option(names = "--val-rows", paramLabel = "ROWS",
      description = "Rows before the holdout whose windows choose the ridge penalty (default: 2 H).")
  private Integer validationRows;

  @Option(names = "--freq", paramLabel = "STEP", defaultValue = "auto",
      description = "Time step of every series: auto (the most common gap between consecutive rows), rows (each "
          + "row is the next step whatever its time), a duration such as 1h or 15min for timestamps and dates, "
          + "or a number for integer times. A time off the grid fails naming the series (default: ${DEFAULT-VALUE}).")
  private String freq;

  @Option(names = "--fill", paramLabel = "POLICY", defaultValue = "none",
      description = "Fills a run of at most --max-gap missing steps between two present values: none, ffill "
          + "(the value before), linear (between the neighbours) or zero. Longer runs and runs at a series' end "
          + "stay missing: no window containing one is fitted, scored or forecast from (default: ${DEFAULT-VALUE}).")
  private String fill;

  @Option(names = "--max-gap", paramLabel = "STEPS", defaultValue = "3",
      description = "Longest run of missing steps --fill fills (default: ${DEFAULT-VALUE}).")
  private int maxGap;

  @Option(names = "--min-length", paramLabel = "STEPS",
      description = "Series with fewer steps are skipped (default: L + H, what the holdout needs).")
  private Long minLength;

  @Option(names = "--on-skip", paramLabel = "ACTION", defaultValue = "report",
      description = "A series that cannot be scored or forecast: report (skip it, listed in <out>/skipped and the "
          + "report) or fail (the job fails naming it) (default: ${DEFAULT-VALUE}).")
  private String onSkip;

  @Option(names = "--levels", paramLabel = "PERCENTS", split = ",",
      description = "Prediction interval levels in percent, e.g. 80,95: split-conformal intervals from the errors on "
          + "the windows of each series' last --val-rows steps (none of them fitted), as forecast_lo_80 / "
          + "forecast_hi_80 columns in forecasts/ and bounds in the plot.")
  private List<Double> levels = new ArrayList<>();

  @Option(names = "--model-out", paramLabel = "URI",
      description = "Also save the fitted forecaster here (Spark ML's SsmForecasterModel, or SsmNetForecasterModel "
          + "for a network; loadable with --model-in or the class's load), published with the other outputs.")
  private String modelOut;

  @Option(names = "--model-in", paramLabel = "URI",
      description = "Forecast with a saved forecaster (from --model-out or the train job's <out>/model) instead of "
          + "fitting one: its model, L, H, grid and fill are "
          + "used (the options for them may not be given); the holdout is scored with it as saved.")
  private String modelIn;

  @Option(names = "--plot-series", paramLabel = "N", defaultValue = "4", description = "Series drawn in the plot (default: ${DEFAULT-VALUE}).")
  private int plotSeries;

  @Option(names = "--plot", paramLabel = "WHICH", defaultValue = "first",
      description = "Which series the plot shows: first (by key), worst or best (by holdout MSE relative to the "
          + "naive forecast), or a comma-separated list of series keys (default: ${DEFAULT-VALUE}).")
  private String plot;

  @Mixin
  private OutputFormatOption outFormat;

  @Override
  protected void validate() {
    if (lookback < 1 || horizon < 1) {
      throw usageError("--lookback, --horizon: expected >= 1, got %d, %d", lookback, horizon);
    }
    if (validationRows != null && validationRows < horizon) {
      throw usageError("--val-rows: expected >= the horizon (%d), got %d", horizon, validationRows);
    }
    if (!trained(model)) {
      try {
        ForecastModels.features(model, lookback);
      } catch (IllegalArgumentException e) {
        throw usageError("--model: %s (or a trained network: %s)", e.getMessage(),
            String.join(", ", DeepModels.NAMES));
      }
    }
    try {
      TimeGrid.Fill.parse(fill);
    } catch (IllegalArgumentException e) {
      throw usageError("--fill: %s", e.getMessage().replace("fill: ", ""));
    }
    if (maxGap < 0 || maxGap > TimeGrid.MAX_GAP) {
      throw usageError("--max-gap: expected 0 to %d steps, got %d", TimeGrid.MAX_GAP, maxGap);
    }
    if (minLength != null && minLength < 1) {
      throw usageError("--min-length: expected >= 1, got %d", minLength);
    }
    for (double level : levels) {
      if (!(level > 0 && level < 100)) {
        throw usageError("--levels: expected percentages between 0 and 100, got %s", level);
      }
    }
    if (modelIn != null) {
      for (String fitted : new String[] {"--model", "--lookback", "--horizon", "--freq", "--fill", "--max-gap",
          "--val-rows", "--levels"}) {
        if (given(fitted)) {
          throw usageError("%s: the forecaster from --model-in brings its own; expected no %s with --model-in",
              fitted, fitted);
        }
      }
      if (modelOut != null) {
        throw usageError("--model-out: expected no --model-out with --model-in (the model is saved already)");
      }
    }
    if (plotSeries < 1) {
      throw usageError("--plot-series: expected >= 1, got %d", plotSeries);
    }
    if (!onSkip.equals("report") && !onSkip.equals("fail")) {
      throw usageError("--on-skip: expected report or fail, got '%s'", onSkip);
    }
    try {
      TimeGrid.checkFreq("--freq", freq);
    } catch (IllegalArgumentException e) {
      throw usageError("%s", e.getMessage());
    }
  }

  @Override
  protected int run(SparkSession spark) throws Exception {
    input = sampleOr(spark, input);
    Saved saved = modelIn == null ? null : load(spark, modelIn);
    List<String> summaryLines;
    try (OutputCommit commit = modelOut == null ? output.begin(spark, this::notice, out)
        : output.begin(spark, this::notice, out, modelOut)) {
      Dataset<Row> table = Tables.read(spark, input, format).cache();
      try {
        summaryLines = forecast(spark, table, commit, saved);
      } finally {
        // Also after a failure: a session shared with other work (tests, notebooks) must not keep
        // serving this input from the cache once its file changes.
        table.unpersist();
      }
      commit.publish();
    }
    for (String line : summaryLines) {
      summary("%s", line);
    }
    return 0;
  }

  /**
   * The input URI, with the sample panel found from another folder too: the launcher says where
   * the repository (and its sample) is.
   */
  public static String sampleOr(SparkSession spark, String input) {
    if (input.equals(SAMPLE) && !Tables.exists(spark, input)) {
      String home = System.getProperty("sparkssm.home");
      if (home != null && Tables.exists(spark, home + "/" + SAMPLE)) {
        return home + "/" + SAMPLE;
      }
      throw new IllegalArgumentException("input '" + SAMPLE + "': expected the sample panel, got none (run from the "
          + "repository root, or make it with the command in data-samples/README.md)");
    }
    return input;
  }

  /** Whether a model name is one of the trained networks (trained here by {@link NetTraining}). */
  private static boolean trained(String name) {
    return java.util.Arrays.asList(DeepModels.NAMES).contains(name.trim().toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * A forecaster loaded by --model-in, closed-form or trained: the stage that forecasts, the window
   * forecaster that scores the holdout, its grid, and what the report says about its fit.
   */
  private record Saved(org.apache.spark.ml.Model<?> stage, WindowForecaster forecaster, TimeGrid grid,
      Map<String, Object> facts) {}

  /** A saved forecaster, its settings taking the place of the options --model-in excludes. */
  private Saved load(SparkSession spark, String uri) {
    if (!Tables.exists(spark, uri + "/metadata")) {
      throw new IllegalArgumentException("--model-in '" + uri + "': expected a forecaster saved by --model-out, "
          + "train, SsmForecasterModel.save or SsmNetForecasterModel.save, got no such folder");
    }
    boolean network = Tables.exists(spark, uri + "/weights");
    Map<String, Object> facts = new LinkedHashMap<>();
    Saved saved;
    try {
      if (network) {
        SsmNetForecasterModel m = SsmNetForecasterModel.load(uri);
        m.setSeriesCol(columns.series()).setTimeCol(columns.time()).setValueCol(value);
        facts.put("network (when it was trained)", m.forecaster().spec().settings());
        facts.put("training windows (when it was trained)", m.trainWindows());
        facts.put("kept epoch, its validation MSE", m.bestEpoch() + ", " + m.validationMse());
        saved = new Saved(m, m.forecaster(), m.grid(), facts);
        levelsOf(m.getOrDefault(m.intervalLevels()));
        readSettings(m.getOrDefault(m.model()), (Integer) m.getOrDefault(m.lookback()),
            (Integer) m.getOrDefault(m.horizon()), m.grid());
      } else {
        SsmForecasterModel m = SsmForecasterModel.load(uri);
        m.setSeriesCol(columns.series()).setTimeCol(columns.time()).setValueCol(value);
        facts.put("ridge λ_rel (chosen when it was fitted)", m.lambdaRel());
        facts.put("training windows (when it was fitted)", m.trainWindows());
        saved = new Saved(m, m.forecaster(), m.grid(), facts);
        levelsOf(m.getOrDefault(m.intervalLevels()));
        readSettings(m.getOrDefault(m.model()), (Integer) m.getOrDefault(m.lookback()),
            (Integer) m.getOrDefault(m.horizon()), m.grid());
      }
    } catch (Exception e) { // Spark's AnalysisException is checked in Java's eyes but undeclared
      // Not chained: the one-line report prints the deepest cause, which would drop the option's name.
      throw new IllegalArgumentException("--model-in '" + uri + "': " + Failures.oneLine(e));
    }
    return saved;
  }

  private void levelsOf(double[] fractions) {
    levels = new ArrayList<>();
    for (double level : fractions) {
      levels.add(100 * level);
    }
  }

  private void readSettings(String savedModel, int savedLookback, int savedHorizon, TimeGrid grid) {
    model = savedModel;
    lookback = savedLookback;
    horizon = savedHorizon;
    freq = "the saved forecaster's";
    fill = grid.fill().name().toLowerCase(java.util.Locale.ROOT);
    maxGap = grid.maxGap();
  }

  /** Writes every output into the commit's staging folder; returns the summary lines. */
  private List<String> forecast(SparkSession spark, Dataset<Row> table, OutputCommit commit, Saved saved)
      throws java.io.IOException {
    phase("reading %s", input);
    SsmForecast.on(table).series(columns.series()).time(columns.time()).value(value).validate();
    TimeGrid grid = saved != null ? saved.grid() : new TimeGrid(TimeGrid.step(table, columns.series(),
        columns.time(), freq, "--freq"), TimeGrid.Fill.parse(fill), maxGap);
    long minSteps = minLength != null ? minLength : lookback + horizon;
    int val = validationRows == null ? 2 * horizon : validationRows;
    WindowSplit split = WindowSplit.lastRows(val, horizon);
    SsmForecast spec = SsmForecast.on(table).series(columns.series()).time(columns.time()).value(value)
        .lookback(lookback).horizon(horizon).split(split).grid(grid).minLength(minSteps);
    SsmForecast.Fitted naiveFit = spec.model("naive").fit(); // no pass over the data
    phase("finding series that cannot be scored or forecast");
    // Which series cannot be served is known before the fit, so --on-skip fail costs no fitting.
    Dataset<Row> skipped = naiveFit.skippedSeries(table).orderBy(columns.series());
    List<Row> firstSkipped = skipped.limit(SKIPPED_SHOWN).collectAsList();
    long skippedCount = firstSkipped.size() < SKIPPED_SHOWN ? firstSkipped.size() : skipped.count();
    if (skippedCount > 0 && onSkip.equals("fail")) {
      Row r = firstSkipped.get(0);
      throw new IllegalArgumentException(String.format("series '%s' (column '%s'): %s%s (--on-skip fail)",
          r.<Object>getAs(columns.series()), columns.series(), r.<String>getAs(SsmForecast.REASON),
          skippedCount > 1 ? ", and " + (skippedCount - 1) + " more series" : ""));
    }
    org.apache.spark.ml.Model<?> forecaster;
    org.apache.spark.ml.util.MLWritable toSave = null;
    SsmForecast.Fitted fit;
    Map<String, Object> facts = new LinkedHashMap<>();
    if (saved != null) {
      saved.stage().transformSchema(table.schema()); // the time type it was fitted on, before any pass
      forecaster = saved.stage();
      fit = SsmForecast.Fitted.of(columns.series(), columns.time(), value, timeType(table), grid, saved.forecaster(),
          model, split);
      facts.putAll(saved.facts());
    } else if (trained(model)) {
      // A network with its defaults (the train job sets every knob), trained before the holdout.
      SsmNetForecaster estimator = new SsmNetForecaster().setSeriesCol(columns.series())
          .setTimeCol(columns.time()).setValueCol(value).setModel(model).setLookback(lookback).setHorizon(horizon)
          .setValidationRows(val).setIntervalLevels(levels.stream().mapToDouble(l -> l / 100).toArray())
          .setFreq(freq).setFill(fill).setMaxGap(maxGap);
      phase("training %s", estimator.network().settings());
      NetTraining.Outcome o = NetTraining.on(table).series(columns.series()).time(columns.time()).value(value)
          .model(estimator.network()).lookback(lookback).horizon(horizon).split(split).grid(grid)
          .config(estimator.training()).fit();
      fit = o.fitted();
      SsmNetForecasterModel m = estimator.modelOf(o, table);
      forecaster = m;
      toSave = m;
      facts.put("network (its defaults; bin/spark-ssm train sets every setting)", o.forecaster().spec().settings());
      facts.put("training windows", o.trainWindows());
      facts.put("kept epoch (best on the " + val + " validation rows before the holdout)", o.result().bestEpoch());
    } else {
      phase("fitting %s", model);
      fit = spec.model(model).fit();
      double[] fractions = levels.stream().mapToDouble(l -> l / 100).toArray();
      SsmForecasterModel m = new SsmForecaster().setSeriesCol(columns.series()).setTimeCol(columns.time())
          .setValueCol(value).setModel(model).setLookback(lookback).setHorizon(horizon).setValidationRows(val)
          .setIntervalLevels(fractions).setFreq(freq).setFill(fill).setMaxGap(maxGap).modelOf(fit, table);
      forecaster = m;
      toSave = m;
      facts.put("ridge λ_rel (by validation on the " + val + " rows before)", fit.lambdaRel());
      facts.put("training windows", fit.trainWindows());
    }
    phase("scoring the holdout");
    Dataset<Row> future = forecaster.transform(table);
    Dataset<Row> holdout = withNaive(fit.testPredictions(table), naiveFit.testPredictions(table)).cache();
    // The overall metrics come from the same rows as the per-series ones (no second pass over the input).
    Row totals = holdout.agg(functions.count("*").as(HOLDOUT_STEPS), meanErrors()).first();
    long scoredSeries = totals.<Long>getAs(HOLDOUT_STEPS) / horizon; // one holdout window of H values per scored series
    fit.requireTestWindows(scoredSeries); // so the averages below are over some rows, never null
    double[] score = {totals.<Double>getAs(MSE), totals.<Double>getAs(MAE)};
    double[] naive = {totals.<Double>getAs(NAIVE_MSE), totals.<Double>getAs(NAIVE_MAE)};
    Dataset<Row> seriesMetrics = seriesMetrics(holdout).cache();
    phase("writing the outputs");
    String staged = commit.staged(out);
    if (modelOut != null) {
      toSave.write().overwrite().save(commit.staged(modelOut));
    }
    Tables.write(future, staged + "/forecasts", outFormat.format());
    Tables.write(holdout, staged + "/holdout", outFormat.format());
    Tables.write(seriesMetrics.orderBy(columns.series()).coalesce(1), staged + "/series_metrics", outFormat.format());
    Tables.write(skipped.coalesce(1), staged + "/skipped", outFormat.format());
    List<Row> ranked = seriesMetrics.orderBy(col(RELATIVE_MSE).desc_nulls_last(), col(columns.series()))
        .collectAsList(); // one small row per scored series

    Path reportDir = Files.createTempDirectory("spark-ssm-forecast-report");
    Path png = Plots.forecastVsActual(reportDir.resolve("forecast.png"),
        model + ", L=" + lookback + ", H=" + horizon,
        views(table, holdout, future, FutureColumns.of(forecaster), plotted(table, ranked)));
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    metrics.put(model, metricRow(score[0], score[1], score[0] / naive[0]));
    metrics.put("naive", metricRow(naive[0], naive[1], 1.0));
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("input", input);
    settings.put("model", saved != null ? model + " (loaded from " + modelIn + ", not refitted)" : model);
    settings.put("lookback L", lookback);
    settings.put("horizon H", horizon);
    settings.put("time step", grid.onGrid() ? TimeCodec.formatStep(grid.step(), timeType(table))
        + (freq.equals("auto") ? " (inferred)" : "") : "each row");
    settings.put("missing steps", grid.fill() == TimeGrid.Fill.NONE ? "left missing"
        : grid.fill().name().toLowerCase(java.util.Locale.ROOT) + " fill of runs up to " + maxGap + " steps");
    settings.put("holdout", "the last H steps of each series (" + scoredSeries + " series scored)");
    settings.put("series skipped (see skipped/)", skippedCount);
    settings.putAll(facts);
    if (!levels.isEmpty()) {
      settings.put("prediction intervals", levels.stream().map(l -> new java.math.BigDecimal(Double.toString(l))
          .stripTrailingZeros().toPlainString() + " %").collect(java.util.stream.Collectors.joining(", "))
          + " (split-conformal, calibrated on the windows of each series' last " + val + " steps)");
    }
    MarkdownReport md = MarkdownReport.titled("spark-ssm forecast").settings(settings).heading("Holdout metrics")
        .metrics(metrics).image("Forecast vs. actual", "forecast.png");
    if (ranked.size() > 1) {
      int shown = Math.min(SERIES_SHOWN, ranked.size() / 2);
      md = md.heading("Series").paragraph("Holdout metrics of each series (all of them are in series_metrics/): "
          + "the " + shown + " worst and the " + shown + " best by MSE relative to the naive forecast.")
          .paragraph("Worst:").table(SERIES_HEADER, seriesRows(ranked.subList(0, shown)))
          .paragraph("Best:").table(SERIES_HEADER, seriesRows(ranked.subList(ranked.size() - shown, ranked.size())));
    }
    if (skippedCount > 0) {
      List<List<?>> rows = new ArrayList<>();
      for (Row r : firstSkipped) {
        rows.add(List.of(String.valueOf(r.<Object>getAs(columns.series())), r.<Long>getAs(SsmForecast.STEPS),
            r.<Long>getAs(SsmForecast.MISSING), r.<Boolean>getAs(SsmForecast.SCORED) ? "yes" : "no",
            r.<Boolean>getAs(SsmForecast.FORECASTED) ? "yes" : "no", r.<String>getAs(SsmForecast.REASON)));
      }
      md = md.heading("Skipped series").paragraph(skippedCount > firstSkipped.size()
          ? "The first " + firstSkipped.size() + " of " + skippedCount + " (all are in skipped/):" : "All of them:")
          .table(List.of("series", "steps", "missing", "scored", "forecast", "reason"), rows);
    }
    Path report = md.write(reportDir.resolve("report.md"));
    commit.putLocalFile(out, report);
    commit.putLocalFile(out, png);
    Files.deleteIfExists(reportDir);
    holdout.unpersist();
    seriesMetrics.unpersist();

    List<String> summaryLines = new ArrayList<>();
    summaryLines.add(String.format(java.util.Locale.ROOT, "forecast: %s, L=%d, H=%d: holdout MSE %.4f, MAE %.4f "
        + "(naive: MSE %.4f, MAE %.4f)", model, lookback, horizon, score[0], score[1], naive[0], naive[1]));
    summaryLines.add("  forecasts: " + out + "/forecasts");
    summaryLines.add("  holdout:   " + out + "/holdout (and per series: " + out + "/series_metrics)");
    if (skippedCount > 0) {
      Row first = firstSkipped.get(0);
      summaryLines.add(String.format("  skipped:   %s/skipped (%d series, e.g. '%s': %s)", out, skippedCount,
          first.<Object>getAs(columns.series()), first.<String>getAs(SsmForecast.REASON)));
    }
    summaryLines.add("  metrics:   " + out + "/report.md");
    summaryLines.add("  plot:      " + out + "/forecast.png");
    if (modelOut != null) {
      summaryLines.add("  model:     " + modelOut);
    }
    return summaryLines;
  }

  /** Series listed at each end of the report's per-series ranking. */
  private static final int SERIES_SHOWN = 5;

  private static final List<String> SERIES_HEADER = List.of("series", "MSE", "MAE", "naive MSE", "naive MAE",
      "MSE / naive");

  // The columns this job adds to SsmForecast's (holdout/) and computes from them (series_metrics/).

  /** holdout/: the naive forecast of the same target (the last value before the holdout). */
  static final String NAIVE = "naive";
  /** series_metrics/: the holdout steps scored. */
  static final String HOLDOUT_STEPS = "steps";
  /** series_metrics/: the forecast's mean squared error over the holdout. */
  static final String MSE = "mse";
  /** series_metrics/: the forecast's mean absolute error over the holdout. */
  static final String MAE = "mae";
  /** series_metrics/: the naive forecast's mean squared error over the holdout. */
  static final String NAIVE_MSE = "naive_mse";
  /** series_metrics/: the naive forecast's mean absolute error over the holdout. */
  static final String NAIVE_MAE = "naive_mae";
  /** series_metrics/: {@link #MSE} / {@link #NAIVE_MSE}. */
  static final String RELATIVE_MSE = "relative_mse";

  /** The holdout rows with the naive forecast of the same target (the value at the window's origin). */
  private Dataset<Row> withNaive(Dataset<Row> holdout, Dataset<Row> naiveHoldout) {
    String s = columns.series();
    String t = columns.time();
    Dataset<Row> naive = naiveHoldout.select(col(s), col(t), col(SsmForecast.STEP),
        col(SsmForecast.FORECAST).as(NAIVE));
    return holdout.join(naive, scala.jdk.javaapi.CollectionConverters.asScala(List.of(s, t, SsmForecast.STEP))
        .toSeq(), "left").select(col(s), col(t), col(SsmForecast.STEP), col(SsmForecast.ACTUAL),
        col(SsmForecast.FORECAST), col(NAIVE));
  }

  /** One row per scored series: holdout steps, MSE and MAE of the forecast and of the naive forecast, their ratio. */
  private Dataset<Row> seriesMetrics(Dataset<Row> holdout) {
    return holdout.groupBy(col(columns.series())).agg(functions.count("*").as(HOLDOUT_STEPS), meanErrors())
        .withColumn(RELATIVE_MSE, col(MSE).divide(col(NAIVE_MSE)));
  }

  /** The mean errors of holdout rows: MSE and MAE of the forecast, then of the naive forecast. */
  private static org.apache.spark.sql.Column[] meanErrors() {
    return new org.apache.spark.sql.Column[] {functions.avg(squared(SsmForecast.FORECAST)).as(MSE),
        functions.avg(absolute(SsmForecast.FORECAST)).as(MAE), functions.avg(squared(NAIVE)).as(NAIVE_MSE),
        functions.avg(absolute(NAIVE)).as(NAIVE_MAE)};
  }

  /** The squared error of a holdout prediction column. */
  private static org.apache.spark.sql.Column squared(String prediction) {
    org.apache.spark.sql.Column error = col(SsmForecast.ACTUAL).minus(col(prediction));
    return error.multiply(error);
  }

  /** The absolute error of a holdout prediction column. */
  private static org.apache.spark.sql.Column absolute(String prediction) {
    return functions.abs(col(SsmForecast.ACTUAL).minus(col(prediction)));
  }

  private List<List<?>> seriesRows(List<Row> rows) {
    List<List<?>> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(Arrays.asList(String.valueOf(r.<Object>getAs(columns.series())), fmt(r.<Double>getAs(MSE)),
          fmt(r.<Double>getAs(MAE)), fmt(r.<Double>getAs(NAIVE_MSE)), fmt(r.<Double>getAs(NAIVE_MAE)),
          r.isNullAt(r.fieldIndex(RELATIVE_MSE)) ? "-" : fmt(r.<Double>getAs(RELATIVE_MSE))));
    }
    return out;
  }

  private static String fmt(double v) {
    return String.format(java.util.Locale.ROOT, "%.4f", v);
  }

  /** The keys of the series --plot names, at most --plot-series of them. */
  private List<Object> plotted(Dataset<Row> table, List<Row> ranked) {
    List<Object> ids = new ArrayList<>();
    switch (plot) {
      case "first":
        for (Row k : table.select(col(columns.series())).distinct().orderBy(col(columns.series())).limit(plotSeries)
            .collectAsList()) {
          ids.add(k.get(0));
        }
        return ids;
      case "worst":
      case "best":
        for (int i = 0; i < Math.min(plotSeries, ranked.size()); i++) {
          ids.add(ranked.get(plot.equals("worst") ? i : ranked.size() - 1 - i).getAs(columns.series()));
        }
        return ids;
      default:
        org.apache.spark.sql.types.DataType keyType = table.schema().apply(columns.series()).dataType();
        for (String name : plot.split(",")) {
          List<Row> found = table.select(col(columns.series())).where(col(columns.series()).equalTo(
              functions.lit(name.strip()).cast(keyType))).limit(1).collectAsList();
          if (found.isEmpty()) {
            throw new IllegalArgumentException(String.format("--plot: expected keys of series in column '%s', got "
                + "'%s', which no row has", columns.series(), name.strip()));
          }
          ids.add(found.get(0).get(0));
        }
        return ids;
    }
  }

  /** MSE, MAE and the MSE relative to naive, in that column order. */
  static Map<String, Double> metricRow(double mse, double mae, double relative) {
    Map<String, Double> row = new LinkedHashMap<>();
    row.put("MSE", mse);
    row.put("MAE", mae);
    row.put("MSE / naive", relative);
    return row;
  }

  /**
   * The columns of the forecasting stage's output ({@code future}) the plot reads: its point
   * forecast and the bounds of its first interval level (null without levels).
   */
  private record FutureColumns(String forecast, String lower, String upper) {
    static FutureColumns of(org.apache.spark.ml.Model<?> stage) {
      // Both stages (SsmForecasterModel, SsmNetForecasterModel) have these params; a saved one keeps its own.
      String prediction = (String) stage.getOrDefault(stage.getParam("predictionCol"));
      double[] levels = (double[]) stage.getOrDefault(stage.getParam("intervalLevels"));
      return levels.length == 0 ? new FutureColumns(prediction, null, null)
          : new FutureColumns(prediction, SsmForecast.intervalColumn(prediction, SsmForecast.LOWER, levels[0]),
              SsmForecast.intervalColumn(prediction, SsmForecast.UPPER, levels[0]));
    }

    boolean bands() {
      return lower != null;
    }
  }

  /** The series {@code ids}: their history before the holdout, the holdout, its forecast, and the future forecast. */
  private List<Plots.SeriesView> views(Dataset<Row> table, Dataset<Row> holdout, Dataset<Row> future,
      FutureColumns fc, List<Object> ids) {
    String s = columns.series();
    String t = columns.time();
    List<Plots.SeriesView> views = new ArrayList<>();
    for (Object id : ids) {
      List<Row> actual = holdout.filter(col(s).equalTo(functions.lit(id))).orderBy(t).collectAsList();
      List<Row> ahead = future.filter(col(s).equalTo(functions.lit(id))).orderBy(t).collectAsList();
      Object firstHoldout = actual.isEmpty() ? null : actual.get(0).getAs(t);
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
        Row r = actual.get(i);
        at[i] = instant(r.getAs(t));
        av[i] = r.<Double>getAs(SsmForecast.ACTUAL);
        ft[i] = at[i];
        fv[i] = r.<Double>getAs(SsmForecast.FORECAST);
      }
      Instant[] bt = new Instant[m];
      double[] lo = new double[m];
      double[] hi = new double[m];
      for (int i = 0; i < m; i++) {
        Row r = ahead.get(i);
        ft[n + i] = instant(r.getAs(t));
        fv[n + i] = r.<Double>getAs(fc.forecast());
        bt[i] = ft[n + i];
        lo[i] = fc.bands() ? r.<Double>getAs(fc.lower()) : Double.NaN;
        hi[i] = fc.bands() ? r.<Double>getAs(fc.upper()) : Double.NaN;
      }
      boolean bands = !ahead.isEmpty() && fc.bands();
      views.add(new Plots.SeriesView(String.valueOf(id), new Plots.Line(ht, hv), new Plots.Line(at, av),
          new Plots.Line(ft, fv), bands ? new Plots.Line(bt, lo) : null, bands ? new Plots.Line(bt, hi) : null,
          origin(history, actual)));
    }
    return views;
  }

  /** The forecast origin drawn in the plot: the last time before the holdout (the holdout forecast's origin). */
  private static Instant origin(List<Row> history, List<Row> holdout) {
    return history.isEmpty() || holdout.isEmpty() ? null : instant(history.get(history.size() - 1).get(0));
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

  /** Series named in the report (all of them are in the skipped table). */
  private static final int SKIPPED_SHOWN = 20;

  private org.apache.spark.sql.types.DataType timeType(Dataset<Row> table) {
    return table.schema().apply(columns.time()).dataType();
  }
}
