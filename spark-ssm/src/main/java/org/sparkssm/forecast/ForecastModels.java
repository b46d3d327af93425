package org.sparkssm.forecast;

import java.util.Locale;
import org.sparkssm.Checks;

/**
 * The named featurizations, so a job argument or a SQL string picks a model:
 * <ul>
 *   <li>{@code naive}: the last value repeated (no fit);</li>
 *   <li>{@code linear}: the raw window, level 0 (LTSF-Linear's Linear);</li>
 *   <li>{@code nlinear}: the window minus its last value (NLinear);</li>
 *   <li>{@code legt[:N]}: FiLM's HiPPO-LegT memory of the level-subtracted window (N = 64);</li>
 *   <li>{@code legs[:N]}: the HiPPO-LegS memory of it (N = 64);</li>
 *   <li>{@code s4d[:N]}: four S4D-Lin banks of state size N (32) at Δt = 0.001, 0.005, 0.02, 0.1;</li>
 *   <li>{@code ssm[:N]}: the best SSM forecaster, NLinear's window plus a LegT memory of N (64)
 *       coefficients over 4 L values ({@link LongMemoryFeatures}).</li>
 * </ul>
 * Names are case-insensitive; an unknown name fails listing the known ones.
 */
public final class ForecastModels {
  private ForecastModels() {}

  /** The registered names, in the order the benchmark reports them. */
  public static final String[] NAMES = {"naive", "linear", "nlinear", "legt", "legs", "s4d", "ssm"};

  /** The S4D banks' default time scales. */
  static final double[] S4D_DTS = {0.001, 0.005, 0.02, 0.1};

  /** The {@code ssm} memory's span, in lookbacks. */
  static final int SSM_SPAN = 4;

  /** Whether the named model has weights to fit ({@code naive} has none). */
  public static boolean isFitted(String name) {
    return !base(name).equals("naive");
  }

  /**
   * The featurization of a named model for lookback L.
   *
   * @throws IllegalArgumentException for an unknown name or a bad order
   */
  public static WindowFeatures features(String name, int lookback) {
    Checks.notNull("model", name);
    String base = base(name);
    int order = order(name);
    switch (base) {
      case "naive":
        noOrder(name, order);
        return LinearWindowFeatures.naive(lookback);
      case "linear":
        noOrder(name, order);
        return LinearWindowFeatures.linear(lookback);
      case "nlinear":
        noOrder(name, order);
        return LinearWindowFeatures.nlinear(lookback);
      case "legt":
        return LinearWindowFeatures.legt(lookback, order < 0 ? 64 : order);
      case "legs":
        return LinearWindowFeatures.legs(lookback, order < 0 ? 64 : order);
      case "s4d":
        return LinearWindowFeatures.s4d(lookback, order < 0 ? 32 : order, S4D_DTS);
      case "ssm":
        return LongMemoryFeatures.of(lookback, SSM_SPAN, order < 0 ? 64 : order);
      default:
        throw Checks.fail("model: expected one of %s (optionally ':N' for legt, legs, s4d, ssm), got '%s'",
            String.join(", ", NAMES), name);
    }
  }

  /**
   * What identifies a featurization beyond its name: {@code name L=… F=… rows=…} (the rows a window
   * reads: L, or more for models with a long memory such as {@code ssm}).
   */
  public static String describe(String name, int lookback) {
    WindowFeatures f = features(name, lookback);
    return String.format(Locale.ROOT, "%s L=%d F=%d rows=%d", name.trim().toLowerCase(Locale.ROOT), lookback,
        f.featureCount(), f.rowsRead());
  }

  /**
   * The features of a fixed probe window (a ramped sine, as long as the window the model reads). A
   * saved forecaster stores them and a load recomputes them, so a build whose featurization computes
   * other numbers (another basis, Δt or normalization) is refused instead of mispredicting.
   */
  public static double[] probeFeatures(String name, int lookback) {
    WindowFeatures f = features(name, lookback);
    double[] window = new double[f.rowsRead()];
    for (int i = 0; i < window.length; i++) {
      window[i] = Math.sin(0.37 * i) + 0.01 * i;
    }
    double[] out = new double[f.featureCount()];
    f.features(window, 0, out, 0);
    return out;
  }

  private static String base(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    int colon = n.indexOf(':');
    return colon < 0 ? n : n.substring(0, colon);
  }

  private static int order(String name) {
    int colon = name.indexOf(':');
    if (colon < 0) {
      return -1;
    }
    String digits = name.substring(colon + 1).trim();
    try {
      int n = Integer.parseInt(digits);
      if (n < 1) {
        Checks.fail("model: expected an order N >= 1 after ':' in '%s', got %d", name, n);
      }
      return n;
    } catch (NumberFormatException e) {
      throw Checks.fail("model: expected an integer order N after ':' in '%s', got '%s'", name, digits);
    }
  }

  private static void noOrder(String name, int order) {
    if (order >= 0) {
      Checks.fail("model: expected no ':N' order for '%s', got one", name);
    }
  }
}
