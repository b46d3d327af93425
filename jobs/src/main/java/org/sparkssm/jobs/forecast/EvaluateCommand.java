package org.sparkssm.jobs.forecast;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.LtsfData;
import org.sparkssm.forecast.LtsfSplit;
import org.sparkssm.gpu.Gpu;
import org.sparkssm.gpu.GpuLayers;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.jobs.report.MarkdownReport;
import org.sparkssm.jobs.report.Plots;
import org.sparkssm.nn.LayerDevice;
import org.sparkssm.nn.Precision;
import org.sparkssm.spark.forecast.SsmForecast;
import org.sparkssm.spark.forecast.WindowSplit;
import org.sparkssm.spark.gpu.TaskGpu;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.LtsfTraining;
import org.sparkssm.train.TrainedForecaster;
import org.sparkssm.train.TrainingConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code evaluate}: the long-sequence forecasting benchmark (LTSF-Linear, PatchTST, iTransformer,
 * S-Mamba protocol) on ETT and Weather files, every model × L × H fitted and scored on Spark.
 */
@Command(name = "evaluate", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Runs the standard long-sequence forecasting benchmark: multivariate files (ETTh1, ETTh2, ETTm1, ETTm2, "
            + "weather), the published train/validation/test borders, z-scores from the training rows, every "
            + "channel's stride-1 windows, MSE and MAE on the normalized scale over every test window. Each model "
            + "is fitted in one distributed pass (ridge λ chosen on the validation windows). The trained networks "
            + "(smamba, s4dnet, rlinear) train on the driver with the benchmark protocol (both ridge-skip candidates, "
            + "early stopping on the validation windows; a file's channels are one multivariate series, so they "
            + "train in one JVM: the train job trains over the many series of a table on Spark; with "
            + "--conf spark.ssm.gpu.enabled=auto|true their S4D convolutions and Mamba scans run on the driver's GPU "
            + "where there is one). Writes "
            + "<out>/results (Parquet), <out>/report.md and <out>/evaluate.png.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm evaluate --data ../shared/data --datasets ETTh1 -H 96",
        "  spark-ssm evaluate --data ../shared/data -m naive,nlinear,legt,s4d \\",
        "      -L 96,336 -H 96,192,336,720",
        "  spark-ssm evaluate --data ../shared/data --datasets ETTm1 \\",
        "      -m nlinear,smamba -H 96"})
public final class EvaluateCommand extends SparkCommand {
  @Option(names = "--data", paramLabel = "DIR", defaultValue = "../shared/data",
      description = "Folder of the benchmark CSV files, by URI (default: ${DEFAULT-VALUE}).")
  private String data;

  @Option(names = "--datasets", paramLabel = "NAMES", split = ",", defaultValue = "ETTh1,ETTh2,ETTm1,ETTm2,weather",
      description = "Files without .csv (default: ${DEFAULT-VALUE}).")
  private List<String> datasets;

  @Option(names = {"-m", "--models"}, paramLabel = "NAMES", split = ",", defaultValue = "naive,nlinear,legt,s4d,ssm",
      description = "Models: the closed-form ones (see forecast --help) and the trained networks smamba, s4dnet, "
          + "rlinear (default: ${DEFAULT-VALUE}).")
  private List<String> models;

  @Option(names = {"-L", "--lookback"}, paramLabel = "ROWS", split = ",", defaultValue = "96",
      description = "Lookbacks (default: ${DEFAULT-VALUE}).")
  private List<Integer> lookbacks;

  @Option(names = {"-H", "--horizon"}, paramLabel = "ROWS", split = ",", defaultValue = "96,192,336,720",
      description = "Horizons (default: ${DEFAULT-VALUE}).")
  private List<Integer> horizons;

  @Option(names = {"-o", "--out", "--output"}, paramLabel = "URI", defaultValue = "target/evaluate",
      description = "Output folder (default: ${DEFAULT-VALUE}).")
  private String out;

  @Option(names = "--epochs", paramLabel = "N",
      description = "Trained networks: the most epochs, early stopping on validation (default: the protocol's 8).")
  private Integer epochs;

  @Option(names = "--seed", paramLabel = "N",
      description = "Trained networks: the seed of initialization, window draws and dropout (default: 2021).")
  private Long seed;

