package org.sparkssm.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparkssm.Checks;
import org.sparkssm.forecast.ForecastModels;
import org.sparkssm.forecast.LinearForecaster;
import org.sparkssm.forecast.RidgeSolution;
import org.sparkssm.forecast.WindowForecaster;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.weights.Safetensors;
import org.sparkssm.weights.SafetensorsWriter;

/**
 * A trained network with its weights, ready to forecast a window of a multichannel series (the
 * value {@link LtsfTraining#run} hands back, so a job can plot or score what it picked), and what
 * {@link #save} writes and {@link #load} reads back.
 *
 * <h2>Saved form</h2>
 * A folder with {@code model.safetensors} (every tensor of {@link WindowModel#layout()} under its
 * name and shape, float64, and with the ridge skip its {@code skip.beta} (F × H) and
 * {@code skip.intercept} (H)) and {@code config.json} (format version, the {@link DeepModels}
 * settings, L, H, channels, the skip's λ_rel, the layout's fingerprint, and the forecast of a fixed
 * probe window). A load rebuilds the network from the settings and refuses a folder whose layout
 * fingerprint differs from the rebuilt network's, or whose probe forecast this build does not
 * reproduce to 1e-9 (relative): a model saved by another architecture version never silently
 * mispredicts.
 *
 * <p>As a {@link WindowForecaster} (one channel: the many-series Spark path), it travels to tasks
 * as its settings, skip and weights, and the network is rebuilt there.
 *
 * @param spec the settings the network was built from
 * @param skip the fitted {@code nlinear} skip when {@code spec.skip()}, else null
 * @param model the network
 * @param weights its flat weights, in {@link WindowModel#layout()}
 */
