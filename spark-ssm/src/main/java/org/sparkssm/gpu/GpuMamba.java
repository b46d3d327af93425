package org.sparkssm.gpu;

import org.sparkssm.Checks;
import org.sparkssm.mamba.MambaModel;

/**
 * The device twin of {@link MambaModel#forward}: the same recurrent forward from a
 * {@link MambaModel.State}, with the weights uploaded once as float32 and every layer's
 * intermediate results kept on the device; only the tokens go in and the logits (and/or final
 * hidden states) come out. A Mamba (S6) layer: {@code add_norm}, {@code matmul_xwt} (in_proj),
 * {@code causal_conv1d} + silu, {@code matmul_xwt} (x_proj, dt_proj), {@code selective_scan_fwd}
 * (softplus Δ, D skip, silu gate), {@code matmul_xwt} (out_proj). A Mamba-2 layer: in_proj, the
 * convolution over x, B and C, the SSD recurrence as {@code selective_scan_fwd} with one Δ per head
 * (channel d = (head, p), the CPU computes it in SSD's chunked form: equal to rounding),
 * {@code gated_group_norm}, out_proj.
 *
 * <p>The carried state stays float64 for the convolution and is float32 or float64 for the SSM, as
 * asked; it is copied in and out per call, so a sequence fed in pieces equals one call, and the CPU
 * and the GPU can take turns. Tested against {@link MambaModel} on the golden checkpoints.
 */
public final class GpuMamba implements AutoCloseable {
  private final Device device;
  private final DeviceArrays arrays;
  private final MambaModel.DeviceWeights w; // the model's arrays, not the model: a cache may key on the model weakly
  private final Gpu.StatePrecision precision;
  private final int dm;
  private final int di;
  private final int rank;
  private final int n;
  private final int k;
  private final int vocab;
  private final int width; // S6: x_proj's output, dt_rank + 2N; Mamba-2: in_proj's, 2 d_inner + 2GN + H
  private final int convChannels; // S6: d_inner; Mamba-2: d_inner + 2GN
  private final int headDim; // channels per Δ: 1 for S6
  private final Buffer embedding;
  private final Buffer lmHead;
  private final Buffer normFWeight;
  private final Buffer normFBias;
  private final LayerBuffers[] layers;
  private int rows; // capacity of the activations
  private Buffer tokens;
  private Buffer hidden;
  private Buffer residual;
  private Buffer normed;
  private Buffer xz;
  private Buffer u;
  private Buffer dbc;
  private Buffer delta;
  private Buffer y;
  private Buffer logits;
  private Buffer chunkStates; // (chunks, d_inner, N): a chunked scan's end and incoming states
  private Buffer chunkSteps; // (chunks, d_inner): Σ Δ per chunk
  int minSpan = Gpu.MIN_SPAN; // tests lower it to cut short pieces into time chunks

  private static final class LayerBuffers {
    Buffer normWeight;
    Buffer normBias;
    Buffer inProj;
    Buffer convWeight;
    Buffer convBias;
    Buffer xProj;
    Buffer dtProj;
    Buffer a;
    Buffer dSkip;
    Buffer dtBias;
    Buffer outProj;
    Buffer groupNormWeight;
    Buffer convState;
    Buffer ssmState;
  }

  /**
   * The twin of {@code model} on {@code gpu}, or null for a shape the kernels do not hold (a state
   * of more than {@link Gpu#MAX_STATE} or a convolution wider than 8): the caller stays on the CPU.
   */
  public static GpuMamba of(Gpu gpu, MambaModel model, Gpu.StatePrecision precision) {
    return of(gpu.device, model, precision);
  }

  static GpuMamba of(Device device, MambaModel model, Gpu.StatePrecision precision) {
    MambaModel.DeviceWeights w = Checks.notNull("model", model).deviceWeights();
    if (w.dState > Gpu.MAX_STATE || w.dConv > 8) {
      return null;
    }
    return new GpuMamba(device, w, precision);
  }

