package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.RidgeSolution;
import org.sparkssm.forecast.WindowFeatures;
import org.sparkssm.nn.Init;

/**
 * {@code scripts/trained_forecaster.py}, the numpy loader of saved forecasters, forecasts what Java
 * forecasts: every model, with the ridge skip and the cycle and without, saved by
 * {@link TrainedForecaster#save} and read back by the script's command line, at several window starts
 * (the cycle's phase). Skipped where {@code python3} or numpy is missing (CI images may lack numpy);
 * a script that runs and fails fails the test with its stderr.
 */
class PythonLoaderTest {
  private static final int L = 16;
  private static final int H = 5;
  private static final int C = 3;
  private static final int ROWS = 48;
  private static final int[] STARTS = {0, 11, ROWS - L - H};

  /**
   * Every Python value must equal Java's to 1e-9 relative to {@code max(1, |Java|, |Python|)}: the
   * tolerance {@link TrainedForecaster#load} itself allows a reloaded network's probe forecast (the
   * two sides differ only in the order of their sums, ~1e-14; a mismatched layer is off by far more).
   */
  private static final double TOLERANCE = TrainedForecaster.PROBE_TOLERANCE;

  private static final String PYTHON = "python3";
  private static final long TIMEOUT_SECONDS = 120;

  @TempDir
  Path tmp;

  private static Path script;

  /** Why the script cannot run here (no python3, no numpy), or null. */
  private static String pythonMissing;

  @BeforeAll
  static void findScriptAndPython() throws Exception {
    script = findScript();
    pythonMissing = pythonWithNumpyProblem();
  }

  /** Per test, not in @BeforeAll: surefire reports a class aborted there as zero tests, not as skipped. */
  @BeforeEach
  void needsPythonWithNumpy() {
    Assumptions.assumeTrue(pythonMissing == null, () -> pythonMissing);
  }

