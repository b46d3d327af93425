package org.sparkssm.jobs.scan;

import java.util.Map;
import org.sparkssm.init.ModelSpec;
import org.sparkssm.scan.ScanModel;
import picocli.CommandLine.Option;

/**
 * A model chosen by name and options (a picocli mixin): the options of a {@link ModelSpec}, which
 * builds it from the engine's initializations with one copy per value channel.
 */
public final class ModelOptions {
  static final String MODEL_HELP = ModelSpec.DESCRIPTION;

  @Option(names = {"-m", "--model"}, required = true, paramLabel = "NAME", description = MODEL_HELP)
  private String model;

  @Option(names = {"-N", "--state", "--order"}, paramLabel = "N", defaultValue = "16",
      description = "State size per channel: real states of S4D (even), complex modes of LRU, order of HiPPO "
          + "(default: ${DEFAULT-VALUE}).")
  private int state;

  @Option(names = "--dt", paramLabel = "DT", defaultValue = "0.01",
      description = "S4D step size Δ per row, in the model's time units (default: ${DEFAULT-VALUE}).")
  private double dt;

  @Option(names = "--theta", paramLabel = "ROWS", defaultValue = "100",
      description = "HiPPO time scale in rows: the window of legt and fout, the scale of legs (default: ${DEFAULT-VALUE}).")
  private double theta;

  @Option(names = "--discretization", paramLabel = "RULE",
      description = "zoh or bilinear (default: zoh for S4D, bilinear for HiPPO).")
  private String discretization;

  @Option(names = "--r-min", paramLabel = "R", defaultValue = "0.9",
      description = "LRU: smallest eigenvalue modulus (default: ${DEFAULT-VALUE}).")
  private double rMin;

  @Option(names = "--r-max", paramLabel = "R", defaultValue = "0.999",
      description = "LRU: largest eigenvalue modulus, < 1 (default: ${DEFAULT-VALUE}).")
  private double rMax;

  @Option(names = "--max-phase", paramLabel = "RAD", defaultValue = "0.3141592653589793",
      description = "LRU: largest eigenvalue phase (default: π/10, the paper's long-range setting).")
  private double maxPhase;

  @Option(names = "--model-seed", paramLabel = "SEED", defaultValue = "0",
      description = "LRU: seed of the random B, C and D (default: ${DEFAULT-VALUE}).")
  private long modelSeed;

  /** The spec's field names in its messages, and the options that set them. */
  private static final Map<String, String> OPTION_OF = Map.of("model:", "--model:", "state:", "--state:", "dt:",
      "--dt:", "theta:", "--theta:", "discretization:", "--discretization:", "r-min, r-max:", "--r-min, --r-max:",
      "max-phase:", "--max-phase:", "irregular time:", "--step-every:");

  /** The spec these options describe; throws IllegalArgumentException naming the option on a bad value. */
  public ModelSpec spec() {
    return named(() -> ModelSpec.of(model).withState(state).withDt(dt).withTheta(theta)
        .withDiscretization(discretization).withLru(rMin, rMax, maxPhase, modelSeed));
  }

  /** A short description for summaries, e.g. {@code s4d-lin (N = 16, dt = 0.01)}. */
  public String describe() {
    return spec().describe();
  }

  /** Builds the model for {@code channels} value columns ({@link ModelSpec#build}), errors naming the option. */
  public ScanModel build(int channels, boolean irregular) {
    ModelSpec spec = spec();
    return named(() -> spec.build(channels, irregular));
  }

  private static <T> T named(java.util.function.Supplier<T> step) {
    try {
      return step.get();
    } catch (IllegalArgumentException e) {
      String message = String.valueOf(e.getMessage());
      for (Map.Entry<String, String> name : OPTION_OF.entrySet()) {
        if (message.startsWith(name.getKey())) {
          throw new IllegalArgumentException(name.getValue() + message.substring(name.getKey().length()), e);
        }
      }
      throw e;
    }
  }
}
