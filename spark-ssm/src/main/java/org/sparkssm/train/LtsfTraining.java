package org.sparkssm.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sparkssm.Checks;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.LtsfData;
import org.sparkssm.forecast.LtsfEvaluation;
import org.sparkssm.forecast.RidgeStats;
import org.sparkssm.forecast.LtsfSplit;
import org.sparkssm.forecast.LtsfSplit.Part;

/**
 * The LTSF protocol ({@link org.sparkssm.forecast.LtsfEvaluation}'s split, train-row z-scores,
 * every test window, MSE / MAE on the normalized scale over every window × step × channel) for
 * trained networks. Each candidate setting (model × hyperparameters × learning rate) is trained on
 * the training windows with early stopping on the validation windows; the candidate with the
 * lowest validation MSE is the only one scored on the test windows, once.
 *
 * <p>Command line (one line per cell on stdout; {@code --out} appends tab-separated rows; {@code
 * --save DIR} saves each cell's picked forecaster to {@code DIR/<dataset>-L<L>-H<H>}, see
 * {@link TrainedForecaster#save}). Every
 * option defaults to the benchmark protocol ({@link TrainingConfig#ltsf()}, {@link #standardCandidates}:
 * {@code --cycle auto} is the file's daily period where known, none otherwise; {@code --skip
 * none,nlinear} makes both candidates); a comma list makes one candidate per value:
 * <pre>
 *   java -cp spark-ssm/target/classes org.sparkssm.train.LtsfTraining --data ../shared/data \
 *       --datasets ETTh1 -L 96 -H 96,192 --models smamba --d-model 64,128 --lr 1e-3,5e-4 --out cells.tsv
 * </pre>
 */
public final class LtsfTraining {
  private LtsfTraining() {}

  /** One evaluated cell: the chosen setting, its test scores and the trained pick itself. */
  public record Cell(String dataset, String settings, int lookback, int horizon, double learningRate, double mse,
      double mae, double validationMse, int bestEpoch, int epochsRun, int trainWindows, int skippedWindows, long seed,
      double seconds, int candidates, int testWindows, TrainedForecaster forecaster) {
    static final String HEADER = "dataset\tsettings\tL\tH\tlr\ttest_mse\ttest_mae\tval_mse\tbest_epoch\tepochs\t"
        + "train_windows\tskipped\tseed\tseconds\tcandidates";

    String tsv() {
      return String.format(Locale.ROOT, "%s\t%s\t%d\t%d\t%s\t%.6f\t%.6f\t%.6f\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d", dataset,
          settings, lookback, horizon, learningRate, mse, mae, validationMse, bestEpoch, epochsRun, trainWindows,
          skippedWindows, seed, seconds, candidates);
    }
  }

  /** Trains every candidate, picks on validation, scores the pick on test. */
  public static Cell run(String dataset, LtsfData data, LtsfSplit split, List<DeepModels> models, double[] rates,
      int lookback, int horizon, TrainingConfig cfg, PrintStream log) {
    return run(dataset, data, split, models, rates, lookback, horizon, cfg, log, null);
  }