  @Option(names = "--precision", paramLabel = "MODE", defaultValue = "float64",
      description = "Trained networks: what they compute in while training, float64, float32 or float32-state64 "
          + "(scoring stays float64) (default: ${DEFAULT-VALUE}).")
  private String precision;

  @Mixin
  private OutputOptions output;

  static final StructType RESULTS = new StructType().add("dataset", DataTypes.StringType)
      .add("model", DataTypes.StringType).add("lookback", DataTypes.IntegerType).add("horizon", DataTypes.IntegerType)
      .add("mse", DataTypes.DoubleType).add("mae", DataTypes.DoubleType).add("lambda_rel", DataTypes.DoubleType)
      .add("train_windows", DataTypes.LongType).add("test_windows", DataTypes.LongType)
      .add("seconds", DataTypes.DoubleType).add("settings", DataTypes.StringType);

  /**
   * One run of the grid: what the report and the summary read by field, and one row of {@link #RESULTS}
   * ({@link #row}, the only place that knows its column order).
   *
   * @param lambdaRel the chosen ridge λ_rel (NaN for the trained networks)
   * @param settings the trained network's settings, or the model's name
   */
  private record Result(String dataset, String model, int lookback, int horizon, double mse, double mae,
      double lambdaRel, long trainWindows, long testWindows, double seconds, String settings) {
    Row row() {
      return RowFactory.create(dataset, model, lookback, horizon, mse, mae, lambdaRel, trainWindows, testWindows,
          seconds, settings);
    }
  }

  @Override
  protected void validate() {
    for (String m : models) {
      try {
        if (!trained(m)) {
          ForecastModels.features(m, 8);
        }
      } catch (IllegalArgumentException e) {
        throw usageError("--models: %s", e.getMessage());
      }
    }
    if (epochs != null && epochs < 1) {
      throw usageError("--epochs: expected >= 1, got %d", epochs);
    }
    try {
      Precision.parse("--precision", precision);
    } catch (IllegalArgumentException e) {
      throw usageError("%s", e.getMessage());
    }
    for (int v : lookbacks) {
      if (v < 1) {
        throw usageError("--lookback: expected >= 1, got %d", v);
      }
    }
    for (int v : horizons) {
      if (v < 1) {
        throw usageError("--horizon: expected >= 1, got %d", v);
      }
    }
  }

  /** Where the networks' heavy layers train: a GPU's twins, or null for the CPU. */
  private LayerDevice device;

  @Override
  protected int run(SparkSession spark) throws Exception {
    // The networks train in this JVM: on its GPU (device 0) where spark.ssm.gpu.enabled lets them.
    Gpu gpu = Gpu.choose(TaskGpu.mode(spark), null);
    try (GpuLayers layers = gpu == null ? null : new GpuLayers(gpu);
        OutputCommit commit = output.begin(spark, this::notice, out)) {
      device = layers;
      List<String> summaryLines = evaluate(spark, commit);
      commit.publish();
      for (String line : summaryLines) {
        summary("%s", line);
      }
    }
    return 0;
  }

