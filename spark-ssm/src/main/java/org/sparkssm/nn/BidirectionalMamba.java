package org.sparkssm.nn;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * Two Mamba mixers with separate weights reading a token axis in both directions, as S-Mamba and
 * Bi-Mamba+ use them on variate tokens:
 *
 * <pre>
 *   out = mamba_f(x) + flip(mamba_r(flip(x)))          flip: the steps of each sequence reversed
 * </pre>
 *
 * Backward: {@code dx = mamba_f'(dout) + flip(mamba_r'(flip(dout)))}. The two blocks' tensors live
 * under the caller's prefixes (S-Mamba: {@code layers.i.mamba.} and {@code layers.i.mamba_r.}).
 */
public final class BidirectionalMamba {
  private final MambaBlock forward;
  private final MambaBlock reverse;

  /** Two blocks as {@link MambaBlock#MambaBlock(ParameterLayout, String, int, int, int, int, int, int)}. */
  public BidirectionalMamba(ParameterLayout layout, String forwardPrefix, String reversePrefix, int dModel, int dInner,
      int dState, int dtRank, int dConv, int chunk) {
    this.forward = new MambaBlock(layout, forwardPrefix, dModel, dInner, dState, dtRank, dConv, chunk);
    this.reverse = new MambaBlock(layout, reversePrefix, dModel, dInner, dState, dtRank, dConv, chunk);
  }

  /** The block reading the sequence forward. */
  public MambaBlock forwardBlock() {
    return forward;
  }

  /** The block reading it backwards. */
  public MambaBlock reverseBlock() {
    return reverse;
  }

  /** Both blocks' initialization ({@link MambaBlock#init}), forward block first. */
  public void init(double[] w, SplittableRandom rnd) {
    forward.init(w, rnd);
    reverse.init(w, rnd);
  }

  public Cache newCache(int batch, int len) {
    return new Cache(this, batch, len);
  }

  /** Both blocks' caches and one buffer of {@code batch × len × d_model}. */
  public static final class Cache {
    final BidirectionalMamba owner;
    final MambaBlock.Cache f;
    final MambaBlock.Cache r;
    final double[] tmp; // the reverse block's output (forward) or its flipped output gradient (backward)

    Cache(BidirectionalMamba m, int batch, int len) {
      this.owner = m;
      this.f = m.forward.newCache(batch, len);
      this.r = m.reverse.newCache(batch, len);
      this.tmp = new double[batch * len * m.forward.dModel()];
    }

    /** Both blocks compute in {@code p} ({@link MambaBlock.Cache#computeIn}). */
    public void computeIn(Precision p) {
      f.computeIn(p);
      r.computeIn(p);
    }

    /** Both blocks' selective scans run on {@code device} where it gives twins. */
    public void runOn(LayerDevice device) {
      f.runOn(device);
      r.runOn(device);
    }
  }

  private void checkCache(Cache c) {
    Checks.notNull("cache", c);
    if (c.owner != this) {
      Checks.fail("cache: expected one made by this layer's newCache");
    }
  }

  /** Writes {@code out} ({@code batch × len × d_model}, overwritten); out may be the region of x. */
  public void forward(double[] w, double[] x, int xOff, int batch, int len, double[] out, int outOff, Cache c) {
    checkCache(c);
    final int dm = forward.dModel();
    long n = (long) batch * len * dm;
    MambaBlock.Cache cr = c.r;
    if (batch > cr.maxBatch || len > cr.maxLen) {
      Checks.fail("cache: expected one for at least batch %d × len %d, got %d × %d", batch, len, cr.maxBatch,
          cr.maxLen);
    }
    Checks.range("x", x, xOff, n);
    Checks.range("out", out, outOff, n);
    // The reverse block reads the flipped input straight from its cache (its own copy of the input).
    for (int b = 0; b < batch; b++) {
      Tensors.reverseRows(x, xOff + b * len * dm, len, dm, cr.x, b * len * dm);
    }
    forward.forward(w, x, xOff, batch, len, out, outOff, c.f);
    reverse.forwardCached(w, batch, len, c.tmp, 0, cr);
    addFlipped(c.tmp, batch, len, dm, out, outOff);
  }

  /** Accumulates both blocks' gradients into gw and writes dx (overwritten); dx may be the region of dout. */
  public void backward(double[] w, double[] gw, double[] dout, int doutOff, int batch, int len, double[] dx, int dxOff,
      Cache c) {
    checkCache(c);
    final int dm = forward.dModel();
    long n = (long) batch * len * dm;
    Checks.range("dout", dout, doutOff, n);
    Checks.range("dx", dx, dxOff, n);
    for (int b = 0; b < batch; b++) {
      Tensors.reverseRows(dout, doutOff + b * len * dm, len, dm, c.tmp, b * len * dm);
    }
    // tmp holds the flipped dout; the reverse block may write its dx over it (it reads dout first).
    reverse.backward(w, gw, c.tmp, 0, batch, len, c.tmp, 0, c.r);
    forward.backward(w, gw, dout, doutOff, batch, len, dx, dxOff, c.f);
    addFlipped(c.tmp, batch, len, dm, dx, dxOff);
  }

  /** {@code y[b, t] += v[b, len - 1 - t]} for every sequence. */
  private static void addFlipped(double[] v, int batch, int len, int dm, double[] y, int yOff) {
    for (int b = 0; b < batch; b++) {
      int base = b * len * dm;
      for (int t = 0; t < len; t++) {
        Tensors.addInto(y, yOff + base + t * dm, v, base + (len - 1 - t) * dm, dm);
      }
    }
  }
}