  private static String pythonWithNumpyProblem() throws InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(PYTHON, "-c", "import numpy").redirectErrorStream(true).start();
    } catch (IOException e) {
      return "no " + PYTHON + " on the PATH: " + e.getMessage();
    }
    String out;
    try {
      out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      out = e.toString();
    }
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return PYTHON + " -c 'import numpy' did not finish in " + TIMEOUT_SECONDS + " s";
    }
    return p.exitValue() == 0 ? null : PYTHON + " cannot import numpy: " + out;
  }

  /**
   * scripts/trained_forecaster.py of this checkout: looked for from the working directory (Maven's
   * is the module folder, an IDE's may be the root) up to the checkout's root (the folder with .git),
   * so no other checkout's script is picked up.
   */
  private static Path findScript() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      Path candidate = d.resolve("scripts").resolve("trained_forecaster.py");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
      if (Files.exists(d.resolve(".git"))) {
        break;
      }
    }
    return fail("expected scripts/trained_forecaster.py in " + dir + " or a folder above it up to the checkout's "
        + "root, got none");
  }

  @Test
  void theNumpyLoaderForecastsAsJavaDoesForEveryModel() throws Exception {
    DeepModels[] specs = {
        new DeepModels("smamba", 20, 2, 4, 12, 0.1, 6, true), // dt_rank 2; cycle and skip
        new DeepModels("smamba", 8, 1, 3, 6, 0.0, 0, false),
        new DeepModels("s4dnet", 6, 2, 3, 7, 0.1, 0, false),
        new DeepModels("s4dnet", 5, 1, 4, 7, 0.1, 7, true),
        new DeepModels("rlinear", -1, -1, -1, -1, Double.NaN, 5, true),
        new DeepModels("rlinear", -1, -1, -1, -1, Double.NaN, 0, false)};
    double[][] series = randomSeries(ROWS, 3);
    Path csv = tmp.resolve("series.csv");
    writeCsv(series, csv);
    StringBuilder report = new StringBuilder();
    for (int i = 0; i < specs.length; i++) {
      TrainedForecaster model = perturbed(specs[i], 40 + i);
      Path dir = tmp.resolve("model" + i);
      model.save(dir);
      double maxRelative = 0;
      for (int start : STARTS) {
        double[][] java = model.forecast(series, start);
        double[][] python = runScript(dir, csv, start);
        String where = specs[i].settings() + " start " + start;
        assertEquals(C, python.length, where + ": channels printed");
        for (int c = 0; c < C; c++) {
          assertEquals(H, python[c].length, where + ": values printed for channel " + c);
          for (int k = 0; k < H; k++) {
            double j = java[c][k];
            double p = python[c][k];
            double scale = Math.max(1, Math.max(Math.abs(j), Math.abs(p)));
            assertTrue(Math.abs(p - j) <= TOLERANCE * scale, String.format(Locale.ROOT,
                "%s, channel %d, step %d: expected Java's %s, got %s from Python", where, c, k, j, p));
            maxRelative = Math.max(maxRelative, Math.abs(p - j) / Math.max(Math.abs(j), Double.MIN_NORMAL));
          }
        }
      }
      report.append(String.format(Locale.ROOT, "%n  %s: max |python - java| / |java| = %.2e", specs[i].settings(),
          maxRelative));
    }
    System.out.println("PythonLoaderTest:" + report);
  }

  @Test
  void anUnknownModelOrFormatVersionFailsWithOneLine() throws Exception {
    TrainedForecaster model = perturbed(new DeepModels("rlinear", -1, -1, -1, -1, Double.NaN, 0, false), 3);
    Path dir = tmp.resolve("m");
    model.save(dir);
    Path csv = tmp.resolve("series.csv");
    writeCsv(randomSeries(ROWS, 4), csv);
    Path config = dir.resolve("config.json");
    String text = Files.readString(config);

    Files.writeString(config, text.replace("\"model\" : \"rlinear\"", "\"model\" : \"transformer\""));
    String err = runFailing(dir, csv);
    assertTrue(err.contains("expected model one of smamba, s4dnet, rlinear, got 'transformer'"), err);

    Files.writeString(config, text.replace("\"format_version\" : 1", "\"format_version\" : 9"));
    err = runFailing(dir, csv);
    assertTrue(err.contains("expected format version 1, got 9"), err);
  }

  /** The seeded network of {@code spec} with every weight moved off its init (zero heads, zero cycle). */
  private static TrainedForecaster perturbed(DeepModels spec, long seed) {
    LinearForecaster skip = spec.skip() ? randomRidge(seed) : null;
    WindowModel net = spec.build(L, H, C, skip);
    double[] w = new double[net.layout().size()];
    net.init(w, seed);
    SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
    for (int i = 0; i < w.length; i++) {
      w[i] += 0.1 * Init.gaussian(rnd);
    }
    return new TrainedForecaster(spec, skip, net, w);
  }

  /** A fitted-looking nlinear ridge forecaster: the features of the real one, seeded weights. */
  private static LinearForecaster randomRidge(long seed) {
    WindowFeatures features = ForecastModels.features("nlinear", L);
    int f = features.featureCount();
    SplittableRandom rnd = new SplittableRandom(seed * 31 + 7);
    double[] beta = new double[f * H];
    double[] intercept = new double[H];
    for (int i = 0; i < beta.length; i++) {
      beta[i] = 0.2 * Init.gaussian(rnd);
    }
    for (int k = 0; k < H; k++) {
      intercept[k] = 0.1 * Init.gaussian(rnd);
    }
    return LinearForecaster.of(features, RidgeSolution.of(f, H, beta, intercept, 1e-3));
  }

  /** C channels of a noisy sine with its own level, scale and period: {@code s[c][row]}. */
  private static double[][] randomSeries(int rows, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[][] s = new double[C][rows];
    for (int c = 0; c < C; c++) {
      double level = 4 * rnd.nextDouble() - 2;
      double amplitude = 0.5 + 3 * rnd.nextDouble();
      double period = 5 + 10 * rnd.nextDouble();
      for (int t = 0; t < rows; t++) {
        s[c][t] = level + amplitude * Math.sin(2 * Math.PI * t / period) + 0.3 * Init.gaussian(rnd);
      }
    }
    return s;
  }

  /** One row per time step, one column per channel, no header; Double.toString round-trips exactly. */
  private static void writeCsv(double[][] series, Path csv) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int t = 0; t < series[0].length; t++) {
      for (int c = 0; c < series.length; c++) {
        sb.append(c == 0 ? "" : ",").append(series[c][t]);
      }
      sb.append('\n');
    }
    Files.writeString(csv, sb);
  }

  private record Run(int exitCode, String stdout, String stderr) {}

  private Run run(Path dir, Path csv, int start) throws Exception {
    Path out = Files.createTempFile(tmp, "stdout", ".txt");
    Path err = Files.createTempFile(tmp, "stderr", ".txt");
    Process p = new ProcessBuilder(PYTHON, script.toString(), dir.toString(), csv.toString(), Integer.toString(start))
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(script + " did not finish in " + TIMEOUT_SECONDS + " s; stderr:\n" + Files.readString(err));
    }
    return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** The script's C x H forecast; its failure (exit code and stderr) fails the test. */
  private double[][] runScript(Path dir, Path csv, int start) throws Exception {
    Run r = run(dir, csv, start);
    if (r.exitCode() != 0) {
      fail(String.format("%s %s %s %d exited with %d; stderr:%n%s", script, dir, csv, start, r.exitCode(),
          r.stderr()));
    }
    List<double[]> rows = new ArrayList<>();
    for (String line : r.stdout().strip().split("\n")) {
      String[] cells = line.split(",");
      double[] row = new double[cells.length];
      for (int i = 0; i < cells.length; i++) {
        row[i] = Double.parseDouble(cells[i].strip());
      }
      rows.add(row);
    }
    return rows.toArray(new double[0][]);
  }

  /** The stderr of a run that must fail with a one-line message. */
  private String runFailing(Path dir, Path csv) throws Exception {
    Run r = run(dir, csv, 0);
    assertTrue(r.exitCode() != 0, "expected the script to refuse " + dir + ", got exit 0 and:\n" + r.stdout());
    assertEquals(1, r.stderr().strip().lines().count(), "expected a one-line message, got:\n" + r.stderr());
    return r.stderr();
  }
}