  /** Runs every cell, writes the outputs into the commit's staging folder; returns the summary lines. */
  private List<String> evaluate(SparkSession spark, OutputCommit commit) throws Exception {
    int total = datasets.size() * lookbacks.size() * horizons.size() * models.size();
    int done = 0;
    List<Result> results = new ArrayList<>();
    List<Plots.SeriesView> views = new ArrayList<>();
    for (String name : datasets) {
      String file = data + "/" + name + ".csv";
      Text text = read(spark, file);
      LtsfData ltsf = LtsfData.parse(file, text.content);
      LtsfSplit split = LtsfSplit.forFile(name, ltsf.rows());
      double[][] z = ltsf.standardized(split.trainEnd());
      Dataset<Row> df = longFormat(spark, ltsf, z, split.testEnd()).cache();
      WindowSplit protocol = WindowSplit.byTime(split.trainEnd(), split.valEnd(), split.testEnd());
      for (int l : lookbacks) {
        for (int h : horizons) {
          for (String m : models) {
            split.check(file, ltsf.rows(), trained(m) ? l : ForecastModels.features(m, l).rowsRead(), h);
          }
          Forecast best = null;
          double bestMse = Double.POSITIVE_INFINITY;
          for (String m : models) {
            phase("%s L=%d H=%d %s (run %d of %d)", name, l, h, m, done + 1, total);
            Result row;
            Forecast forecast;
            if (trained(m)) {
              TrainingConfig cfg = training();
              LtsfTraining.Cell c = LtsfTraining.run(name, ltsf, split, LtsfTraining.standardCandidates(m, name),
                  new double[] {cfg.learningRate()}, l, h, cfg, null, device);
              row = new Result(name, m, l, h, c.mse(), c.mae(), Double.NaN, c.trainWindows(), c.testWindows(),
                  c.seconds(), c.settings());
              forecast = Forecast.of(m, c.forecaster());
            } else {
              long start = System.nanoTime();
              SsmForecast.Fitted fit = SsmForecast.on(df).model(m).lookback(l).horizon(h).split(protocol).fit();
              SsmForecast.Metrics score = fit.evaluate(df);
              row = new Result(name, m, l, h, score.mse(), score.mae(), fit.lambdaRel(), fit.trainWindows(),
                  score.windows(), (System.nanoTime() - start) / 1e9, m);
              forecast = Forecast.of(fit.linear());
            }
            done++;
            summary("[%d/%d] %s L=%d H=%d %-8s MSE %.4f MAE %.4f (%s, %.1f s)", done, total, name, l, h, m,
                row.mse(), row.mae(), trained(m) ? row.settings() : Double.isNaN(row.lambdaRel())
                    ? "λ_rel -" : String.format(Locale.ROOT, "λ_rel %.0e", row.lambdaRel()), row.seconds());
            results.add(row);
            if (row.mse() < bestMse) {
              bestMse = row.mse();
              best = forecast;
            }
          }
          if (views.size() < 4 && l == lookbacks.get(0) && h == horizons.get(0)) {
            views.add(lastTestWindow(name, ltsf, z, split, best, h, text));
          }
        }
      }
      df.unpersist();
    }
    List<Row> rows = new ArrayList<>();
    for (Result r : results) {
      rows.add(r.row());
    }
    Tables.write(spark.createDataFrame(rows, RESULTS).coalesce(1), commit.staged(out) + "/results",
        DataFormat.PARQUET);
    Path reportDir = Files.createTempDirectory("spark-ssm-evaluate-report");
    Path png = Plots.forecastVsActual(reportDir.resolve("evaluate.png"), "best model, last test window", views);
    List<List<?>> table = new ArrayList<>();
    for (Result r : results) {
      table.add(Arrays.asList(r.dataset(), r.model(), r.lookback(), r.horizon(),
          String.format(Locale.ROOT, "%.4f", r.mse()), String.format(Locale.ROOT, "%.4f", r.mae()),
          Double.isNaN(r.lambdaRel()) ? "-" : String.format(Locale.ROOT, "%.0e", r.lambdaRel()),
          trained(r.model()) ? r.settings() : "-"));
    }
    Path report = MarkdownReport.titled("spark-ssm evaluate: LTSF benchmark")
        .paragraph("Multivariate setting, published borders, z-scores from the training rows (population std), "
            + "stride-1 windows of every channel, MSE and MAE on the normalized scale over every test window.")
        .table(List.of("dataset", "model", "L", "H", "MSE", "MAE", "λ_rel", "trained network (picked on validation)"),
            table)
        .image("Last test window of the OT channel (best model by MSE at the first L and H)", "evaluate.png")
        .write(reportDir.resolve("report.md"));
    commit.putLocalFile(out, report);
    commit.putLocalFile(out, png);
    Files.deleteIfExists(reportDir);
    return List.of("evaluate: " + results.size() + " runs", "  results: " + out + "/results",
        "  metrics: " + out + "/report.md", "  plot:    " + out + "/evaluate.png");
  }

  /** A file's text and, from its first two dates, its start and step (for the plot's time axis). */
  private static final class Text {
    final String content;
    final Instant start;
    final Duration step;

    Text(String content) {
      this.content = content;
      String[] lines = content.split("\r?\n", 4);
      Instant s = Instant.EPOCH;
      Duration d = Duration.ofHours(1);
      if (lines.length >= 3) {
        try {
          DateTimeFormatter f = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
          s = LocalDateTime.parse(lines[1].split(",", 2)[0], f).toInstant(ZoneOffset.UTC);
          d = Duration.between(s, LocalDateTime.parse(lines[2].split(",", 2)[0], f).toInstant(ZoneOffset.UTC));
        } catch (RuntimeException e) {
          // Not the usual date format: the plot falls back to hourly steps from the epoch.
        }
      }
      this.start = s;
      this.step = d;
    }

