package org.sparkssm.nn;

import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import org.sparkssm.Checks;
import org.sparkssm.scan.VectorSupport;

/**
 * A linear layer without bias, {@code y = x Wᵀ} (PyTorch's {@code Linear}, W {@code (out, in)}),
 * in float32 with W packed once for a cache-blocked kernel: the form of Mamba's in_proj, x_proj,
 * dt_proj and out_proj at inference, whose checkpoints store float32 anyway.
 *
 * <p>Layout: W transposed into panels of {@code P} consecutive outputs, panel {@code j} holding
 * {@code W[j P + q, i]} at {@code j · in · P + i · P + q} (the last panel padded with zero
 * weights). The kernel then reads one panel row per input i as contiguous vectors and multiplies
 * it by a broadcast x[r, i] of several rows at once ({@link PackedLinearVector}). P is the Vector
 * API's choice for this machine, so the serialized form is the plain {@code (out, in)} matrix and a
 * deserialized layer is packed again for the JVM that reads it.
 *
 * <p>Numbers: every {@code y[r, o]} is the float32 sequence {@code acc = fma(x[r, i], W[o, i], acc)}
 * for i = 0, ..., in - 1 from {@code acc = 0}, whatever the path, tile, block or number of rows in
 * the call: the Vector API path and {@link #xWtScalar} agree bit for bit, and a row's result does not
 * depend on which rows share its call. Against an exact sum the error is that of a float32
 * recursive sum, at most about {@code in · 2⁻²⁴ · Σ_i |x[r, i] W[o, i]|}.
 *
 * <p>Immutable and thread-safe; nothing is allocated per call.
 */
