package org.sparkssm.gpu;

import org.sparkssm.Checks;
import org.sparkssm.scan.DiagonalSsm;

/**
 * The device twin of {@link org.sparkssm.scan.DiagonalScan} for a batch of sequences of one
 * {@link DiagonalSsm} (kernels {@code diag_scan_real/complex}), and the scan's backward
 * ({@code diag_chunk_states} + {@code diag_scan_bwd}, the S4D layer's reverse scan).
 *
 * <p>Sequences are given as the CPU kernels take them, one after another, {@code (b, t, D)}:
 * {@code u[(b * len + t) * D + d]}; states as {@link DiagonalSsm} lays them out, one per sequence
 * ({@code h[b * stateSize ..]}). On the way to the device the batch is interleaved time-major,
 * {@code (t, b, D)}, so the threads of neighbouring sequences read neighbouring addresses: a batch
 * of many univariate series reads coalesced. Tested against the CPU scan (forward) and against
 * central differences of it (backward).
 */
public final class GpuDiagonalScan implements AutoCloseable {
  /** Steps between the states the backward saves and recomputes from. */
  static final int CHUNK = 64;

  private final Device device;
  private final DeviceArrays arrays;
  private final DiagonalSsm m;
  private final Gpu.StatePrecision precision;
  private final int d;
  private final int n;
  private final boolean complex;
  private final Buffer abar;
  private final Buffer bbar;
  private final Buffer c;
  private final Buffer dSkip;
  private Buffer u;
  private Buffer y;
  private Buffer h;
  private Buffer lengths;
  private Buffer chunkStates; // (chunks, cols, state per column): the chunked scan's end and incoming states
  int minSpan = Gpu.MIN_SPAN; // tests lower it to cut short sequences into time chunks

  public GpuDiagonalScan(Gpu gpu, DiagonalSsm m, Gpu.StatePrecision precision) {
    this(gpu.device, m, precision);
  }

  GpuDiagonalScan(Device device, DiagonalSsm m, Gpu.StatePrecision precision) {
    this.device = device;
    this.arrays = new DeviceArrays(device);
    this.m = Checks.notNull("model", m);
    this.precision = Checks.notNull("precision", precision);
    this.d = m.channels();
    this.n = m.stateDim();
    Gpu.stateTile(n);
    this.complex = m.isComplex();
    Buffer.Type t = precision.type;
    this.abar = arrays.of(t, pack(m.abarRe(), m.abarIm()), 0, parameterLength());
    this.bbar = arrays.of(t, pack(m.bbarRe(), m.bbarIm()), 0, parameterLength());
    this.c = arrays.of(t, pack(m.cRe(), m.cIm()), 0, parameterLength());
    double[] skip = m.dSkip();
    this.dSkip = skip == null ? null : arrays.of(t, skip, 0, d);
  }

  private int parameterLength() {
    return (complex ? 2 : 1) * d * n;
  }

  private double[] pack(double[] re, double[] im) {
    if (!complex) {
      return re;
    }
    double[] out = new double[2 * d * n];
    System.arraycopy(re, 0, out, 0, d * n);
    System.arraycopy(im, 0, out, d * n, d * n);
    return out;
  }

  /** Per-column state length: N, or 2N for a complex system. */
  private int columnState() {
    return complex ? 2 * n : n;
  }

  /**
   * Scans {@code batch} sequences of {@code len} steps (of which sequence b has {@code lengths[b]}
   * when lengths is not null): reads {@code u} and the initial states in {@code h}
   * ({@code batch × m.stateSize()}), writes {@code y} (null: states only) and the final states into h.
   * Equals {@code DiagonalScan.scan} per sequence to float32 rounding of the data.
   */
  public void scan(int batch, int len, int[] lengths, double[] u, double[] y, double[] h) {
    check(batch, len, lengths, u, h);
    if (y != null) {
      Checks.range("y", y, 0, (long) batch * len * d);
    }
    long cols = (long) batch * d;
    uploadInterleaved(u, batch, len);
    uploadStates(h, batch);
    Buffer lengthBuffer = uploadLengths(lengths, batch);
    if (y != null) {
      this.y = arrays.ensure(this.y, Buffer.Type.F32, (long) batch * len * d);
    }
    String kernel = Gpu.entry(complex ? "diag_scan_complex" : "diag_scan_real", precision, n);
    int chunks = Gpu.timeChunks(cols, len, minSpan);
    Buffer out = y == null ? null : this.y;
    if (chunks == 1) {
      device.launch(kernel, Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len, lengthBuffer, abar, bbar, c,
          dSkip, this.u, (long) batch * d, (long) d, out, (long) batch * d, (long) d, this.h, len);
    } else {
      // The two-pass scan on the device (ssm_kernels.cu, "Time chunks"): end states from zero,
      // then the incoming state of each chunk in order, then every chunk again with its outputs.
      int span = (len + chunks - 1) / chunks;
      long block = (long) chunks * cols * columnState();
      chunkStates = arrays.ensure(chunkStates, precision.type, block);
      device.zero(chunkStates, block);
      device.launch(kernel, Device.blocks(cols), chunks, Device.BLOCK, batch, d, n, len, lengthBuffer, abar, bbar, c,
          dSkip, this.u, (long) batch * d, (long) d, null, 0L, 0L, chunkStates, span);
      device.launch(Gpu.entry("diag_carry", precision, n), Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len,
          lengthBuffer, abar, complex ? 1 : 0, span, chunks, chunkStates, this.h);
      if (out != null) {
        device.launch(kernel, Device.blocks(cols), chunks, Device.BLOCK, batch, d, n, len, lengthBuffer, abar, bbar, c,
            dSkip, this.u, (long) batch * d, (long) d, out, (long) batch * d, (long) d, chunkStates, span);
      }
    }
    if (y != null) {
      downloadInterleaved(this.y, y, batch, len);
    }
    downloadStates(h, batch);
  }

