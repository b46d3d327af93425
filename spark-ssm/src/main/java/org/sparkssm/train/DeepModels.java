package org.sparkssm.train;

import java.util.Locale;
import org.sparkssm.Checks;
import org.sparkssm.forecast.LinearForecaster;

/**
 * The trained forecasters by name, each with one set of defaults, so a command line or a config
 * picks a network: {@code smamba} (variate tokens, bidirectional Mamba; {@link SMambaNet}),
 * {@code s4dnet} (deep S4D over time, channel-independent; {@link S4dNet}) and {@code rlinear}
 * (one linear map of the instance-normalized window; {@link LinearNet}). A setting left at -1
 * (or NaN for dropout) takes the name's default.
 *
 * @param name the model
 * @param dModel width of the token (smamba) or channel (s4dnet) representation
 * @param layers encoder layers
 * @param dState SSM state size per channel (Mamba's N; S4D's complex modes)
 * @param dFf feed-forward width
 * @param dropout dropout probability
 * @param cycle the period of a learned cycle ({@link org.sparkssm.nn.CycleQueue}, CycleNet's RCF) in
 *     rows; 0 for none
 * @param skip whether the network learns the residual of the closed-form {@code nlinear} ridge
 *     forecaster (fitted on the training windows, penalty picked on validation) instead of
 *     forecasting around the window's mean
 */
public record DeepModels(String name, int dModel, int layers, int dState, int dFf, double dropout, int cycle,
    boolean skip) implements java.io.Serializable {
  /** The names, in the order reports list them. */
  public static final String[] NAMES = {"smamba", "s4dnet", "rlinear"};

  public DeepModels {
    Checks.notNull("model", name);
    name = name.trim().toLowerCase(Locale.ROOT);
    if (!java.util.Arrays.asList(NAMES).contains(name)) {
      Checks.fail("model: expected one of %s, got '%s'", String.join(", ", NAMES), name);
    }
    int[] def = defaults(name);
    dModel = dModel < 0 ? def[0] : Checks.positive("d_model", dModel);
    layers = layers < 0 ? def[1] : Checks.positive("layers", layers);
    dState = dState < 0 ? def[2] : Checks.positive("d_state", dState);
    dFf = dFf < 0 ? def[3] : Checks.positive("d_ff", dFf);
    dropout = Double.isNaN(dropout) ? 0.1 : dropout;
    if (!(dropout >= 0 && dropout < 1)) {
      Checks.fail("dropout: expected a probability in [0, 1), got %s", dropout);
    }
    Checks.nonNegative("cycle", cycle);
  }

  /** The named model with every default. */
  public static DeepModels named(String name) {
    return new DeepModels(name, -1, -1, -1, -1, Double.NaN, 0, false);
  }

  /** d_model, layers, d_state, d_ff of each name. */
  private static int[] defaults(String name) {
    switch (name) {
      case "smamba":
        return new int[] {128, 2, 16, 128};
      case "s4dnet":
        return new int[] {64, 3, 32, 128};
      default:
        return new int[] {1, 1, 1, 1};
    }
  }

  /**
   * The network for lookback L, horizon H and C channels; {@code ridge} is the fitted skip, used
   * when {@link #skip()} is set (and then required).
   */
  public WindowModel build(int lookback, int horizon, int channels, LinearForecaster ridge) {
    if (skip && ridge == null) {
      Checks.fail("skip: %s needs the fitted nlinear forecaster, got none", settings());
    }
    LinearForecaster s = skip ? ridge : null;
    switch (name) {
      case "smamba":
        return new SMambaNet(lookback, horizon, channels, dModel, layers, dState, dFf, dropout, cycle, s);
      case "s4dnet":
        return new S4dNet(lookback, horizon, channels, dModel, layers, dState, dFf, dropout, cycle, s);
      default:
        return new LinearNet(lookback, horizon, channels, cycle, s);
    }
  }

  /** The settings as a report prints them. */
  public String settings() {
    if (name.equals("rlinear")) {
      return "rlinear(cycle=" + cycle + ", skip=" + (skip ? "nlinear" : "none") + ")";
    }
    return String.format(Locale.ROOT, "%s(d_model=%d, layers=%d, d_state=%d, d_ff=%d, dropout=%s, cycle=%d, skip=%s)",
        name, dModel, layers, dState, dFf, dropout, cycle, skip ? "nlinear" : "none");
  }
}
