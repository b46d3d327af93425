package org.sparkssm.scan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * Layers applied in sequence, each layer's outputs feeding the next one's inputs: SSM layers
 * (any {@link ScanModel}), causal convolutions, channel-mixing maps and nonlinearities, for
 * example {@code conv → SiLU → S4D → Linear → GELU → S4D}. The state is the layers' states
 * concatenated in layer order; a missing step (held by the caller) holds every layer.
 *
 * <p>A stack is a {@link ScanModel} for sequential and chunked runs, but with nonlinear layers it
 * has no single {@link #decay}: a series split across tasks runs it stage by stage, each stage a
 * run of {@link WindowedModel} layers (whose incoming state comes from the previous piece's last
 * rows, the halo) ending in one recurrent layer (whose incoming state comes from the carry),
 * see {@link #stages()}. Nested stacks are flattened. Immutable.
 */
public final class LayerStack implements ScanModel {
  private static final long serialVersionUID = 1L;

  private final ScanModel[] layers;
  private final int[] stateOffset; // layer i's state is h[stateOffset[i], stateOffset[i + 1])
  private final int widest;
  private final long fingerprint;

  private LayerStack(ScanModel[] layers) {
    this.layers = layers;
    this.stateOffset = new int[layers.length + 1];
    int widestSoFar = 0;
    Fingerprint f = new Fingerprint().add("LayerStack").add(layers.length);
    for (int i = 0; i < layers.length; i++) {
      stateOffset[i + 1] = stateOffset[i] + layers[i].stateSize();
      widestSoFar = Math.max(widestSoFar, layers[i].outputs());
      f.add(layers[i].fingerprint());
    }
    this.widest = widestSoFar;
    this.fingerprint = f.value();
  }

  /** The layers in order; each layer's outputs must equal the next layer's inputs. */
  public static LayerStack of(ScanModel... layers) {
    Checks.notNull("layers", layers);
    List<ScanModel> flat = new ArrayList<>();
    for (int i = 0; i < layers.length; i++) {
      ScanModel layer = Checks.notNull("layers[" + i + "]", layers[i]);
      if (layer instanceof LayerStack) {
        flat.addAll(((LayerStack) layer).layers());
      } else {
        flat.add(layer);
      }
    }
    if (flat.isEmpty()) {
      Checks.fail("layers: expected at least one layer, got none");
    }
    for (int i = 1; i < flat.size(); i++) {
      if (flat.get(i).inputs() != flat.get(i - 1).outputs()) {
        Checks.fail("layers[%d]: expected %d inputs (the outputs of layers[%d], %s), got %d (%s)", i,
            flat.get(i - 1).outputs(), i - 1, flat.get(i - 1).getClass().getSimpleName(), flat.get(i).inputs(),
            flat.get(i).getClass().getSimpleName());
      }
    }
    return new LayerStack(flat.toArray(new ScanModel[0]));
  }

  /** The layers, flattened, in order. */
  public List<ScanModel> layers() {
    return Collections.unmodifiableList(Arrays.asList(layers));
  }

  /** Where layer {@code i}'s state starts in the stack's state. */
  public int stateOffset(int layer) {
    return stateOffset[layer];
  }

  /**
   * The stack cut for scanning across pieces: each stage is zero or more {@link WindowedModel}
   * layers followed by one recurrent layer, except that the last stage may end with windowed
   * layers only. Concatenated, the stages are the stack.
   */
  public List<LayerStack> stages() {
    List<LayerStack> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < layers.length; i++) {
      if (!(layers[i] instanceof WindowedModel) || i == layers.length - 1) {
        out.add(new LayerStack(Arrays.copyOfRange(layers, start, i + 1)));
        start = i + 1;
      }
    }
    return out;
  }

  /** The windowed layers at the start of the stack (all of them when every layer is windowed). */
  public int windowedPrefixLength() {
    int n = 0;
    while (n < layers.length && layers[n] instanceof WindowedModel) {
      n++;
    }
    return n;
  }

  /**
   * Present input rows that determine the state of the windowed prefix: the sum of the windows.
   * A convolution of width k after one of width k' reads k' − 1 + k − 1 rows back.
   */
  public int prefixWindow() {
    int w = 0;
    for (int i = 0; i < windowedPrefixLength(); i++) {
      w += ((WindowedModel) layers[i]).window();
    }
    return w;
  }

  @Override
  public int inputs() {
    return layers[0].inputs();
  }

  @Override
  public int outputs() {
    return layers[layers.length - 1].outputs();
  }

  @Override
  public int stateSize() {
    return stateOffset[layers.length];
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }

  /**
   * Runs the chunk through every layer in turn. Allocates two chunk-sized buffers and the layers'
   * state views per call (per chunk, not per step).
   */
  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    Checks.length("h", h, stateSize(), "the layers' states");
    if (layers.length == 1) {
      layers[0].scan(u, uOff, y, yOff, length, h);
      return;
    }
    double[] a = new double[length * widest];
    double[] b = new double[length * widest];
    double[] in = u;
    int inOff = uOff;
    for (int i = 0; i < layers.length; i++) {
      boolean last = i == layers.length - 1;
      double[] out = last ? y : (i % 2 == 0 ? a : b);
      int outOff = last ? yOff : 0;
      double[] hi = Arrays.copyOfRange(h, stateOffset[i], stateOffset[i + 1]);
      layers[i].scan(in, inOff, out, outOff, length, hi);
      System.arraycopy(hi, 0, h, stateOffset[i], hi.length);
      in = out;
      inOff = outOff;
    }
  }

  /**
   * A one-layer stack decays as its layer. A deeper stack has no single linear decay (each layer's
   * zero-input response, bias included, drives the next layer), so it throws: split it with
   * {@link #stages()}.
   */
  @Override
  public void decay(double[] h, long steps) {
    if (layers.length == 1) {
      layers[0].decay(h, steps);
      return;
    }
    throw new UnsupportedOperationException("LayerStack of " + layers.length
        + " layers: no single decay (the layers feed each other); scan it across pieces stage by stage, see stages()");
  }
}