  private GpuMamba(Device device, MambaModel.DeviceWeights w, Gpu.StatePrecision precision) {
    this.device = device;
    this.arrays = new DeviceArrays(device);
    this.w = w;
    this.precision = Checks.notNull("precision", precision);
    this.dm = w.dModel;
    this.di = w.dInner;
    this.rank = w.dtRank;
    this.n = w.dState;
    this.k = w.dConv;
    this.vocab = w.vocab;
    int gn = w.groups * n;
    this.width = w.mamba2 ? 2 * di + 2 * gn + w.heads : rank + 2 * n;
    this.convChannels = w.mamba2 ? di + 2 * gn : di;
    this.headDim = w.mamba2 ? di / w.heads : 1;
    embedding = floats(w.embedding);
    lmHead = w.lmHead == w.embedding ? embedding : floats(w.lmHead);
    normFWeight = floats(w.normFWeight);
    normFBias = floats(w.normFBias);
    layers = new LayerBuffers[w.layers.length];
    for (int i = 0; i < layers.length; i++) {
      MambaModel.DeviceWeights.Layer l = w.layers[i];
      LayerBuffers b = new LayerBuffers();
      b.normWeight = floats(l.normWeight);
      b.normBias = floats(l.normBias);
      b.inProj = floats(l.inProj);
      b.convWeight = floats(l.convWeight);
      b.convBias = floats(l.convBias);
      b.xProj = floats(l.xProj);
      b.dtProj = floats(l.dtProj);
      // Mamba-2's per-head A, D-skip and Δ bias, repeated over the head's channels (and A over N)
      b.a = arrays.of(precision.type, w.mamba2 ? perChannel(l.a, headDim * n) : l.a, 0, di * n);
      b.dSkip = l.dSkip == null ? null : arrays.of(precision.type, perChannel(l.dSkip, headDim), 0, di);
      b.dtBias = l.dtBias == null ? null : arrays.of(precision.type, perChannel(l.dtBias, headDim), 0, di);
      b.outProj = floats(l.outProj);
      b.groupNormWeight = floats(l.groupNormWeight);
      b.convState = device.alloc(Buffer.Type.F64, (long) (k - 1) * convChannels);
      b.ssmState = device.alloc(precision.type, (long) di * n);
      layers[i] = b;
    }
  }

  /** Each value repeated {@code times} times. */
  private static double[] perChannel(double[] values, int times) {
    double[] out = new double[values.length * times];
    for (int i = 0; i < out.length; i++) {
      out[i] = values[i / times];
    }
    return out;
  }

  private Buffer floats(double[] values) {
    return values == null ? null : arrays.of(Buffer.Type.F32, values, 0, values.length);
  }

  /**
   * As {@link MambaModel#forward}: {@code length} tokens from {@code state}, logits and/or final
   * hidden states out. Synchronized: the tasks of an executor may share one device copy of a model.
   */
  public synchronized void forward(int[] ids, int off, int length, MambaModel.State state, double[] logitsOut, int logitsOff,
      double[] hiddenOut, int hiddenOff) {
    MambaModel.checkForward(vocab, dm, ids, off, length, state, logitsOut, logitsOff, hiddenOut, hiddenOff);
    if (length == 0) {
      return;
    }
    for (int i = 0; i < layers.length; i++) {
      device.upload(layers[i].convState, state.convState(i), 0, (k - 1) * convChannels);
      arrays.put(layers[i].ssmState, state.ssmState(i), 0, di * n);
    }
    for (int start = 0; start < length; start += MambaModel.CHUNK) {
      int rowsNow = Math.min(MambaModel.CHUNK, length - start);
      chunk(ids, off + start, rowsNow, logitsOut != null);
      if (hiddenOut != null) {
        arrays.get(normed, hiddenOut, hiddenOff + start * dm, rowsNow * dm);
      }
      if (logitsOut != null) {
        arrays.get(logits, logitsOut, logitsOff + start * vocab, rowsNow * vocab);
      }
    }
    for (int i = 0; i < layers.length; i++) {
      device.download(layers[i].convState, state.convState(i), 0, (k - 1) * convChannels);
      arrays.get(layers[i].ssmState, state.ssmState(i), 0, di * n);
    }
    state.advance(length);
  }

