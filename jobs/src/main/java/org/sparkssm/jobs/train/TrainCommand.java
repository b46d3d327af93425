package org.sparkssm.jobs.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkssm.jobs.cli.DataFormat;
import org.sparkssm.jobs.cli.OutputCommit;
import org.sparkssm.jobs.cli.OutputOptions;
import org.sparkssm.jobs.cli.SeriesColumns;
import org.sparkssm.jobs.cli.SparkCommand;
import org.sparkssm.jobs.cli.Tables;
import org.sparkssm.jobs.forecast.ForecastCommand;
import org.sparkssm.jobs.report.MarkdownReport;
import org.sparkssm.jobs.report.Plots;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.Precision;
import org.sparkssm.spark.forecast.TimeGrid;
import org.sparkssm.spark.ml.SsmNetForecaster;
import org.sparkssm.spark.ml.SsmNetForecasterModel;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code train}: trains one deep SSM forecaster over every series of a long-format table,
 * data-parallel on the executors ({@link SsmNetForecaster}), and writes the model (loadable with
 * {@code SsmNetForecasterModel.load} and {@code forecast --model-in}), a report and the training
 * curve.
 */
@Command(name = "train", sortOptions = false, usageHelpAutoWidth = true,
    description = {
        "Trains one deep state-space forecaster of the next H values from the last L over every series of a "
            + "long-format table: smamba (variate tokens, bidirectional Mamba), s4dnet (deep S4D over time) or "
            + "rlinear. Windows are built and kept on the executors; each optimizer step is one Spark job whose "
            + "tasks compute the gradients of their windows, summed in a fixed order (the same seed and "
            + "--partitions give the same weights). The windows of each series' last --val-rows steps choose the "
            + "best epoch (early stopping) and calibrate --levels intervals. Writes <out>/model, <out>/report.md "
            + "and <out>/training.png.",
        ""},
    footer = {"", "Examples:",
        "  spark-ssm train                           # s4dnet on the sample panel in data-samples/",
        "  spark-ssm train -m smamba -L 96 -H 24 --epochs 20 --checkpoint /tmp/ckpt",
        "  spark-ssm train -i hdfs:///sales -o hdfs:///models/sales --series-col store \\",
        "      --time-col day --value-col units -L 56 -H 14 --partitions 64 \\",
        "      --checkpoint hdfs:///ckpt/sales --resume"})
public final class TrainCommand extends SparkCommand {
  @Option(names = {"-i", "--input"}, paramLabel = "URI", defaultValue = ForecastCommand.SAMPLE,
      description = "Input table in long format: Parquet or CSV with a header (default: ${DEFAULT-VALUE}).")
  private String input;

  @Option(names = "--format", paramLabel = "FORMAT", description = "Input format, parquet or csv (default: from the name).")
  private DataFormat format;

  @Option(names = {"-o", "--out", "--output"}, paramLabel = "URI", defaultValue = "target/train",
      description = "Output folder (default: ${DEFAULT-VALUE}).")
  private String out;

  @Mixin
  private OutputOptions output;

  @Mixin
  private SeriesColumns columns;

  @Option(names = "--value-col", paramLabel = "NAME", defaultValue = "y", description = "Value column (default: ${DEFAULT-VALUE}).")
  private String value;

  @Option(names = {"-m", "--model"}, paramLabel = "NAME", defaultValue = "s4dnet",
      description = "Network: smamba, s4dnet or rlinear (default: ${DEFAULT-VALUE}).")
  private String model;

  @Option(names = {"-L", "--lookback"}, paramLabel = "ROWS", defaultValue = "96", description = "Lookback L (default: ${DEFAULT-VALUE}).")
  private int lookback;

  @Option(names = {"-H", "--horizon"}, paramLabel = "ROWS", defaultValue = "24", description = "Horizon H (default: ${DEFAULT-VALUE}).")
  private int horizon;

  @Option(names = "--val-rows", paramLabel = "ROWS",
      description = "Rows at the end of each series whose windows choose the best epoch (default: 2 H).")
  private Integer validationRows;

  @Option(names = "--freq", paramLabel = "STEP", defaultValue = "auto",
      description = "Time step of every series: auto, rows, a duration such as 1h, or a number for integer times "
          + "(as forecast's --freq; default: ${DEFAULT-VALUE}).")
  private String freq;

  @Option(names = "--fill", paramLabel = "POLICY", defaultValue = "none",
      description = "Fills short runs of missing steps: none, ffill, linear or zero; windows with a step left "
          + "missing are not trained on and are counted in the report (default: ${DEFAULT-VALUE}).")
  private String fill;