public final class PackedLinear implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Panel width for the scalar path: any width is correct there; this one keeps panels small. */
  private static final int SCALAR_PANEL_WIDTH = 16;

  private final int out;
  private final int in;
  private final int panelWidth;
  private final float[] panels;

  private PackedLinear(int out, int in, int panelWidth, float[] panels) {
    this.out = out;
    this.in = in;
    this.panelWidth = panelWidth;
    this.panels = panels;
  }

  /** Packs W {@code (out, in)}, row {@code o} at {@code wOff + o * in}, each weight rounded to float32. */
  public static PackedLinear pack(double[] w, int wOff, int out, int in) {
    Checks.notNull("w", w);
    checkShape(out, in);
    checkRange("w", w.length, wOff, (long) out * in);
    float[] rounded = new float[out * in];
    for (int k = 0; k < rounded.length; k++) {
      rounded[k] = (float) w[wOff + k];
    }
    return pack(rounded, 0, out, in);
  }

  /** Packs W {@code (out, in)}, row {@code o} at {@code wOff + o * in}. */
  public static PackedLinear pack(float[] w, int wOff, int out, int in) {
    Checks.notNull("w", w);
    checkShape(out, in);
    checkRange("w", w.length, wOff, (long) out * in);
    PackedLinear p = empty(out, in);
    for (int o = 0; o < out; o++) {
      int base = p.panelIndex(o);
      int wr = wOff + o * in;
      for (int i = 0; i < in; i++) {
        p.panels[base + i * p.panelWidth] = w[wr + i];
      }
    }
    return p;
  }

  private static PackedLinear empty(int out, int in) {
    int width = VectorSupport.ENABLED ? PackedLinearVector.PANEL_WIDTH : SCALAR_PANEL_WIDTH;
    long size = (long) ((out + width - 1) / width) * width * in;
    if (size > Integer.MAX_VALUE - 8) {
      Checks.fail("W: expected at most %d packed weights, got %d (out %d, in %d)", Integer.MAX_VALUE - 8, size,
          out, in);
    }
    return new PackedLinear(out, in, width, new float[(int) size]);
  }

  /** Output features: the rows of W and the row stride of y. */
  public int out() {
    return out;
  }

  /** Input features: the columns of W and the row stride of x. */
  public int in() {
    return in;
  }

  /**
   * {@code y[r, o] = Σ_i x[r, i] W[o, i]} for {@code rows} rows (overwrites y): x row {@code r} at
   * {@code xOff + r * in}, y row {@code r} at {@code yOff + r * out}. On the Vector API when enabled,
   * else {@link #xWtScalar}; both give the same bits.
   */
  public void xWt(float[] x, int xOff, int rows, float[] y, int yOff) {
    checkCall(x, xOff, rows, y, yOff);
    if (VectorSupport.ENABLED) {
      PackedLinearVector.xWt(panels, out, in, x, xOff, rows, y, yOff);
    } else {
      xWtScalar(x, xOff, rows, y, yOff);
    }
  }

  /**
   * The scalar twin of {@link #xWt}: one float32 accumulator per output, FMAs in input order. The
   * reference the vector path must match exactly.
   */
  public void xWtScalar(float[] x, int xOff, int rows, float[] y, int yOff) {
    checkCall(x, xOff, rows, y, yOff);
    for (int r = 0; r < rows; r++) {
      int xr = xOff + r * in;
      int yr = yOff + r * out;
      for (int o = 0; o < out; o++) {
        int wo = panelIndex(o);
        float acc = 0f;
        for (int i = 0; i < in; i++) {
          acc = Math.fma(x[xr + i], panels[wo + i * panelWidth], acc);
        }
        y[yr + o] = acc;
      }
    }
  }

  /**
   * {@link #xWt} for float64 activations: x rounded to float32 into {@code xScratch}, the float32
   * product into {@code yScratch}, then widened into y (overwrites y). The scratch arrays may hold
   * as few as one row ({@code in} and {@code out} floats); rows are then done in chunks of as many
   * as both hold, which gives the same numbers (rows are independent) but shares each panel pass
   * among fewer rows, so room for 256 rows or more is best.
   */
  public void xWt(double[] x, int xOff, int rows, double[] y, int yOff, float[] xScratch, float[] yScratch) {
    Checks.notNull("x", x);
    Checks.notNull("y", y);
    Checks.nonNegative("rows", rows);
    checkRange("x", x.length, xOff, (long) rows * in);
    checkRange("y", y.length, yOff, (long) rows * out);
    Checks.notNull("xScratch", xScratch);
    Checks.notNull("yScratch", yScratch);
    int chunk = Math.min(xScratch.length / in, yScratch.length / out);
    if (rows > 0 && chunk < 1) {
      Checks.fail("scratch: expected room for one row (xScratch >= %d, yScratch >= %d floats), got %d and %d", in,
          out, xScratch.length, yScratch.length);
    }
    for (int r0 = 0; r0 < rows; r0 += chunk) {
      int n = Math.min(chunk, rows - r0);
      int xs = xOff + r0 * in;
      for (int k = 0; k < n * in; k++) {
        xScratch[k] = (float) x[xs + k];
      }
      xWt(xScratch, 0, n, yScratch, 0);
      int ys = yOff + r0 * out;
      for (int k = 0; k < n * out; k++) {
        y[ys + k] = yScratch[k];
      }
    }
  }

  /** Where {@code W[o, 0]} lives; {@code W[o, i]} is {@code panelWidth · i} further. */
  private int panelIndex(int o) {
    return (o / panelWidth) * in * panelWidth + o % panelWidth;
  }

  private void checkCall(float[] x, int xOff, int rows, float[] y, int yOff) {
    Checks.notNull("x", x);
    Checks.notNull("y", y);
    Checks.nonNegative("rows", rows);
    checkRange("x", x.length, xOff, (long) rows * in);
    checkRange("y", y.length, yOff, (long) rows * out);
  }

  private static void checkShape(int out, int in) {
    Checks.positive("out", out);
    Checks.positive("in", in);
  }

  private static void checkRange(String name, int length, int offset, long count) {
    if (offset < 0 || offset + count > length) {
      Checks.fail("%s: expected %d elements from offset %d, got an array of length %d", name, count, offset, length);
    }
  }

  /** W row-major {@code (out, in)}: the serialized form, independent of this machine's panel width. */
  /** W {@code (out, in)} row-major in float64: the packed float32 weights, widened exactly. */
  public double[] unpack() {
    float[] w = rowMajor();
    double[] out = new double[w.length];
    for (int k = 0; k < w.length; k++) {
      out[k] = w[k];
    }
    return out;
  }

  private float[] rowMajor() {
    float[] w = new float[out * in];
    for (int o = 0; o < out; o++) {
      int base = panelIndex(o);
      for (int i = 0; i < in; i++) {
        w[o * in + i] = panels[base + i * panelWidth];
      }
    }
    return w;
  }

  private Object writeReplace() {
    return new SerializedForm(out, in, rowMajor());
  }

  private void readObject(ObjectInputStream stream) throws InvalidObjectException {
    throw new InvalidObjectException("PackedLinear is read through its serialized form");
  }

  /** W as PyTorch stores it; packed again on the reading side. */
  private static final class SerializedForm implements Serializable {
    private static final long serialVersionUID = 1L;
    private final int out;
    private final int in;
    private final float[] w;

    SerializedForm(int out, int in, float[] w) {
      this.out = out;
      this.in = in;
      this.w = w;
    }

    private Object readResolve() {
      return pack(w, 0, out, in);
    }
  }
}