public record TrainedForecaster(DeepModels spec, LinearForecaster skip, WindowModel model, double[] weights)
    implements WindowForecaster {
  private static final long serialVersionUID = 1L;

  /** Bumped when the saved form changes; {@link #load} reads this version only. */
  public static final int FORMAT_VERSION = 1;

  /** How far a reloaded network's probe forecast may move (relative): vector widths change rounding. */
  static final double PROBE_TOLERANCE = 1e-9;

  private static final ObjectMapper JSON = new ObjectMapper();

  public TrainedForecaster {
    Checks.notNull("spec", spec);
    Checks.notNull("model", model);
    Checks.notNull("weights", weights);
    if (spec.skip() != (skip != null)) {
      Checks.fail("skip: expected the fitted nlinear forecaster exactly when %s has a skip", spec.settings());
    }
    if (weights.length != model.layout().size()) {
      Checks.fail("weights: expected %d values for %s, got %d", model.layout().size(), model.describe(),
          weights.length);
    }
  }

  /**
   * The forecast of rows {@code [start + L, start + L + H)} of every channel from rows
   * {@code [start, start + L)}: {@code out[channel][step]}.
   *
   * @param series the channels on the scale the model was trained on, {@code series[c][row]}
   */
  public double[][] forecast(double[][] series, int start) {
    int L = model.lookback();
    int H = model.horizon();
    int C = model.channels();
    if (series.length != C) {
      Checks.fail("series: expected %d channels for %s, got %d", C, model.describe(), series.length);
    }
    double[] x = new double[L * C];
    for (int c = 0; c < C; c++) {
      if (start < 0 || start + L > series[c].length) {
        Checks.fail("start: expected 0 <= start <= %d for a lookback of %d, got %d", series[c].length - L, L, start);
      }
      for (int t = 0; t < L; t++) {
        x[t * C + c] = series[c][start + t];
      }
    }
    double[] pred = new double[H * C];
    model.forward(weights, x, new long[] {start}, 1, pred, model.workspace(1), null);
    double[][] out = new double[C][H];
    for (int c = 0; c < C; c++) {
      for (int t = 0; t < H; t++) {
        out[c][t] = pred[t * C + c];
      }
    }
    return out;
  }

  @Override
  public int rowsRead() {
    return model.lookback();
  }

  @Override
  public int horizon() {
    return model.horizon();
  }

  /** One window of one channel at a time (a network of one channel only). */
  @Override
  public Predictor predictor() {
    if (model.channels() != 1) {
      Checks.fail("channels: a window of one series is one channel, got a network of %d channels (%s)",
          model.channels(), spec.settings());
    }
    int L = model.lookback();
    double[] x = new double[L];
    long[] rows = new long[1];
    WindowModel.Workspace ws = model.workspace(1);
    double[] pred = new double[model.horizon()];
    return (window, off, phase, out, outOff) -> {
      System.arraycopy(window, off, x, 0, L);
      rows[0] = phase;
      model.forward(weights, x, rows, 1, pred, ws, null);
      System.arraycopy(pred, 0, out, outOff, pred.length);
    };
  }

  /** Serialized as its parts; the network is rebuilt on the other side. */
  private Object writeReplace() {
    return new Parts(spec, model.lookback(), model.horizon(), model.channels(), skip, weights);
  }

  /** The serialized form. */
  private record Parts(DeepModels spec, int lookback, int horizon, int channels, LinearForecaster skip,
      double[] weights) implements java.io.Serializable {
    private Object readResolve() {
      return TrainedForecaster.of(spec, lookback, horizon, channels, skip, weights);
    }
  }

  /** The network of {@code spec} for L, H and C channels with these weights (a loaded or copied forecaster). */
  public static TrainedForecaster of(DeepModels spec, int lookback, int horizon, int channels, LinearForecaster skip,
      double[] weights) {
    return new TrainedForecaster(spec, skip, spec.build(lookback, horizon, channels, skip), weights);
  }

  /**
   * Writes the forecaster into {@code dir} (created if absent): {@code model.safetensors}, then
   * {@code config.json}, each atomically; a folder without a config is not a saved forecaster.
   */
  public void save(Path dir) throws IOException {
    Files.createDirectories(dir);
    SafetensorsWriter st = new SafetensorsWriter().metadata("format", "spark-ssm trained forecaster");
    for (ParameterLayout.Tensor t : model.layout().tensors()) {
      st.add(t.name(), Safetensors.DType.F64, weights, t.offset(), longs(t.shape()));
    }
    if (skip != null) {
      RidgeSolution w = skip.weights();
      st.add("skip.beta", Safetensors.DType.F64, w.beta(), 0, w.features(), w.outputs());
      st.add("skip.intercept", Safetensors.DType.F64, w.intercept(), 0, w.outputs());
    }
    st.write(dir.resolve("model.safetensors"));
    ObjectNode config = JSON.createObjectNode();
    config.put("format_version", FORMAT_VERSION);
    config.put("model", spec.name());
    config.put("d_model", spec.dModel());
    config.put("layers", spec.layers());
    config.put("d_state", spec.dState());
    config.put("d_ff", spec.dFf());
    config.put("dropout", spec.dropout());
    config.put("cycle", spec.cycle());
    config.put("skip", spec.skip() ? "nlinear" : "none");
    if (skip != null) {
      config.put("skip_lambda_rel", skip.weights().lambdaRel());
    }
    config.put("lookback", model.lookback());
    config.put("horizon", model.horizon());
    config.put("channels", model.channels());
    config.put("layout_fingerprint", Long.toHexString(model.layout().fingerprint()));
    ArrayNode probe = config.putArray("probe_forecast");
    for (double v : probeForecast()) {
      probe.add(v);
    }
    SafetensorsWriter.writeAtomically(dir.resolve("config.json"),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(config));
  }

  /** Reads a forecaster {@link #save} wrote, checking it against this build (see the class comment). */
  public static TrainedForecaster load(Path dir) throws IOException {
    Path configFile = dir.resolve("config.json");
    if (!Files.isRegularFile(configFile)) {
      Checks.fail("%s: expected a saved trained forecaster (config.json and model.safetensors), got no config.json",
          dir);
    }
    JsonNode c = JSON.readTree(configFile.toFile());
    int version = c.path("format_version").asInt(-1);
    if (version != FORMAT_VERSION) {
      Checks.fail("%s: expected format version %d, got %d (saved by another build of spark-ssm)", configFile,
          FORMAT_VERSION, version);
    }
    DeepModels spec = new DeepModels(c.path("model").asText(), c.path("d_model").asInt(), c.path("layers").asInt(),
        c.path("d_state").asInt(), c.path("d_ff").asInt(), c.path("dropout").asDouble(), c.path("cycle").asInt(),
        c.path("skip").asText().equals("nlinear"));
    int lookback = c.path("lookback").asInt();
    int horizon = c.path("horizon").asInt();
    int channels = c.path("channels").asInt();
    Safetensors st = Safetensors.open(dir.resolve("model.safetensors")); // memory-mapped, nothing to close
    LinearForecaster skip = null;
    if (spec.skip()) {
      double[] beta = st.read("skip.beta");
      double[] intercept = st.read("skip.intercept", horizon);
      skip = LinearForecaster.of(ForecastModels.features("nlinear", lookback), RidgeSolution.of(
          beta.length / horizon, horizon, beta, intercept, c.path("skip_lambda_rel").asDouble()));
    }
    WindowModel model = spec.build(lookback, horizon, channels, skip);
    String saved = c.path("layout_fingerprint").asText();
    String now = Long.toHexString(model.layout().fingerprint());
    if (!saved.equals(now)) {
      Checks.fail("%s: expected the tensors this build's %s has (layout %s), got a model saved with layout %s by "
          + "another architecture version; retrain it", dir, spec.settings(), now, saved);
    }
    double[] weights = new double[model.layout().size()];
    for (ParameterLayout.Tensor t : model.layout().tensors()) {
      double[] values = st.read(t.name(), longs(t.shape()));
      System.arraycopy(values, 0, weights, t.offset(), t.size());
    }
    TrainedForecaster loaded = new TrainedForecaster(spec, skip, model, weights);
    double[] probe = loaded.probeForecast();
    JsonNode savedProbe = c.path("probe_forecast");
    for (int i = 0; i < probe.length; i++) {
      double was = savedProbe.path(i).asDouble(Double.NaN);
      double scale = Math.max(1, Math.max(Math.abs(was), Math.abs(probe[i])));
      if (!(Math.abs(probe[i] - was) <= PROBE_TOLERANCE * scale)) {
        Checks.fail("%s: expected this build's %s to forecast the probe window as it did when saved, got value %d "
            + "= %s (saved: %s); the network computes differently in this build; retrain it", dir,
            spec.settings(), i, probe[i], was);
      }
    }
    return loaded;
  }

  /** The forecast of a fixed probe window (a ramped sine per channel, from row 0): the saved fingerprint of the forward. */
  double[] probeForecast() {
    int L = model.lookback();
    int C = model.channels();
    double[][] series = new double[C][L];
    for (int ch = 0; ch < C; ch++) {
      for (int t = 0; t < L; t++) {
        series[ch][t] = Math.sin(0.37 * t + ch) + 0.01 * t;
      }
    }
    double[][] f = forecast(series, 0);
    double[] out = new double[C * model.horizon()];
    for (int ch = 0; ch < C; ch++) {
      System.arraycopy(f[ch], 0, out, ch * model.horizon(), model.horizon());
    }
    return out;
  }

  private static long[] longs(int[] shape) {
    long[] out = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      out[i] = shape[i];
    }
    return out;
  }
}