  @Option(names = "--max-gap", paramLabel = "STEPS", defaultValue = "3",
      description = "Longest run of missing steps --fill fills (default: ${DEFAULT-VALUE}).")
  private int maxGap;

  @Option(names = "--d-model", paramLabel = "N", description = "Width of the representation (default: the model's).")
  private Integer dModel;

  @Option(names = "--layers", paramLabel = "N", description = "Encoder layers (default: the model's).")
  private Integer layers;

  @Option(names = "--d-state", paramLabel = "N", description = "SSM state size (default: the model's).")
  private Integer dState;

  @Option(names = "--d-ff", paramLabel = "N", description = "Feed-forward width (default: the model's).")
  private Integer dFf;

  @Option(names = "--dropout", paramLabel = "P", defaultValue = "0.1", description = "Dropout (default: ${DEFAULT-VALUE}).")
  private double dropout;

  @Option(names = "--cycle", paramLabel = "STEPS", defaultValue = "0",
      description = "Period of a learned cycle in steps, e.g. 24 for a daily cycle of hourly data; 0: none "
          + "(default: ${DEFAULT-VALUE}).")
  private int cycle;

  @Option(names = "--skip", paramLabel = "NAME", defaultValue = "none",
      description = "none, or nlinear: learn the residual of the closed-form nlinear forecaster (default: ${DEFAULT-VALUE}).")
  private String skip;

  @Option(names = "--epochs", paramLabel = "N", defaultValue = "10", description = "Most epochs (default: ${DEFAULT-VALUE}).")
  private int epochs;

  @Option(names = "--batch", paramLabel = "N", defaultValue = "32", description = "Windows per step (default: ${DEFAULT-VALUE}).")
  private int batch;