  private void capacity(int r) {
    if (r <= rows) {
      return;
    }
    rows = Math.max(r, Math.min(MambaModel.CHUNK, 2 * rows));
    tokens = arrays.ensure(tokens, Buffer.Type.I32, rows);
    hidden = arrays.ensure(hidden, Buffer.Type.F32, (long) rows * dm);
    residual = arrays.ensure(residual, Buffer.Type.F32, (long) rows * dm);
    normed = arrays.ensure(normed, Buffer.Type.F32, (long) rows * dm);
    xz = arrays.ensure(xz, Buffer.Type.F32, (long) rows * (w.mamba2 ? width : 2 * di));
    u = arrays.ensure(u, Buffer.Type.F32, (long) rows * convChannels);
    dbc = arrays.ensure(dbc, Buffer.Type.F32, (long) rows * width);
    delta = arrays.ensure(delta, Buffer.Type.F32, (long) rows * di);
    y = arrays.ensure(y, Buffer.Type.F32, (long) rows * di);
    logits = arrays.ensure(logits, Buffer.Type.F32, (long) rows * vocab);
  }

  /** One piece of at most CHUNK tokens: {@code MambaModel.chunk} and its head, on the device. */
  private void chunk(int[] ids, int off, int r, boolean withLogits) {
    capacity(r);
    device.upload(tokens, ids, off, r);
    device.launch("embed_rows", Device.blocks((long) r * dm), 1, Device.BLOCK, r, dm, tokens, embedding, hidden);
    device.zero(residual, (long) r * dm);
    float eps = (float) w.normEps;
    for (LayerBuffers l : layers) {
      device.launch("add_norm", r, 1, 256, r, dm, residual, hidden, 1, l.normWeight, l.normBias, eps, normed);
      if (w.mamba2) {
        mamba2Mixer(l, r, eps);
      } else {
        mamba1Mixer(l, r);
      }
    }
    device.launch("add_norm", r, 1, 256, r, dm, residual, hidden, 1, normFWeight, normFBias, eps, normed);
    if (withLogits) {
      matmul(r, dm, vocab, normed, dm, lmHead, logits, vocab);
    }
  }

  /** normed → hidden through a Mamba (S6) mixer: xz = in_proj, u = silu(conv(x)), Δ B C = x_proj, scan gated by z. */
  private void mamba1Mixer(LayerBuffers l, int r) {
    matmul(r, dm, 2 * di, normed, dm, l.inProj, xz, 2 * di);
    device.launch("causal_conv1d", Device.blocks(di), 1, Device.BLOCK, r, di, k, xz, (long) 2 * di, l.convWeight,
        l.convBias, l.convState, 1, u);
    matmul(r, di, width, u, di, l.xProj, dbc, width);
    matmul(r, rank, di, dbc, width, l.dtProj, delta, di);
    selectiveScan(l, r, 1, u, di, delta, di, dbc.at(rank), dbc.at(rank + n), width, xz.at(di), 2 * di, 1);
    matmul(r, di, dm, y, di, l.outProj, hidden, dm);
  }

  /**
   * normed → hidden through a Mamba-2 mixer: (z | xBC | dt) = in_proj, xBC = silu(conv(xBC)), the
   * SSD recurrence (one Δ per head), y = gated RMSNorm(y, z), out_proj.
   */
  private void mamba2Mixer(LayerBuffers l, int r, float eps) {
    int gn = w.groups * n;
    matmul(r, dm, width, normed, dm, l.inProj, xz, width);
    device.launch("causal_conv1d", Device.blocks(convChannels), 1, Device.BLOCK, r, convChannels, k, xz.at(di),
        (long) width, l.convWeight, l.convBias, l.convState, 1, u);
    selectiveScan(l, r, w.groups, u, convChannels, xz.at(di + convChannels), width, u.at(di), u.at(di + gn),
        convChannels, null, 0, headDim);
    device.launch("gated_group_norm", r, w.groups, 256, r, di, w.groups, y, xz, (long) width, l.groupNormWeight, eps);
    matmul(r, di, dm, y, di, l.outProj, hidden, dm);
  }