  /** As the other {@code run}, training on {@code device} (null: the CPU; see {@link WindowModel#runOn}). */
  public static Cell run(String dataset, LtsfData data, LtsfSplit split, List<DeepModels> models, double[] rates,
      int lookback, int horizon, TrainingConfig cfg, PrintStream log, org.sparkssm.nn.LayerDevice device) {
    Checks.notNull("data", data);
    if (models.isEmpty() || rates.length == 0) {
      Checks.fail("candidates: expected at least one model and one learning rate, got %d and %d", models.size(),
          rates.length);
    }
    long start = System.nanoTime();
    split.check(data.source(), data.rows(), lookback, horizon);
    double[][] z = data.standardized(split.trainEnd());
    Windows train = Windows.of(z, split.from(Part.TRAIN, lookback), split.to(Part.TRAIN), lookback, horizon);
    Windows val = Windows.of(z, split.from(Part.VALIDATION, lookback), split.to(Part.VALIDATION), lookback, horizon);
    LinearForecaster ridge = null;
    for (DeepModels spec : models) {
      if (spec.skip() && ridge == null) {
        ridge = LtsfEvaluation.fit(z, split, ForecastModels.features("nlinear", lookback), horizon,
            RidgeStats.DEFAULT_LAMBDAS).model();
      }
    }
    WindowModel bestModel = null;
    Trainer.Result best = null;
    DeepModels bestSpec = null;
    double bestRate = Double.NaN;
    for (DeepModels spec : models) {
      for (double rate : rates) {
        WindowModel model = spec.build(lookback, horizon, data.channels(), ridge);
        Trainer.Result r = Trainer.train(model, train, val, cfg.withLearningRate(rate), device);
        if (log != null) {
          log.printf(Locale.ROOT, "  %s H=%d %s lr=%s: val %.4f (epoch %d of %d), %.0f s%n", dataset, horizon,
              spec.settings(), rate, r.bestValidationMse(), r.bestEpoch(), r.epochsTrained(), r.seconds());
        }
        if (best == null || r.bestValidationMse() < best.bestValidationMse()) {
          best = r;
          bestModel = model;
          bestSpec = spec;
          bestRate = rate;
        }
      }
    }
    Windows test = Windows.of(z, split.from(Part.TEST, lookback), split.to(Part.TEST), lookback, horizon);
    double[] scores = Trainer.score(bestModel, best.weights(), test, cfg.threads());
    return new Cell(dataset, bestSpec.settings(), lookback, horizon, bestRate, scores[0], scores[1],
        best.bestValidationMse(), best.bestEpoch(), best.epochsTrained(), train.size(), (int) train.skipped(), cfg.seed(),
        (System.nanoTime() - start) / 1e9, models.size() * rates.length, test.size(),
        new TrainedForecaster(bestSpec, bestSpec.skip() ? ridge : null, bestModel, best.weights()));
  }

  /**
   * The benchmark's candidates for a model name on a dataset (the protocol BENCHMARKS.md reports):
   * the name's defaults with the dataset's daily cycle where it is known ({@link #dailyPeriod}),
   * with and without the {@code nlinear} skip, picked on validation. Train them with
   * {@link TrainingConfig#ltsf()}.
   */
  public static List<DeepModels> standardCandidates(String model, String dataset) {
    DeepModels plain = DeepModels.named(model);
    int cycle = dailyPeriod(dataset);
    List<DeepModels> out = new ArrayList<>();
    for (boolean skip : new boolean[] {false, true}) {
      out.add(new DeepModels(plain.name(), plain.dModel(), plain.layers(), plain.dState(), plain.dFf(),
          plain.dropout(), cycle, skip));
    }
    return out;
  }

  /** Runs the command line; a bad argument or setting prints one line naming it and exits with 2. */
  public static void main(String[] args) throws IOException {
    try {
      runCommandLine(args);
    } catch (IllegalArgumentException e) {
      System.err.println("ltsf-training: " + e.getMessage());
      System.exit(2);
    }
  }

