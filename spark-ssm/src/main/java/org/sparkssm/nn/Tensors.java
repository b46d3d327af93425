package org.sparkssm.nn;

/** Element-wise helpers of the layers: the residual add and its backward (a copy or a sum). */
public final class Tensors {
  private Tensors() {}

  /** {@code a[i] += b[i]} for n elements: a residual connection's forward, or a gradient reaching a tensor twice. */
  public static void addInto(double[] a, int aOff, double[] b, int bOff, int n) {
    for (int i = 0; i < n; i++) {
      a[aOff + i] += b[bOff + i];
    }
  }

  /** {@code y[i] = a[i] + b[i]}. */
  public static void add(double[] a, int aOff, double[] b, int bOff, double[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = a[aOff + i] + b[bOff + i];
    }
  }

  /** Transposes a row-major {@code (rows, cols)} block into {@code (cols, rows)}. */
  public static void transpose(double[] x, int xOff, int rows, int cols, double[] y, int yOff) {
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        y[yOff + c * rows + r] = x[xOff + r * cols + c];
      }
    }
  }

  /** Reverses the order of {@code len} rows of {@code width} doubles (a sequence read backwards in time). */
  public static void reverseRows(double[] x, int xOff, int len, int width, double[] y, int yOff) {
    for (int t = 0; t < len; t++) {
      System.arraycopy(x, xOff + (len - 1 - t) * width, y, yOff + t * width, width);
    }
  }
}