    Instant at(int row) {
      return start.plus(step.multipliedBy(row));
    }
  }

  private static Text read(SparkSession spark, String uri) throws IOException {
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(uri);
    FileSystem fs = path.getFileSystem(spark.sparkContext().hadoopConfiguration());
    if (!fs.exists(path)) {
      throw new IllegalArgumentException("--data: expected the benchmark file '" + uri + "', got none");
    }
    try (InputStream in = fs.open(path)) {
      return new Text(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /**
   * The normalized rows up to the test end in long format: channel name, row number, value. The
   * values travel once per executor as a broadcast and rows are made on the executors (a frame made
   * from driver-side rows would ship its whole data inside the tasks).
   */
  private static Dataset<Row> longFormat(SparkSession spark, LtsfData ltsf, double[][] z, int rows) {
    String[] names = new String[z.length];
    double[][] kept = new double[z.length][];
    for (int c = 0; c < z.length; c++) {
      names[c] = ltsf.column(c);
      kept[c] = Arrays.copyOf(z[c], rows);
    }
    Broadcast<double[][]> values = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(kept);
    StructType schema = new StructType().add("unique_id", DataTypes.StringType).add("ds", DataTypes.LongType)
        .add("y", DataTypes.DoubleType);
    int partitions = Math.max(1, spark.sparkContext().defaultParallelism());
    return spark.range(0, (long) z.length * rows, 1, partitions).map((MapFunction<Long, Row>) i -> {
      int c = (int) (i / rows);
      long t = i % rows;
      return RowFactory.create(names[c], t, values.value()[c][(int) t]);
    }, Encoders.row(schema));
  }

  private static boolean trained(String model) {
    return Arrays.asList(DeepModels.NAMES).contains(model.trim().toLowerCase(Locale.ROOT));
  }

  private TrainingConfig training() {
    TrainingConfig cfg = TrainingConfig.ltsf();
    return cfg.withEpochs(epochs != null ? epochs : cfg.epochs()).withSeed(seed != null ? seed : cfg.seed())
        .withPrecision(Precision.parse("--precision", precision));
  }

  /** The forecast of one channel's window by a fitted model of either kind, for the plot. */
  private interface Forecast {
    String name();

    /** The past values a window reads (drawn as its history). */
    int rowsRead();

    double[] predict(double[][] z, int channel, int start);

    static Forecast of(LinearForecaster model) {
      return new Forecast() {
        public String name() {
          return model.features().name();
        }

        public int rowsRead() {
          return model.rowsRead();
        }

        public double[] predict(double[][] z, int channel, int start) {
          double[] yhat = new double[model.horizon()];
          model.predict(z[channel], start, yhat, 0, new double[model.workspaceSize()]);
          return yhat;
        }
      };
    }

    static Forecast of(String name, TrainedForecaster model) {
      return new Forecast() {
        public String name() {
          return name;
        }

        public int rowsRead() {
          return model.model().lookback();
        }

        public double[] predict(double[][] z, int channel, int start) {
          return model.forecast(z, start)[channel];
        }
      };
    }
  }

  /** The last test window of the last channel (OT), normalized: lookback, actual and forecast. */
  private static Plots.SeriesView lastTestWindow(String name, LtsfData ltsf, double[][] z, LtsfSplit split,
      Forecast model, int h, Text text) {
    int c = ltsf.channels() - 1;
    int l = model.rowsRead();
    int origin = split.testEnd() - h; // first target row
    Instant[] ht = new Instant[l];
    double[] hv = new double[l];
    for (int i = 0; i < l; i++) {
      ht[i] = text.at(origin - l + i);
      hv[i] = z[c][origin - l + i];
    }
    double[] yhat = model.predict(z, c, origin - l);
    Instant[] at = new Instant[h];
    double[] av = new double[h];
    for (int i = 0; i < h; i++) {
      at[i] = text.at(origin + i);
      av[i] = z[c][origin + i];
    }
    return new Plots.SeriesView(name + " " + ltsf.column(c) + " (" + model.name() + ")",
        new Plots.Line(ht, hv), new Plots.Line(at, av), new Plots.Line(at.clone(), yhat));
  }
}
