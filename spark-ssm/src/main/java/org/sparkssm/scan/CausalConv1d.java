package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * Depthwise causal convolution of width k over C channels, as PyTorch's
 * {@code Conv1d(C, C, k, groups=C, padding=k-1)} truncated to the input length (the layout Mamba's
 * {@code conv1d} uses):
 * {@code y_t[c] = bias[c] + Σ_{j<k} w[c, j] · x_{t-k+1+j}[c]}, inputs before the series start being 0.
 *
 * <p>Shapes and layout: w (C, k) row-major {@code [c * k + j]} (PyTorch's (C, 1, k) flattened);
 * bias (C) or null. The state is the last k − 1 inputs, time-major and oldest first:
 * {@code h[i * C + c]} holds the input {@code k − 1 − i} steps back. Immutable.
 */
public final class CausalConv1d implements WindowedModel {
  private static final long serialVersionUID = 1L;

  private final int channels;
  private final int width;
  private final double[] weight;
  private final double[] bias;
  private final long fingerprint;

  private CausalConv1d(int channels, int width, double[] weight, double[] bias) {
    this.channels = channels;
    this.width = width;
    this.weight = weight;
    this.bias = bias;
    this.fingerprint = new Fingerprint().add("CausalConv1d").add(channels).add(width).add(weight).add(bias).value();
  }

  /**
   * @param channels C
   * @param width k, at least 1 (k = 1 is a per-channel scale)
   * @param weight (C, k) row-major
   * @param bias (C), or null for none
   */
  public static CausalConv1d of(int channels, int width, double[] weight, double[] bias) {
    Checks.positive("channels (C)", channels);
    Checks.positive("width (k)", width);
    Checks.allFinite("weight", Checks.length("weight", weight, channels * width, "C*k = " + channels + "*" + width));
    if (bias != null) {
      Checks.allFinite("bias", Checks.length("bias", bias, channels, "C = " + channels));
    }
    return new CausalConv1d(channels, width, weight.clone(), bias == null ? null : bias.clone());
  }

  public int width() {
    return width;
  }

  @Override
  public int inputs() {
    return channels;
  }

  @Override
  public int outputs() {
    return channels;
  }

  /** A copy of the taps, {@code (C, k)} row-major. */
  public double[] weight() {
    return weight.clone();
  }

  /** A copy of the bias ({@code C}), or null. */
  public double[] bias() {
    return bias == null ? null : bias.clone();
  }

  /** (k − 1) · C: the last k − 1 inputs. */
  @Override
  public int stateSize() {
    return (width - 1) * channels;
  }

  @Override
  public int window() {
    return width - 1;
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }

  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    int c = channels;
    int past = width - 1;
    Checks.range("u", u, uOff, (long) length * c);
    Checks.range("y", y, yOff, (long) length * c);
    Checks.length("h", h, past * c, "(k-1)*C");
    for (int t = 0; t < length; t++) {
      for (int ch = 0; ch < c; ch++) {
        double acc = bias == null ? 0.0 : bias[ch];
        int w0 = ch * width;
        for (int j = 0; j < width; j++) {
          int step = t - past + j; // the input this tap reads, relative to the chunk start
          double x = step >= 0 ? u[uOff + step * c + ch] : h[(step + past) * c + ch];
          acc += weight[w0 + j] * x;
        }
        y[yOff + t * c + ch] = acc;
      }
    }
    // Keep the last k − 1 inputs: slot i is chunk step length − past + i, or old slot length + i
    // when the chunk is shorter than the window (ascending i never reads a slot already written).
    for (int i = 0; i < past; i++) {
      int step = length - past + i;
      for (int ch = 0; ch < c; ch++) {
        h[i * c + ch] = step >= 0 ? u[uOff + step * c + ch] : h[(length + i) * c + ch];
      }
    }
  }

  /** Zero inputs shifted in: after {@code steps} of them, slot i holds old slot i + steps or 0. */
  @Override
  public void decay(double[] h, long steps) {
    int c = channels;
    int past = width - 1;
    for (int i = 0; i < past; i++) {
      long from = i + steps;
      for (int ch = 0; ch < c; ch++) {
        h[i * c + ch] = from < past ? h[(int) from * c + ch] : 0.0;
      }
    }
  }
}