  private static void runCommandLine(String[] args) throws IOException {
    Map<String, String> a = parse(args);
    Path dir = Path.of(a.getOrDefault("--data", "../shared/data"));
    String[] datasets = a.getOrDefault("--datasets", "ETTh1").split(",");
    int[] horizons = ints(a.getOrDefault("-H", "96"));
    int lookback = Integer.parseInt(a.getOrDefault("-L", "96"));
    TrainingConfig std = TrainingConfig.ltsf();
    double[] rates = doubles(a.getOrDefault("--lr", String.valueOf(std.learningRate())));
    TrainingConfig cfg = std
        .withEpochs(Integer.parseInt(a.getOrDefault("--epochs", String.valueOf(std.epochs()))))
        .withBatchSize(Integer.parseInt(a.getOrDefault("--batch", String.valueOf(std.batchSize()))))
        .withPatience(Integer.parseInt(a.getOrDefault("--patience", String.valueOf(std.patience()))))
        .withSeed(Long.parseLong(a.getOrDefault("--seed", String.valueOf(std.seed()))))
        .withThreads(Integer.parseInt(a.getOrDefault("--threads", String.valueOf(std.threads()))))
        .withWindowsPerEpoch(Integer.parseInt(a.getOrDefault("--windows-per-epoch",
            String.valueOf(std.windowsPerEpoch()))))
        .withLoss(org.sparkssm.nn.Loss.parse(a.getOrDefault("--loss", "mse")))
        .withWeightDecay(Double.parseDouble(a.getOrDefault("--weight-decay", String.valueOf(std.weightDecay()))))
        .withPrecision(org.sparkssm.nn.Precision.parse("--precision", a.getOrDefault("--precision",
            std.precision().toString())));
    String out = a.get("--out");
    if (out != null && !Files.exists(Path.of(out))) {
      Files.writeString(Path.of(out), Cell.HEADER + "\n", StandardCharsets.UTF_8);
    }
    for (String ds : datasets) {
      String file = ds.equalsIgnoreCase("weather") ? "weather.csv" : ds + ".csv";
      LtsfData data = LtsfData.read(dir.resolve(file));
      List<DeepModels> models = new ArrayList<>();
      for (String name : a.getOrDefault("--models", "smamba").split(",")) {
        for (int dm : ints(a.getOrDefault("--d-model", "-1"))) {
          for (int layers : ints(a.getOrDefault("--layers", "-1"))) {
            for (int state : ints(a.getOrDefault("--d-state", "-1"))) {
              for (String cycle : a.getOrDefault("--cycle", "auto").split(",")) {
                for (String skip : a.getOrDefault("--skip", "none,nlinear").split(",")) {
                  models.add(new DeepModels(name, dm, layers, state, Integer.parseInt(a.getOrDefault("--d-ff", "-1")),
                      Double.parseDouble(a.getOrDefault("--dropout", "NaN")),
                      cycle.equals("auto") ? dailyPeriod(ds) : Integer.parseInt(cycle), skip.equals("nlinear")));
                }
              }
            }
          }
        }
      }
      LtsfSplit split = LtsfSplit.forFile(file, data.rows());
      for (int h : horizons) {
        Cell c = run(ds, data, split, models, rates, lookback, h, cfg, System.out);
        System.out.printf(Locale.ROOT, "%s L=%d H=%d %s lr=%s: test MSE %.4f MAE %.4f (val %.4f, epoch %d/%d, %.0f s)%n",
            ds, lookback, h, c.settings(), c.learningRate(), c.mse(), c.mae(), c.validationMse(), c.bestEpoch(),
            c.epochsRun(), c.seconds());
        if (out != null) {
          Files.writeString(Path.of(out), c.tsv() + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }
        if (a.containsKey("--save")) {
          Path saved = Path.of(a.get("--save")).resolve(String.format(Locale.ROOT, "%s-L%d-H%d", ds, lookback, h));
          c.forecaster().save(saved); // TrainedForecaster.load reads it back
          System.out.println("  saved: " + saved);
        }
      }
    }
  }

  /**
   * Rows per day of the benchmark files (CycleNet's cycle lengths: hourly ETTh, 15-minute ETTm,
   * 10-minute Weather), or 0 (no cycle) for a file that is not one of the benchmark's.
   */
  static int dailyPeriod(String dataset) {
    String d = dataset.toLowerCase(Locale.ROOT);
    if (d.startsWith("etth")) {
      return 24;
    }
    if (d.startsWith("ettm")) {
      return 96;
    }
    if (d.startsWith("weather")) {
      return 144;
    }
    return 0;
  }

  private static final java.util.Set<String> OPTIONS = java.util.Set.of("--data", "--datasets", "-L", "-H", "--models",
      "--d-model", "--layers", "--d-state", "--d-ff", "--dropout", "--cycle", "--skip", "--lr", "--epochs", "--batch",
      "--patience", "--seed", "--threads", "--windows-per-epoch", "--loss", "--weight-decay", "--precision", "--out",
      "--save");

  private static Map<String, String> parse(String[] args) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!OPTIONS.contains(args[i])) {
        Checks.fail("unknown option '%s'; the options are %s", args[i], new java.util.TreeSet<>(OPTIONS));
      }
      if (i + 1 >= args.length) {
        Checks.fail("option %s: expected a value", args[i]);
      }
      m.put(args[i], args[++i]);
    }
    return m;
  }

  private static int[] ints(String s) {
    String[] p = s.split(",");
    int[] r = new int[p.length];
    for (int i = 0; i < p.length; i++) {
      try {
        r[i] = Integer.parseInt(p[i].trim());
      } catch (NumberFormatException e) {
        throw Checks.fail("expected a comma-separated list of integers, got '%s'", s);
      }
    }
    return r;
  }

  private static double[] doubles(String s) {
    String[] p = s.split(",");
    double[] r = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      try {
        r[i] = Double.parseDouble(p[i].trim());
      } catch (NumberFormatException e) {
        throw Checks.fail("expected a comma-separated list of numbers, got '%s'", s);
      }
    }
    return r;
  }
}
