package org.sparkssm.gpu;

import org.sparkssm.Checks;
import org.sparkssm.nn.SelectiveScanGrad;
import org.sparkssm.nn.TapeScan;

/**
 * The device twin of {@link SelectiveScanGrad}: the trainable selective scan's forward
 * ({@code selective_scan_fwd}, saving the state at every chunk start) and backward
 * ({@code selective_scan_bwd}: per chunk, recompute the states, run the adjoint down), with the
 * sums over a group's channels ({@code reduce_groups}) and over the batch ({@code reduce_batch})
 * done on the device in a fixed order, so the gradients do not depend on scheduling.
 *
 * <p>It reads and writes the same {@link SelectiveScanGrad.Tape} as the CPU scan (inputs in, y
 * and the input gradients out) and the same parameter vector {@code p} (A, D-skip, Δ bias);
 * the tape's sequences stay on the device between a forward and its backward. Tested against
 * {@link SelectiveScanGrad} on the same tapes.
 */
public final class GpuSelectiveScanGrad implements TapeScan, AutoCloseable {
  private final Device device;
  private final DeviceArrays arrays;
  private final SelectiveScanGrad scan;
  private final Gpu.StatePrecision precision;
  private final int d;
  private final int n;
  private final int g;
  private Buffer params; // A, D-skip, Δ bias in the state precision
  private Buffer u;
  private Buffer delta;
  private Buffer bm;
  private Buffer cm;
  private Buffer z;
  private Buffer y;
  private Buffer h;
  private Buffer states;
  private SelectiveScanGrad.Tape forwardTape; // the tape of the last forward, which the device holds
  private int forwardBatch;
  private int forwardLen;

  public GpuSelectiveScanGrad(Gpu gpu, SelectiveScanGrad scan, Gpu.StatePrecision precision) {
    this(gpu.device, scan, precision);
  }

  GpuSelectiveScanGrad(Device device, SelectiveScanGrad scan, Gpu.StatePrecision precision) {
    this.device = device;
    this.arrays = new DeviceArrays(device);
    this.scan = Checks.notNull("scan", scan);
    this.precision = Checks.notNull("precision", precision);
    this.d = scan.channels();
    this.n = scan.stateSize();
    this.g = scan.groups();
    Gpu.stateTile(n);
  }

  /** As {@link SelectiveScanGrad#forward}: writes {@code tape.y}; keeps the sequences and chunk states on the device. */
  @Override
  public void forward(double[] p, int pOff, SelectiveScanGrad.Tape tape, int batch, int len) {
    check(p, pOff, tape, batch, len);
    long steps = (long) batch * len;
    int sd = (int) (steps * d);
    int sg = (int) (steps * g * n);
    params = arrays.ensure(params, precision.type, scan.paramSize());
    arrays.put(params, p, pOff, scan.paramSize());
    u = put(u, tape.u, sd);
    delta = put(delta, tape.delta, sd);
    z = put(z, tape.z, sd);
    bm = put(bm, tape.B, sg);
    cm = put(cm, tape.C, sg);
    y = arrays.ensure(y, Buffer.Type.F32, sd);
    int cols = batch * d;
    h = arrays.ensure(h, precision.type, (long) cols * n);
    device.zero(h, (long) cols * n); // every sequence starts from zero, as Mamba's
    int chunks = (len + scan.chunk() - 1) / scan.chunk();
    states = arrays.ensure(states, precision.type, (long) chunks * cols * n);
    device.launch(Gpu.entry("selective_scan_fwd", precision, n), Device.blocks(cols), 1, Device.BLOCK,
        inputArgs(batch, len, y, (long) d, (long) len * d, h, scan.chunk(), states, 1, len, null)); // one time chunk
    arrays.get(y, tape.y, 0, sd);
    forwardTape = tape;
    forwardBatch = batch;
    forwardLen = len;
  }