  /**
   * y = the layer's selective scan of r rows from its SSM state (advanced): x, Δ (raw), B, C and the
   * gate z (null: none) read with the given row strides. With few channels for a GPU the rows are
   * cut into time chunks: end states from zero, their carry, then every chunk with its outputs.
   */
  private void selectiveScan(LayerBuffers l, int r, int groups, Buffer x, int xT, Buffer dt, int dtT, Buffer bm,
      Buffer cm, int bcT, Buffer gate, int zT, int deltaPer) {
    String kernel = Gpu.entry("selective_scan_fwd", precision, n);
    int chunks = Gpu.timeChunks(di, r, minSpan);
    if (chunks == 1) {
      device.launch(kernel, Device.blocks(di), 1, Device.BLOCK, 1, di, n, groups, r, null, l.a, l.dSkip, l.dtBias, 1, x,
          (long) xT, 0L, dt, (long) dtT, 0L, bm, (long) bcT, 0L, cm, (long) bcT, 0L, gate, (long) zT, 0L, y, (long) di,
          0L, l.ssmState, 1, null, deltaPer, r, null);
      return;
    }
    int span = (r + chunks - 1) / chunks;
    chunkStates = arrays.ensure(chunkStates, precision.type, (long) chunks * di * n);
    chunkSteps = arrays.ensure(chunkSteps, precision.type, (long) chunks * di);
    device.zero(chunkStates, (long) chunks * di * n);
    device.launch(kernel, Device.blocks(di), chunks, Device.BLOCK, 1, di, n, groups, r, null, l.a, l.dSkip, l.dtBias, 1,
        x, (long) xT, 0L, dt, (long) dtT, 0L, bm, (long) bcT, 0L, null, 0L, 0L, null, 0L, 0L, null, 0L, 0L,
        chunkStates, 1, null, deltaPer, span, chunkSteps);
    device.launch(Gpu.entry("selective_carry", precision, n), Device.blocks(di), 1, Device.BLOCK, 1, di, n, l.a,
        chunks, chunkSteps, chunkStates, l.ssmState);
    device.launch(kernel, Device.blocks(di), chunks, Device.BLOCK, 1, di, n, groups, r, null, l.a, l.dSkip, l.dtBias, 1,
        x, (long) xT, 0L, dt, (long) dtT, 0L, bm, (long) bcT, 0L, cm, (long) bcT, 0L, gate, (long) zT, 0L, y,
        (long) di, 0L, chunkStates, 1, null, deltaPer, span, null);
  }

  /** {@code Y[r, o] = Σ_i X[r, i] W[o, i]} for r < rows, o < out (64×64 tiles, 256 threads each). */
  private void matmul(int r, int in, int out, Buffer x, int ldx, Buffer weight, Buffer yOut, int ldy) {
    device.launch("matmul_xwt", (out + 63) / 64, (r + 63) / 64, 256, r, in, out, x, ldx, weight, yOut, ldy);
  }

  @Override
  public synchronized void close() {
    for (Buffer b : new Buffer[] {embedding, lmHead == embedding ? null : lmHead, normFWeight, normFBias, tokens, hidden,
        residual, normed, xz, u, dbc, delta, y, logits, chunkStates, chunkSteps}) {
      device.free(b);
    }
    for (LayerBuffers l : layers) {
      for (Buffer b : new Buffer[] {l.normWeight, l.normBias, l.inProj, l.convWeight, l.convBias, l.xProj, l.dtProj,
          l.a, l.dSkip, l.dtBias, l.outProj, l.groupNormWeight, l.convState, l.ssmState}) {
        device.free(b);
      }
    }
  }
}
