package org.sparkssm.scan.reference;

/**
 * The float64 reference twin of {@code CausalConv1d}: the whole sequence zero-padded on the left
 * by k − 1 steps, then each output the dot product of its window with the taps.
 */
public final class CausalConvReference {
  private CausalConvReference() {}

  /**
   * @param weight (C, k): weight[c][j] multiplies the input k − 1 − j steps back
   * @param bias (C) or null
   * @param x (L, C)
   * @return y (L, C)
   */
  public static double[][] convolve(double[][] weight, double[] bias, double[][] x) {
    int channels = weight.length;
    int width = weight[0].length;
    int length = x.length;
    double[][] padded = new double[length + width - 1][channels];
    for (int t = 0; t < length; t++) {
      padded[t + width - 1] = x[t].clone();
    }
    double[][] y = new double[length][channels];
    for (int t = 0; t < length; t++) {
      for (int c = 0; c < channels; c++) {
        double s = bias == null ? 0 : bias[c];
        for (int j = 0; j < width; j++) {
          s += weight[c][j] * padded[t + j][c];
        }
        y[t][c] = s;
      }
    }
    return y;
  }
}
