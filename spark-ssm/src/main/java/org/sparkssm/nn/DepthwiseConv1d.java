package org.sparkssm.nn;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * The trainable twin of {@link org.sparkssm.scan.CausalConv1d}: Mamba's {@code conv1d},
 * {@code Conv1d(C, C, k, groups=C, padding=k-1)} truncated to the input length,
 *
 * <pre>
 *   y[t, c] = bias[c] + Σ_{j<k} w[c, j] · x[t - k + 1 + j, c]      (x before the sequence start = 0)
 * </pre>
 *
 * over {@code batch} sequences of {@code len} steps, time-major {@code [(b * len + t) * C + c]}.
 * Tensors {@code <name>.weight} {@code (C, 1, k)} and {@code <name>.bias} {@code (C)}. Backward:
 * {@code dx[s, c] = Σ_j w[c, j] dy[s + k - 1 - j, c]}, {@code gw[c, j] += Σ_t dy[t, c] x[t - k + 1 + j, c]},
 * {@code gb[c] += Σ_t dy[t, c]}.
 */
public final class DepthwiseConv1d {
  private final int channels;
  private final int width;
  private final int weight;
  private final int bias;

  public DepthwiseConv1d(ParameterLayout layout, String name, int channels, int width) {
    Checks.positive(name + " channels", channels);
    Checks.positive(name + " kernel width", width);
    this.channels = channels;
    this.width = width;
    this.weight = layout.add(name + ".weight", channels, 1, width);
    this.bias = layout.add(name + ".bias", channels);
  }

  public int channels() {
    return channels;
  }

  public int width() {
    return width;
  }

  /** Offsets of the weight {@code (C, 1, k)} and bias {@code (C)} in the parameter array. */
  public int weightOffset() {
    return weight;
  }

  public int biasOffset() {
    return bias;
  }

  /** PyTorch's default for a grouped conv: uniform in {@code ±1/sqrt(k)} (fan-in of one group is k). */
  public void init(double[] w, SplittableRandom rnd) {
    double bound = 1.0 / Math.sqrt(width);
    Init.uniform(w, weight, channels * width, bound, rnd);
    Init.uniform(w, bias, channels, bound, rnd);
  }

  /** Writes y for {@code batch} sequences of {@code len} steps from zero history. */
  public void forward(double[] w, double[] x, int xOff, int batch, int len, double[] y, int yOff) {
    final int C = channels;
    final int k = width;
    for (int b = 0; b < batch; b++) {
      int base = b * len;
      for (int t = 0; t < len; t++) {
        int yr = yOff + (base + t) * C;
        for (int c = 0; c < C; c++) {
          y[yr + c] = w[bias + c];
        }
        int firstJ = Math.max(0, k - 1 - t);
        for (int j = firstJ; j < k; j++) {
          int xr = xOff + (base + t - k + 1 + j) * C;
          for (int c = 0; c < C; c++) {
            y[yr + c] += w[weight + c * k + j] * x[xr + c];
          }
        }
      }
    }
  }

  /** Accumulates the weight and bias gradients and writes dx (when not null); x is the forward's input. */
  public void backward(double[] w, double[] gw, double[] x, int xOff, double[] dy, int dyOff, int batch, int len,
      double[] dx, int dxOff) {
    final int C = channels;
    final int k = width;
    for (int b = 0; b < batch; b++) {
      int base = b * len;
      if (dx != null) {
        for (int i = 0; i < len * C; i++) {
          dx[dxOff + base * C + i] = 0.0;
        }
      }
      for (int t = 0; t < len; t++) {
        int yr = dyOff + (base + t) * C;
        for (int c = 0; c < C; c++) {
          gw[bias + c] += dy[yr + c];
        }
        int firstJ = Math.max(0, k - 1 - t);
        for (int j = firstJ; j < k; j++) {
          int s = base + t - k + 1 + j;
          int xr = xOff + s * C;
          for (int c = 0; c < C; c++) {
            gw[weight + c * k + j] += dy[yr + c] * x[xr + c];
          }
          if (dx != null) {
            int dr = dxOff + s * C;
            for (int c = 0; c < C; c++) {
              dx[dr + c] += w[weight + c * k + j] * dy[yr + c];
            }
          }
        }
      }
    }
  }
}
