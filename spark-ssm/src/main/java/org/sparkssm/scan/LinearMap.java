package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * A pointwise affine map mixing channels at each step, {@code y_t = W u_t + b} (PyTorch's
 * {@code nn.Linear}: W (out, in) row-major {@code [o * in + i]}). No state; window 0. Immutable.
 */
public final class LinearMap implements WindowedModel {
  private static final long serialVersionUID = 1L;

  private final int inputs;
  private final int outputs;
  private final double[] weight;
  private final double[] bias;
  private final long fingerprint;

  private LinearMap(int inputs, int outputs, double[] weight, double[] bias) {
    this.inputs = inputs;
    this.outputs = outputs;
    this.weight = weight;
    this.bias = bias;
    this.fingerprint = new Fingerprint().add("LinearMap").add(inputs).add(outputs).add(weight).add(bias).value();
  }

  /** W (outputs, inputs) row-major; bias (outputs) or null. */
  public static LinearMap of(int inputs, int outputs, double[] weight, double[] bias) {
    Checks.positive("inputs", inputs);
    Checks.positive("outputs", outputs);
    Checks.allFinite("weight", Checks.length("weight", weight, inputs * outputs,
        "outputs*inputs = " + outputs + "*" + inputs));
    if (bias != null) {
      Checks.allFinite("bias", Checks.length("bias", bias, outputs, "outputs = " + outputs));
    }
    return new LinearMap(inputs, outputs, weight.clone(), bias == null ? null : bias.clone());
  }

  @Override
  public int inputs() {
    return inputs;
  }

  @Override
  public int outputs() {
    return outputs;
  }

  @Override
  public int stateSize() {
    return 0;
  }

  @Override
  public int window() {
    return 0;
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }

  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    Checks.range("u", u, uOff, (long) length * inputs);
    Checks.range("y", y, yOff, (long) length * outputs);
    for (int t = 0; t < length; t++) {
      int in = uOff + t * inputs;
      for (int o = 0; o < outputs; o++) {
        double acc = bias == null ? 0.0 : bias[o];
        int w0 = o * inputs;
        for (int i = 0; i < inputs; i++) {
          acc += weight[w0 + i] * u[in + i];
        }
        y[yOff + t * outputs + o] = acc;
      }
    }
  }

  @Override
  public void decay(double[] h, long steps) {
    // no state
  }
}