  @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-3",
      description = "AdamW's learning rate, cosine decay (default: ${DEFAULT-VALUE}).")
  private double learningRate;

  @Option(names = "--weight-decay", paramLabel = "W", defaultValue = "0", description = "AdamW's weight decay (default: ${DEFAULT-VALUE}).")
  private double weightDecay;

  @Option(names = "--clip", paramLabel = "NORM", defaultValue = "1", description = "Gradient-norm clip, 0: none (default: ${DEFAULT-VALUE}).")
  private double clip;

  @Option(names = "--loss", paramLabel = "NAME", defaultValue = "mse", description = "mse, mae or huber[:delta] (default: ${DEFAULT-VALUE}).")
  private String loss;

  @Option(names = "--patience", paramLabel = "N", defaultValue = "3",
      description = "Epochs without a better validation MSE before stopping, 0: never (default: ${DEFAULT-VALUE}).")
  private int patience;

  @Option(names = "--windows-per-epoch", paramLabel = "N", defaultValue = "0",
      description = "Windows drawn per epoch, 0: all (default: ${DEFAULT-VALUE}).")
  private int windowsPerEpoch;

  @Option(names = "--seed", paramLabel = "N", defaultValue = "2021", description = "Seed (default: ${DEFAULT-VALUE}).")
  private long seed;

  @Option(names = "--precision", paramLabel = "MODE", defaultValue = "float64",
      description = "What the network computes in: float64, float32 (projections, Mamba scans and S4D "
          + "convolutions in float32, about twice the vector lanes; weights, gradients and AdamW stay float64) or "
          + "float32-state64 (the Mamba scans keep float64 state) (default: ${DEFAULT-VALUE}).")
  private String precision;

  @Option(names = "--partitions", paramLabel = "P", defaultValue = "0",
      description = "Partitions (tasks per step) the windows are spread over; the weights depend on it only "
          + "through summation order; 0: Spark's default parallelism (default: ${DEFAULT-VALUE}).")
  private int partitions;

  @Option(names = "--checkpoint", paramLabel = "URI",
      description = "Folder for a checkpoint after every epoch (weights, optimizer, step); with --resume a stopped "
          + "run continues from it and ends with the weights of an uninterrupted run.")
  private String checkpoint;

  @Option(names = "--resume", description = "Continue from the newest checkpoint in --checkpoint.")
  private boolean resume;

  @Option(names = "--levels", paramLabel = "PERCENTS", split = ",",
      description = "Prediction interval levels in percent, e.g. 80,95 (split-conformal, from the validation windows).")
  private List<Double> levels = new ArrayList<>();

  @Override
  protected void validate() {
    if (lookback < 1 || horizon < 1) {
      throw usageError("--lookback, --horizon: expected >= 1, got %d, %d", lookback, horizon);
    }
    if (validationRows != null && validationRows < horizon) {
      throw usageError("--val-rows: expected >= the horizon (%d), got %d", horizon, validationRows);
    }
    try {
      DeepModels spec = spec();
      new SsmNetForecaster().setModel(spec.name()).setSkip(skip).setDropout(dropout).setCycle(cycle)
          .setEpochs(epochs).setBatchSize(batch).setLearningRate(learningRate).setWeightDecay(weightDecay)
          .setClipNorm(clip).setPatience(patience).setWindowsPerEpoch(windowsPerEpoch).setNumPartitions(partitions)
          .setMaxGap(maxGap);
      Loss.parse(loss);
      Precision.parse("--precision", precision);
      TimeGrid.Fill.parse(fill);
      TimeGrid.checkFreq("--freq", freq);
    } catch (IllegalArgumentException e) {
      throw usageError("%s", e.getMessage());
    }
    for (double level : levels) {
      if (!(level > 0 && level < 100)) {
        throw usageError("--levels: expected percentages between 0 and 100, got %s", level);
      }
    }
    if (resume && checkpoint == null) {
      throw usageError("--resume: expected --checkpoint, the folder to resume from");
    }
  }

  private DeepModels spec() {
    if (!skip.equals("none") && !skip.equals("nlinear")) {
      throw new IllegalArgumentException("--skip: expected none or nlinear, got '" + skip + "'");
    }
    return new DeepModels(model, size(dModel, "--d-model"), size(layers, "--layers"), size(dState, "--d-state"),
        size(dFf, "--d-ff"), dropout, cycle, skip.equals("nlinear"));
  }

  private static int size(Integer v, String option) {
    if (v == null) {
      return -1;
    }
    if (v < 1) {
      throw new IllegalArgumentException(option + ": expected >= 1, got " + v);
    }
    return v;
  }

  @Override
  protected int run(SparkSession spark) throws Exception {
    input = ForecastCommand.sampleOr(spark, input);
    DeepModels spec = spec();
    int val = validationRows == null ? 2 * horizon : validationRows;
    SsmNetForecaster estimator = new SsmNetForecaster().setSeriesCol(columns.series()).setTimeCol(columns.time())
        .setValueCol(value).setModel(spec.name()).setDModel(spec.dModel()).setLayers(spec.layers())
        .setDState(spec.dState()).setDFf(spec.dFf()).setDropout(dropout).setCycle(cycle).setSkip(skip)
        .setLookback(lookback).setHorizon(horizon).setValidationRows(val).setFreq(freq).setFill(fill)
        .setMaxGap(maxGap).setEpochs(epochs).setBatchSize(batch).setLearningRate(learningRate)
        .setWeightDecay(weightDecay).setClipNorm(clip).setLoss(loss).setPatience(patience)
        .setWindowsPerEpoch(windowsPerEpoch).setSeed(seed).setNumPartitions(partitions).setPrecision(precision)
        .setCheckpointDir(checkpoint == null ? "" : checkpoint).setResume(resume)
        .setIntervalLevels(levels.stream().mapToDouble(l -> l / 100).toArray());
    SsmNetForecasterModel trained;
    long start = System.nanoTime();
    try (OutputCommit commit = output.begin(spark, this::notice, out)) {
      Dataset<Row> table = Tables.read(spark, input, format).cache();
      try {
        phase("reading %s and building the windows", input);
        estimator.transformSchema(table.schema());
        trained = estimator.fit(table, new Progress(spec.settings()));
      } finally {
        table.unpersist();
      }
      phase("writing the outputs");
      String staged = commit.staged(out);
      trained.write().save(staged + "/model");
      Path reportDir = Files.createTempDirectory("spark-ssm-train-report");
      List<Trainer.Epoch> history = trained.history();
      int[] epochNumbers = history.stream().mapToInt(Trainer.Epoch::epoch).toArray();
      Path png = Plots.trainingCurve(reportDir.resolve("training.png"), spec.settings() + ", L=" + lookback
          + ", H=" + horizon, epochNumbers, history.stream().mapToDouble(Trainer.Epoch::trainLoss).toArray(),
          history.stream().mapToDouble(Trainer.Epoch::validationMse).toArray(), trained.bestEpoch());
      Path report = report(trained, spec, val, (System.nanoTime() - start) / 1e9).write(reportDir.resolve("report.md"));
      commit.putLocalFile(out, report);
      commit.putLocalFile(out, png);
      Files.deleteIfExists(reportDir);
      commit.publish();
    }
    summary("train: %s, L=%d, H=%d: best validation MSE %.4f at epoch %d of %d (%d training windows, %d skipped, %d "
        + "partitions)", spec.settings(), lookback, horizon, trained.validationMse(), trained.bestEpoch(),
        trained.history().get(trained.history().size() - 1).epoch(), trained.trainWindows(),
        trained.skippedWindows(), trained.partitions());
    summary("  model:   %s/model (forecast --model-in %s/model)", out, out);
    summary("  report:  %s/report.md", out);
    summary("  curve:   %s/training.png", out);
    return 0;
  }

  private MarkdownReport report(SsmNetForecasterModel m, DeepModels spec, int val, double seconds) {
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("input", input);
    settings.put("model", spec.settings() + " (" + m.forecaster().model().layout().size() + " parameters)");
    settings.put("lookback L", lookback);
    settings.put("horizon H", horizon);
    settings.put("time step", m.grid().onGrid() ? m.grid().step() + " time units" + (freq.equals("auto")
        ? " (inferred)" : "") : "each row");
    settings.put("training", String.format(Locale.ROOT, "AdamW lr %s (cosine), weight decay %s, clip %s, loss %s, "
        + "batch %d, up to %d epochs%s, patience %d, seed %d, compute %s", learningRate, weightDecay, clip, loss, batch,
        epochs, windowsPerEpoch > 0 ? " of " + windowsPerEpoch + " windows" : "", patience, seed,
        Precision.parse("--precision", precision)));
    settings.put("partitions", m.partitions());
    settings.put("training windows", m.trainWindows());
    settings.put("validation windows (each series' last " + val + " steps)", m.validationWindows());
    settings.put("windows left out for a missing step", m.skippedWindows());
    settings.put("kept epoch (best validation MSE)", m.bestEpoch());
    settings.put("wall time", String.format(Locale.ROOT, "%.1f s", seconds));
    if (checkpoint != null) {
      settings.put("checkpoints", checkpoint + (resume ? " (resumed)" : ""));
    }
    List<List<?>> rows = new ArrayList<>();
    for (Trainer.Epoch e : m.history()) {
      rows.add(List.of(e.epoch(), fmt(e.trainLoss()), fmt(e.validationMse()), fmt(e.validationMae()),
          e.epoch() == 0 ? "" : String.format(Locale.ROOT, "%.2e", e.learningRate()),
          String.format(Locale.ROOT, "%.1f", e.seconds()), e.epoch() == m.bestEpoch() ? "kept" : ""));
    }
    return MarkdownReport.titled("spark-ssm train").settings(settings).heading("Training")
        .paragraph("Epoch 0 is the starting weights. Losses are on the scale of the data (each window is "
            + "normalized inside the network and its forecast denormalized).")
        .table(List.of("epoch", "train loss", "validation MSE", "validation MAE", "last learning rate", "seconds", ""),
            rows)
        .image("Training curve", "training.png");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.5f", v);
  }

  /** Progress in training terms: epoch, step, losses and the time left at the current pace. */
  private final class Progress implements Trainer.Listener {
    private final String settings;
    private final long start = System.nanoTime();
    private long lastDraw;
    private long steps;
    private double lastValidation = Double.NaN;

    Progress(String settings) {
      this.settings = settings;
    }

    @Override
    public void step(int epoch, int step, int stepsPerEpoch, double loss) {
      steps++;
      long now = System.nanoTime();
      if (now - lastDraw < 2_000_000_000L && step != stepsPerEpoch) {
        return; // at most one phase line every 2 s: plain logs get one line per phase change
      }
      lastDraw = now;
      double perStep = (now - start) / 1e9 / steps;
      long left = (long) (epochs - epoch) * stepsPerEpoch + (stepsPerEpoch - step);
      phase("training %s: epoch %d/%d, step %d/%d, train loss %.4f%s, at most %s left", settings, epoch, epochs,
          step, stepsPerEpoch, loss, Double.isNaN(lastValidation) ? ""
              : String.format(Locale.ROOT, ", validation MSE %.4f", lastValidation), duration(perStep * left));
    }

    @Override
    public void epoch(Trainer.State state) {
      List<Trainer.Epoch> h = state.history();
      if (!h.isEmpty()) {
        lastValidation = h.get(h.size() - 1).validationMse();
      }
    }
  }

  private static String duration(double seconds) {
    long s = Math.round(seconds);
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
        : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
  }
}
