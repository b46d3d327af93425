package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/** An elementwise nonlinearity over C channels between layers. No state; window 0. Immutable. */
public final class Activation implements WindowedModel {
  private static final long serialVersionUID = 1L;

  /** The functions; GELU is the tanh approximation (PyTorch's {@code approximate='tanh'}). */
  public enum Kind {
    IDENTITY, RELU, TANH, SIGMOID, SILU, GELU_TANH
  }

  private final Kind kind;
  private final int channels;

  private Activation(Kind kind, int channels) {
    this.kind = kind;
    this.channels = channels;
  }

  public static Activation of(Kind kind, int channels) {
    return new Activation(Checks.notNull("kind", kind), Checks.positive("channels", channels));
  }

  public Kind kind() {
    return kind;
  }

  /** f(x) for this kind. */
  public double apply(double x) {
    switch (kind) {
      case RELU:
        return x > 0 ? x : 0.0;
      case TANH:
        return Math.tanh(x);
      case SIGMOID:
        return 1.0 / (1.0 + Math.exp(-x));
      case SILU:
        return x / (1.0 + Math.exp(-x));
      case GELU_TANH:
        return 0.5 * x * (1.0 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
      default:
        return x;
    }
  }

  @Override
  public int inputs() {
    return channels;
  }

  @Override
  public int outputs() {
    return channels;
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
    return new Fingerprint().add("Activation").add(kind.name()).add(channels).value();
  }

  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    int n = length * channels;
    Checks.range("u", u, uOff, n);
    Checks.range("y", y, yOff, n);
    for (int i = 0; i < n; i++) {
      y[yOff + i] = apply(u[uOff + i]);
    }
  }

  @Override
  public void decay(double[] h, long steps) {
    // no state
  }
}