  /**
   * As {@link SelectiveScanGrad#backward} after {@link #forward} on the same tape, batch and len:
   * reads {@code tape.dy}, writes {@code tape.du, dDelta, dz, dB, dC}, adds gA, gD, gbias into gp.
   */
  @Override
  public void backward(double[] p, int pOff, double[] gp, int gpOff, SelectiveScanGrad.Tape tape, int batch, int len) {
    check(p, pOff, tape, batch, len);
    Checks.range("gp", gp, gpOff, scan.paramSize());
    if (tape != forwardTape || batch != forwardBatch || len != forwardLen) {
      Checks.fail("tape: expected the tape, batch and len of the last forward on this device scan");
    }
    long steps = (long) batch * len;
    int sd = (int) (steps * d);
    int sg = (int) (steps * g * n);
    int cols = batch * d;
    Buffer.Type t = precision.type;
    Buffer dy = device.alloc(Buffer.Type.F32, sd);
    Buffer du = device.alloc(Buffer.Type.F32, sd);
    Buffer dDelta = device.alloc(Buffer.Type.F32, sd);
    Buffer dz = device.alloc(Buffer.Type.F32, sd);
    Buffer work = device.alloc(t, (long) Math.min(scan.chunk(), len) * cols * n);
    Buffer bPart = device.alloc(Buffer.Type.F32, (long) len * cols * n);
    Buffer cPart = device.alloc(Buffer.Type.F32, (long) len * cols * n);
    Buffer gAPart = device.alloc(t, (long) cols * n);
    Buffer gDPart = device.alloc(t, cols);
    Buffer gBiasPart = device.alloc(t, cols);
    Buffer dB = device.alloc(Buffer.Type.F32, sg);
    Buffer dC = device.alloc(Buffer.Type.F32, sg);
    Buffer sums = device.alloc(t, (long) d * n);
    try {
      arrays.put(dy, tape.dy, 0, sd);
      device.launch(Gpu.entry("selective_scan_bwd", precision, n), Device.blocks(cols), 1, Device.BLOCK,
          inputArgs(batch, len, dy, (long) d, (long) len * d, scan.chunk(), states, work, du, dDelta, dz, bPart, cPart,
              gAPart, gDPart, gBiasPart, null));
      long gStride = (long) g * n;
      int groupThreads = (int) Math.min(Integer.MAX_VALUE, (long) len * batch * g * n);
      device.launch("reduce_groups", Device.blocks(groupThreads), 1, Device.BLOCK, batch, d, n, g, len, bPart, dB,
          gStride, (long) len * gStride);
      device.launch("reduce_groups", Device.blocks(groupThreads), 1, Device.BLOCK, batch, d, n, g, len, cPart, dC,
          gStride, (long) len * gStride);
      arrays.get(du, tape.du, 0, sd);
      arrays.get(dDelta, tape.dDelta, 0, sd);
      arrays.get(dz, tape.dz, 0, sd);
      arrays.get(dB, tape.dB, 0, sg);
      arrays.get(dC, tape.dC, 0, sg);
      addSums(gAPart, batch, d * n, sums, gp, gpOff + scan.aOffset());
      addSums(gDPart, batch, d, sums, gp, gpOff + scan.dSkipOffset());
      addSums(gBiasPart, batch, d, sums, gp, gpOff + scan.deltaBiasOffset());
    } finally {
      for (Buffer b : new Buffer[] {dy, du, dDelta, dz, work, bPart, cPart, gAPart, gDPart, gBiasPart, dB, dC, sums}) {
        device.free(b);
      }
    }
  }

  /** gp[off + j] += Σ_b part[b * width + j]. */
  private void addSums(Buffer part, int batch, int width, Buffer sums, double[] gp, int off) {
    String kernel = part.type == Buffer.Type.F64 ? "reduce_batch_f64" : "reduce_batch_f32";
    device.launch(kernel, Device.blocks(width), 1, Device.BLOCK, batch, width, part, sums);
    double[] s = arrays.doubles(width);
    arrays.get(sums, s, 0, width);
    for (int j = 0; j < width; j++) {
      gp[off + j] += s[j];
    }
  }

  /**
   * The kernels' leading arguments, which the forward and the backward share (shape, parameters,
   * the five input sequences), followed by {@code rest}. The tape's layout puts sequence b's step t
   * of channel d at {@code (b * len + t) * D + d}: xT = D and xB = len · D (B, C: G · N and len · G · N).
   */
  private Object[] inputArgs(int batch, int len, Object... rest) {
    long xT = d;
    long xB = (long) len * d;
    long bT = (long) g * n;
    long bB = (long) len * g * n;
    Object[] lead = {batch, d, n, g, len, null, params, params.at(scan.dSkipOffset()),
        params.at(scan.deltaBiasOffset()), 1, u, xT, xB, delta, xT, xB, bm, bT, bB, cm, bT, bB, z, xT, xB};
    Object[] all = java.util.Arrays.copyOf(lead, lead.length + rest.length);
    System.arraycopy(rest, 0, all, lead.length, rest.length);
    return all;
  }

  private Buffer put(Buffer current, double[] values, int count) {
    Buffer b = arrays.ensure(current, Buffer.Type.F32, count);
    arrays.put(b, values, 0, count);
    return b;
  }

  private void check(double[] p, int pOff, SelectiveScanGrad.Tape tape, int batch, int len) {
    Checks.notNull("tape", tape);
    Checks.range("p", p, pOff, scan.paramSize());
    Checks.positive("batch", batch);
    Checks.positive("len", len);
    if (batch > tape.maxBatch() || len > tape.maxLen()) {
      Checks.fail("tape: expected one for at least batch %d × len %d, got %d × %d", batch, len, tape.maxBatch(),
          tape.maxLen());
    }
  }

  @Override
  public void close() {
    for (Buffer b : new Buffer[] {params, u, delta, bm, cm, z, y, h, states}) {
      device.free(b);
    }
  }
}