  /** Gradients of the backward, summed over the batch, in {@link DiagonalSsm}'s layouts. */
  public static final class Gradients {
    /** Of Ā, B̄ and C: real parts then (complex) imaginary parts, {@code [d * N + n]}. */
    public final double[] abar;
    public final double[] bbar;
    public final double[] c;
    /** Of the D-skip ({@code D}). */
    public final double[] dSkip;
    /** Of each sequence's initial state ({@code batch × stateSize}). */
    public final double[] h0;

    Gradients(int params, int d, int states) {
      abar = new double[params];
      bbar = new double[params];
      c = new double[params];
      dSkip = new double[d];
      h0 = new double[states];
    }
  }

  /**
   * The backward of {@link #scan} from the initial states {@code h0} for the output gradient
   * {@code dy}: writes {@code du} and returns the parameter and initial-state gradients.
   */
  public Gradients backward(int batch, int len, int[] lengths, double[] u, double[] h0, double[] dy, double[] du) {
    check(batch, len, lengths, u, h0);
    Checks.range("dy", dy, 0, (long) batch * len * d);
    Checks.range("du", du, 0, (long) batch * len * d);
    if (!complex) {
      throw new UnsupportedOperationException("the device backward takes a complex system (S4D's); a real one "
          + "is the complex system with zero imaginary parts");
    }
    int cols = batch * d;
    int s = columnState();
    Buffer.Type t = precision.type;
    uploadInterleaved(u, batch, len);
    uploadStates(h0, batch);
    Buffer lengthBuffer = uploadLengths(lengths, batch);
    int chunks = (len + CHUNK - 1) / CHUNK;
    Buffer states = device.alloc(t, (long) Math.max(1, chunks) * cols * s);
    Buffer work = device.alloc(t, (long) Math.min(CHUNK, Math.max(1, len)) * cols * s);
    Buffer dyBuffer = device.alloc(Buffer.Type.F32, (long) batch * len * d);
    Buffer duBuffer = device.alloc(Buffer.Type.F32, (long) batch * len * d);
    Buffer ga = device.alloc(t, (long) cols * s);
    Buffer gb = device.alloc(t, (long) cols * s);
    Buffer gc = device.alloc(t, (long) cols * s);
    Buffer gskip = device.alloc(t, cols);
    Buffer gh = device.alloc(t, (long) cols * s);
    try {
      interleave(dy, batch, len, dyBuffer);
      device.launch(Gpu.entry("diag_chunk_states", precision, n), Device.blocks(cols), 1, Device.BLOCK, batch, d, n,
          len, lengthBuffer, abar, bbar, this.u, (long) batch * d, (long) d, this.h, CHUNK, states);
      device.launch(Gpu.entry("diag_scan_bwd", precision, n), Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len,
          lengthBuffer, abar, bbar, c, dSkip, this.u, (long) batch * d, (long) d, dyBuffer, (long) batch * d, (long) d,
          CHUNK, states, work, duBuffer, ga, gb, gc, gskip, gh);
      downloadInterleaved(duBuffer, du, batch, len);
      Gradients g = new Gradients(parameterLength(), d, batch * m.stateSize());
      unpackColumns(sumOverBatch(ga, batch, d * s), g.abar);
      unpackColumns(sumOverBatch(gb, batch, d * s), g.bbar);
      unpackColumns(sumOverBatch(gc, batch, d * s), g.c);
      System.arraycopy(sumOverBatch(gskip, batch, d), 0, g.dSkip, 0, d);
      Buffer saved = this.h;
      this.h = gh;
      downloadStates(g.h0, batch);
      this.h = saved;
      return g;
    } finally {
      for (Buffer b : new Buffer[] {states, work, dyBuffer, duBuffer, ga, gb, gc, gskip, gh}) {
        device.free(b);
      }
    }
  }

  /** Σ_b part[b * width + j] on the device in a fixed order, as doubles. */
  private double[] sumOverBatch(Buffer part, int batch, int width) {
    Buffer out = device.alloc(part.type, width);
    try {
      String kernel = part.type == Buffer.Type.F64 ? "reduce_batch_f64" : "reduce_batch_f32";
      device.launch(kernel, Device.blocks(width), 1, Device.BLOCK, batch, width, part, out);
      double[] sums = new double[width];
      arrays.get(out, sums, 0, width);
      return sums;
    } finally {
      device.free(out);
    }
  }

  /** Per-channel {@code [d * 2N: re n.., im n..]} into {@link DiagonalSsm}'s {@code [re D*N][im D*N]}. */
  private void unpackColumns(double[] columns, double[] out) {
    for (int k = 0; k < d; k++) {
      for (int i = 0; i < n; i++) {
        out[k * n + i] = columns[k * 2 * n + i];
        out[d * n + k * n + i] = columns[k * 2 * n + n + i];
      }
    }
  }

  private void check(int batch, int len, int[] lengths, double[] u, double[] h) {
    Checks.positive("batch", batch);
    Checks.nonNegative("len", len);
    Checks.range("u", u, 0, (long) batch * len * d);
    Checks.range("h", h, 0, (long) batch * m.stateSize());
    if (lengths != null) {
      if (lengths.length != batch) {
        Checks.fail("lengths: expected %d (batch) lengths, got %d", batch, lengths.length);
      }
      for (int b = 0; b < batch; b++) {
        if (lengths[b] < 0 || lengths[b] > len) {
          Checks.fail("lengths[%d]: expected a length in [0, %d], got %d", b, len, lengths[b]);
        }
      }
    }
  }

  private Buffer uploadLengths(int[] lengths, int batch) {
    if (lengths == null) {
      return null;
    }
    this.lengths = arrays.ensure(this.lengths, Buffer.Type.I32, batch);
    device.upload(this.lengths, lengths, 0, batch);
    return this.lengths;
  }

  /** {@code src} (b, t, D) into the device's (t, b, D) float32 layout. */
  private void uploadInterleaved(double[] src, int batch, int len) {
    this.u = arrays.ensure(this.u, Buffer.Type.F32, (long) batch * len * d);
    interleave(src, batch, len, this.u);
  }

  private void interleave(double[] src, int batch, int len, Buffer dst) {
    int total = batch * len * d;
    float[] f = arrays.floats(total);
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < len; t++) {
        int from = (b * len + t) * d;
        int to = (t * batch + b) * d;
        for (int k = 0; k < d; k++) {
          f[to + k] = (float) src[from + k];
        }
      }
    }
    device.upload(dst, f, 0, total);
  }

  private void downloadInterleaved(Buffer src, double[] dst, int batch, int len) {
    int total = batch * len * d;
    float[] f = arrays.floats(total);
    device.download(src, f, 0, total);
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < len; t++) {
        int to = (b * len + t) * d;
        int from = (t * batch + b) * d;
        for (int k = 0; k < d; k++) {
          dst[to + k] = f[from + k];
        }
      }
    }
  }

  /** DiagonalSsm's per-sequence state layout into the kernels' per-column layout, and back. */
  private void uploadStates(double[] h, int batch) {
    int s = columnState();
    int size = m.stateSize();
    this.h = arrays.ensure(this.h, precision.type, (long) batch * d * s);
    double[] cols = arrays.doubles(batch * d * s);
    for (int b = 0; b < batch; b++) {
      for (int k = 0; k < d; k++) {
        int col = (b * d + k) * s;
        for (int i = 0; i < n; i++) {
          cols[col + i] = h[b * size + k * n + i];
          if (complex) {
            cols[col + n + i] = h[b * size + d * n + k * n + i];
          }
        }
      }
    }
    arrays.put(this.h, cols, 0, batch * d * s);
  }

  private void downloadStates(double[] h, int batch) {
    int s = columnState();
    int size = m.stateSize();
    double[] cols = arrays.doubles(batch * d * s);
    arrays.get(this.h, cols, 0, batch * d * s);
    for (int b = 0; b < batch; b++) {
      for (int k = 0; k < d; k++) {
        int col = (b * d + k) * s;
        for (int i = 0; i < n; i++) {
          h[b * size + k * n + i] = cols[col + i];
          if (complex) {
            h[b * size + d * n + k * n + i] = cols[col + n + i];
          }
        }
      }
    }
  }

  @Override
  public void close() {
    for (Buffer b : new Buffer[] {abar, bbar, c, dSkip, u, y, h, lengths, chunkStates}) {
      device.free(b);
    }
  }
}
