package org.sparkssm.gpu;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.nn.SelectiveScanGrad;
import org.sparkssm.scan.DiagonalScan;
import org.sparkssm.scan.DiagonalSsm;
import org.sparkssm.scan.SelectiveScan;
import org.sparkssm.scan.VectorSupport;
import org.sparkssm.weights.Safetensors;
import org.sparkssm.weights.SafetensorsWriter;

/**
 * The Java half of {@code gpu/gpu-check}: on a GPU, every kernel family's parity with the CPU
 * code it twins and its speed, one {@link Row} per kernel, printed as a markdown table and written
 * as TSV (the script pairs it with {@code gpu/torch_peer.py}'s rows of the same names).
 *
 * <p>Parity goes through the device twins ({@link GpuDiagonalScan}, {@link GpuSelectiveScanGrad},
 * {@link GpuMamba}) on shapes small enough for the CPU; the error is
 * {@code max |gpu - cpu| / max |cpu|}, as GpuKernelsOnHostTest measures it. Speed is measured on
 * larger shapes with the data already on the device: the kernels are launched directly, with the
 * argument lists the twins use, on device-resident buffers, and each call is timed between two
 * synchronizations (median of {@link Shapes#runs} calls after {@link Shapes#warmups}). Each row
 * sets its speed against a bound: the bytes the call must move at least (its inputs read once,
 * its outputs written once; workspaces not counted) per second, against the device-to-device copy
 * bandwidth measured in the same run and against the data sheet's HBM bandwidth; the Mamba
 * forward's matmul FLOP/s against the data sheet's FP32 (non-tensor) peak.
 *
 * <p>Everything but the copy and {@link CudaDevice#synchronize} goes through {@link Device}, so
 * GpuCheckOnHostTest runs the same checks, on small {@link Shapes}, through the kernels compiled
 * for the host: that checks every direct launch's argument list against the kernel's signature
 * without a GPU.
 */
final class GpuCheck {
  /** Float32 state against the float64 CPU scans (errors relative to the largest CPU value). */
  static final double F32_TOLERANCE = 1e-4;
  /** Float32 state against float64 state through the diagonal backward's adjoint. */
  static final double F32_VS_F64_TOLERANCE = 1e-4;
  /** Float32 weights and activations through every layer of a Mamba and its head. */
  static final double MAMBA_TOLERANCE = 1e-3;

  /** The sizes of the checks: the defaults on a GPU, {@link #onHost()} for the kernels compiled for the host. */
  static final class Shapes {
    int warmups = 2;
    int runs = 7;
    long copyBytes = 1L << 30;
    // diagonal scan forward: many univariate series, enough columns to fill an H100
    int diagBatch = 131072;
    int diagD = 1;
    int diagLen = 1024;
    int diagN = 16;
    int diagParityBatch = 256;
    int diagParityD = 2;
    int diagParityLen = 512;
    // diagonal (S4D) backward, complex
    int diagBwdBatch = 8192;
    int diagBwdD = 4;
    int diagBwdLen = 1024;
    int diagBwdParityBatch = 4;
    int diagBwdParityD = 4;
    int diagBwdParityLen = 300; // five chunks of the backward's recomputation
    // selective scan: the mixer of Mamba-130m (d_inner 1536, d_state 16) on 8 sequences of 2048
    int selBatch = 8;
    int selD = 1536;
    int selN = 16;
    int selLen = 2048;
    int selChunk = 64;
    int selBwdBatch = 4;
    int selBwdLen = 1024;
    int selParityBatch = 2;
    int selParityD = 64;
    int selParityLen = 256;
    int selCpuLen = 256; // the CPU slice: one sequence of selD channels
    // an S4D layer of s4dnet's defaults (d_model 64, d_state 32, L 96) on 64 windows of 7 channels
    int s4dBatch = 448;
    int s4dH = 64;
    int s4dModes = 32;
    int s4dLen = 96;
    // Mamba-1 of 130m's shape
    int dModel = 768;
    int layers = 24;
    int vocab = 50280;
    int tokens = 2048;
    int parityTokens = 64;

    /** Shapes that the kernels compiled for the host run in seconds (GpuCheckOnHostTest). */
    static Shapes onHost() {
      Shapes s = new Shapes();
      s.warmups = 1;
      s.runs = 2;
      s.copyBytes = 1L << 20;
      s.diagBatch = 8;
      s.diagD = 2;
      s.diagLen = 40;
      s.diagParityBatch = 3;
      s.diagParityLen = 37;
      s.diagBwdBatch = 4;
      s.diagBwdD = 2;
      s.diagBwdLen = 70;
      s.diagBwdParityBatch = 2;
      s.diagBwdParityD = 2;
      s.diagBwdParityLen = 70;
      s.selBatch = 2;
      s.selD = 8;
      s.selLen = 20;
      s.selChunk = 8;
      s.selBwdBatch = 2;
      s.selBwdLen = 20;
      s.selParityD = 8;
      s.selParityLen = 20;
      s.selCpuLen = 8;
      s.s4dBatch = 3;
      s.s4dH = 3;
      s.s4dModes = 2;
      s.s4dLen = 10;
      s.dModel = 16;
      s.layers = 2;
      s.vocab = 64;
      s.tokens = 20;
      s.parityTokens = 12;
      return s;
    }
  }

  /** One kernel's line of the report; NaN and "-" where a column does not apply. */
  static final class Row {
    final String kernel;
    String state = "-";
    String shape = "-";
    double ms = Double.NaN;
    double gbPerS = Double.NaN;
    double rate = Double.NaN;
    String rateUnit = "";
    double ofCopy = Double.NaN;
    double ofPeak = Double.NaN;
    String peak = "";
    String parityShape = "-";
    double error = Double.NaN;
    double tolerance = Double.NaN;
    String parity = "-";
    String note = "";

    Row(String kernel) {
      this.kernel = kernel;
    }

    static final String TSV_HEADER = "kernel\tstate\tshape\tms_per_call\tgb_per_s\trate\trate_unit\tof_copy\tof_peak"
        + "\tpeak\tparity_shape\tmax_rel_err\ttolerance\tparity\tnote";

    String tsv() {
      return String.join("\t", kernel, state, shape, number(ms), number(gbPerS), number(rate), rateUnit,
          number(ofCopy), number(ofPeak), peak, parityShape, number(error), number(tolerance), parity,
          note.replace('\t', ' ').replace('\n', ' '));
    }

    private static String number(double v) {
      return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }
  }

  /** The largest error of several outputs against their CPU values, and which output it was. */
  static final class Parity {
    double error;
    String worst = "";

    void add(String what, double[] expected, double[] got) {
      double e = relativeError(expected, got);
      if (!Double.isNaN(error) && (Double.isNaN(e) || e >= error)) { // a NaN stays the verdict
        error = e;
        worst = what;
      }
    }

    void into(Row row, String shape, double tolerance) {
      row.parityShape = shape;
      row.error = error;
      row.tolerance = tolerance;
      row.parity = error <= tolerance ? "PASS" : "FAIL"; // NaN fails
      row.note = append(row.note, "worst: " + worst);
    }
  }

  /** {@code max |got - expected| / max |expected|}; NaN when got has a NaN. */
  static double relativeError(double[] expected, double[] got) {
    if (expected.length != got.length) {
      throw new IllegalArgumentException("lengths differ: " + expected.length + " and " + got.length);
    }
    double scale = 1e-30;
    double worst = 0;
    for (int i = 0; i < expected.length; i++) {
      double err = Math.abs(expected[i] - got[i]);
      if (Double.isNaN(err)) {
        return Double.NaN;
      }
      worst = Math.max(worst, err);
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    return worst / scale;
  }

  private final Device device;
  private final CudaDevice cuda; // null for the kernels compiled for the host: no copy, sync by download
  private final Shapes shapes;
  private final double[] nominal; // data-sheet HBM GB/s and FP32 TFLOP/s, or null for an unknown device
  private double copyGbPerS = Double.NaN;

  GpuCheck(Device device, Shapes shapes) {
    this.device = device;
    this.cuda = device instanceof CudaDevice ? (CudaDevice) device : null;
    this.shapes = shapes;
    this.nominal = cuda == null ? null : nominal(cuda.name());
  }

  /**
   * {@code GpuCheck [report.tsv]}: the checks on device 0; exits 1, printing the probe's reason,
   * where there is no GPU. {@code GpuCheck --self-test}: what gpu/prepare runs in the bundle's JRE
   * on the build machine: a small random Mamba written, loaded and run on the CPU (the JSON,
   * safetensors and Vector API paths the checks take), and the GPU probe, without needing a GPU.
   */
  public static void main(String[] args) throws IOException {
    if (args.length > 0 && args[0].equals("--self-test")) {
      selfTest();
      return;
    }
    Path tsv = args.length > 0 ? Paths.get(args[0]) : null;
    long start = System.nanoTime();
    Gpu gpu;
    try {
      gpu = Gpu.choose(GpuMode.TRUE, null);
    } catch (IllegalStateException e) {
      System.out.println("GpuCheck: no GPU to check: " + e.getMessage());
      System.exit(1);
      return;
    }
    // the first open on a machine includes the driver's compilation of the PTX for this GPU
    System.out.printf(Locale.ROOT, "GPU opened in %.1f s (driver probe, PTX load)%n",
        (System.nanoTime() - start) / 1e9);
    new GpuCheck(gpu.device, new Shapes()).run(System.out, tsv);
  }

  private static void selfTest() throws IOException {
    Shapes small = Shapes.onHost();
    MambaModel model = randomMamba(small.dModel, small.layers, small.vocab, 1);
    int[] tokens = {1, 2, 3, 4};
    double[] logits = new double[tokens.length * model.vocab()];
    model.forward(tokens, 0, tokens.length, model.newState(), logits, 0, null, 0);
    for (double v : logits) {
      if (!Double.isFinite(v)) {
        throw new IllegalStateException("self-test: the CPU forward gave a non-finite logit");
      }
    }
    System.out.println("GpuCheck self-test: random Mamba written, loaded and run on the CPU; Vector API "
        + (VectorSupport.ENABLED ? "on" : "off") + "; GPU: "
        + (Gpu.available() ? "available" : Gpu.unavailableReason()));
  }

  /**
   * Data-sheet HBM bandwidth (GB/s) and FP32 non-tensor peak (TFLOP/s) of the GPUs gpu-check is
   * run on, by the driver's device name; null for another device (the report then leaves the
   * "of peak" column empty).
   */
  static double[] nominal(String deviceName) {
    String n = deviceName.toUpperCase(Locale.ROOT);
    if (n.contains("H200")) {
      return n.contains("NVL") ? new double[] {4800, 60} : new double[] {4800, 67};
    }
    if (n.contains("H100")) {
      if (n.contains("NVL")) {
        return new double[] {3900, 60};
      }
      if (n.contains("PCIE")) {
        return new double[] {2000, 51};
      }
      return new double[] {3350, 67}; // SXM5: "NVIDIA H100 80GB HBM3"
    }
    return null;
  }

  /**
   * Runs every check; prints progress and the table to {@code out}, and writes the TSV row by row,
   * so a run killed by its timeout leaves the rows it finished.
   */
  List<Row> run(PrintStream out, Path tsv) throws IOException {
    out.println("device: " + device.describe() + (cuda == null ? "" : ", CUDA driver " + CudaDevice.driverVersion()));
    out.println("JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version")
        + ", Vector API " + (VectorSupport.ENABLED ? "on" : "off (add --add-modules jdk.incubator.vector)"));
    if (nominal != null) {
      out.printf(Locale.ROOT, "data sheet: HBM %.0f GB/s, FP32 %.0f TFLOP/s%n", nominal[0], nominal[1]);
    }
    List<Row> rows = new ArrayList<>();
    try (PrintWriter w = tsv == null ? null : new PrintWriter(Files.newBufferedWriter(tsv, StandardCharsets.UTF_8))) {
      if (w != null) {
        w.println(Row.TSV_HEADER);
        w.flush();
      }
      List<Check> checks = new ArrayList<>();
      if (cuda != null) {
        checks.add(new Check("copy_dtod", this::copy));
      }
      checks.add(new Check("diag_scan_real", () -> List.of(diagonalScan(false))));
      checks.add(new Check("diag_scan_complex", () -> List.of(diagonalScan(true))));
      checks.add(new Check("diag_scan_bwd", () -> List.of(diagonalBackward())));
      checks.add(new Check("selective_scan", this::selectiveScan));
      checks.add(new Check("s4d_convolution", () -> List.of(s4dConvolution())));
      checks.add(new Check("mamba_forward", this::mamba));
      for (Check c : checks) {
        long start = System.nanoTime();
        for (Row row : c.run()) {
          rows.add(row);
          if (w != null) {
            w.println(row.tsv());
            w.flush();
          }
          out.printf(Locale.ROOT, "  %-26s %s%n", row.kernel, progress(row));
        }
        out.printf(Locale.ROOT, "  (%s: %.1f s)%n", c.name, (System.nanoTime() - start) / 1e9);
        out.flush();
      }
    }
    out.println();
    out.print(table(rows));
    out.flush();
    return rows;
  }

  private static String progress(Row r) {
    return String.format(Locale.ROOT, "%s ms, parity %s%s", format(r.ms), r.parity,
        Double.isNaN(r.error) ? "" : " (" + String.format(Locale.ROOT, "%.2g", r.error) + ")");
  }

  /** What a check computes: its rows, or it throws. */
  private interface Rows {
    List<Row> get() throws Exception;
  }

  /** A named check; one that throws gives one ERROR row, and the next check runs. */
  private static final class Check {
    final String name;
    final Rows rows;

    Check(String name, Rows rows) {
      this.name = name;
      this.rows = rows;
    }

    List<Row> run() {
      try {
        return rows.get();
      } catch (Throwable t) { // a CUDA error, an OutOfMemoryError: report it and go on
        t.printStackTrace();
        Row r = new Row(name);
        r.parity = "ERROR";
        String m = t.getMessage();
        r.note = t.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
        return List.of(r);
      }
    }
  }

  // ---- timing and device data ----

  /** Median wall time of one call of {@code launches} between synchronizations, after warm-up calls. */
  private double millis(Runnable launches) {
    for (int i = 0; i < shapes.warmups; i++) {
      launches.run();
    }
    synchronize();
    double[] t = new double[shapes.runs];
    for (int i = 0; i < t.length; i++) {
      long start = System.nanoTime();
      launches.run();
      synchronize();
      t[i] = (System.nanoTime() - start) / 1e6;
    }
    Arrays.sort(t);
    return t[t.length / 2];
  }

  private void synchronize() {
    if (cuda != null) {
      cuda.synchronize();
    } else { // a download waits for every launch before it (Device's contract)
      Buffer one = device.alloc(Buffer.Type.F32, 1);
      device.download(one, new float[1], 0, 1);
      device.free(one);
    }
  }

  /** The buffers of one check, freed together. */
  private final class Allocations implements AutoCloseable {
    private final List<Buffer> buffers = new ArrayList<>();

    Buffer zeros(Buffer.Type type, long count) {
      Buffer b = device.alloc(type, count);
      buffers.add(b);
      return b;
    }

    /** Float32 copies of {@code values}. */
    Buffer floats(double[] values) {
      Buffer b = zeros(Buffer.Type.F32, values.length);
      new DeviceArrays(device).put(b, values, 0, values.length);
      return b;
    }

    /**
     * {@code count} floats of mean + scale · N(0, 1): one block of random values repeated, which
     * the kernels' speed does not depend on, so filling gigabytes costs no host time.
     */
    Buffer random(long count, double mean, double scale, long seed) {
      Buffer b = zeros(Buffer.Type.F32, count);
      int block = (int) Math.min(count, 1 << 20);
      float[] values = new float[block];
      SplittableRandom r = new SplittableRandom(seed);
      for (int i = 0; i < block; i++) {
        values[i] = (float) (mean + scale * r.nextGaussian());
      }
      for (long done = 0; done < count; done += block) {
        device.upload(b.at(done), values, 0, (int) Math.min(block, count - done));
      }
      return b;
    }

    @Override
    public void close() {
      for (Buffer b : buffers) {
        device.free(b);
      }
    }
  }

  /** Sets the row's speed: its time per call and the bytes it moves at least. */
  private void speed(Row row, String shape, double ms, double bytes) {
    row.shape = shape;
    row.ms = ms;
    row.gbPerS = bytes / (ms * 1e6);
    row.ofCopy = row.gbPerS / copyGbPerS;
    if (nominal != null) {
      row.ofPeak = row.gbPerS / nominal[0];
      row.peak = String.format(Locale.ROOT, "HBM %.0f GB/s", nominal[0]);
    }
  }

  // ---- the checks ----

  /**
   * kconv_*: an S4D layer's convolution mode, forward and backward as a training step calls it
   * (sequences up and back through the pinned buffer included), against the same layer on the CPU
   * (this project's loops, one thread): parity of y, du and every parameter gradient, the time of
   * each, and the speed-up.
   */
  private Row s4dConvolution() {
    int batch = shapes.s4dBatch;
    int h = shapes.s4dH;
    int len = shapes.s4dLen;
    org.sparkssm.nn.ParameterLayout layout = new org.sparkssm.nn.ParameterLayout();
    org.sparkssm.nn.S4dLayer layer = new org.sparkssm.nn.S4dLayer(layout, "s4d", h, shapes.s4dModes, 32,
        org.sparkssm.nn.S4dLayer.Mode.CONVOLUTION);
    layout.freeze();
    double[] w = new double[layout.size()];
    layer.init(w, new SplittableRandom(21));
    SplittableRandom r = new SplittableRandom(22);
    double[] u = new double[batch * len * h];
    double[] dy = new double[u.length];
    for (int i = 0; i < u.length; i++) {
      u[i] = (float) r.nextGaussian();
      dy[i] = (float) r.nextGaussian();
    }
    double[][] y = new double[2][u.length];
    double[][] du = new double[2][u.length];
    double[][] gw = new double[2][w.length];
    double[] ms = new double[2];
    for (int onDevice = 0; onDevice < 2; onDevice++) {
      org.sparkssm.nn.S4dLayer.Cache cache = layer.newCache(batch, len);
      try (GpuS4dConvolution conv = onDevice == 1 ? new GpuS4dConvolution(device, batch, len, h) : null) {
        cache.convolveOn(conv);
        int k = onDevice;
        ms[k] = millis(() -> {
          java.util.Arrays.fill(gw[k], 0.0);
          layer.forward(w, u, 0, batch, len, y[k], 0, cache);
          layer.backward(w, gw[k], dy, 0, batch, len, du[k], 0, cache);
        });
      }
    }
    Row row = new Row("s4d_convolution");
    row.state = "f32";
    row.shape = String.format(Locale.ROOT, "%d seqs × L %d × H %d, %d modes", batch, len, h, shapes.s4dModes);
    row.ms = ms[1];
    double macs = 3.0 * batch * h * len * (len + 1) / 2.0; // forward, du, dK
    row.rate = 2 * macs / (ms[1] * 1e9);
    row.rateUnit = "GFLOP/s";
    Parity parity = new Parity();
    parity.add("y", y[0], y[1]);
    parity.add("du", du[0], du[1]);
    parity.add("gradients", gw[0], gw[1]);
    parity.into(row, row.shape, 1e-4);
    row.note = append(row.note, String.format(Locale.ROOT, "forward + backward with transfers; CPU one thread %s ms: "
        + "%.3g× on the GPU", format(ms[0]), ms[0] / ms[1]));
    return row;
  }

  /** Device-to-device copy of copyBytes: the bandwidth the kernels' traffic is set against. */
  private List<Row> copy() {
    long count = shapes.copyBytes / 4;
    try (Allocations mem = new Allocations()) {
      Buffer src = mem.random(count, 0, 1, 1);
      Buffer dst = mem.zeros(Buffer.Type.F32, count);
      double ms = millis(() -> cuda.copy(dst, src, count));
      copyGbPerS = 2.0 * shapes.copyBytes / (ms * 1e6); // read and write
      Row row = new Row("copy_dtod");
      speed(row, String.format(Locale.ROOT, "%d MiB", shapes.copyBytes >> 20), ms, 2.0 * shapes.copyBytes);
      row.note = "cuMemcpyDtoD; GB/s counts the read and the write";
      return List.of(row);
    }
  }

  /**
   * A stable system: |Ā| in [0.5, 0.99] (complex: any angle in [0, π)), B̄, C, D-skip ~ N(0, 1),
   * every value a float (the device's data type), so the CPU computes on the same inputs.
   */
  static DiagonalSsm stableSystem(SplittableRandom r, int d, int n, boolean complex) {
    double[] ar = new double[d * n];
    double[] ai = new double[d * n];
    for (int i = 0; i < d * n; i++) {
      double radius = 0.5 + 0.49 * r.nextDouble();
      double angle = complex ? Math.PI * r.nextDouble() : 0;
      ar[i] = (float) (radius * Math.cos(angle));
      ai[i] = (float) (radius * Math.sin(angle));
    }
    if (!complex) {
      return DiagonalSsm.real(d, n, ar, gaussians(r, d * n, 1), gaussians(r, d * n, 1), gaussians(r, d, 1));
    }
    return DiagonalSsm.complex(d, n, ar, ai, gaussians(r, d * n, 1), gaussians(r, d * n, 1), gaussians(r, d * n, 1),
        gaussians(r, d * n, 1), gaussians(r, d, 1));
  }

  /** N(0, scale²) values rounded to float. */
  static double[] gaussians(SplittableRandom r, int count, double scale) {
    double[] v = new double[count];
    for (int i = 0; i < count; i++) {
      v[i] = (float) (scale * r.nextGaussian());
    }
    return v;
  }

  /** DiagonalSsm's complex parameters as the kernels take them: real parts, then imaginary parts. */
  private static double[] packed(double[] re, double[] im) {
    if (im == null) {
      return re;
    }
    double[] out = Arrays.copyOf(re, 2 * re.length);
    System.arraycopy(im, 0, out, re.length, im.length);
    return out;
  }

  private static String diagShape(int batch, int d, int len, int n) {
    return String.format(Locale.ROOT, "b%d x D%d x L%d x N%d", batch, d, len, n);
  }

  /**
   * diag_scan_real / diag_scan_complex: parity of {@link GpuDiagonalScan#scan} with
   * {@link DiagonalScan#scan} per sequence (output and final state, from a random initial state);
   * speed on many series in the twin's time-major layout, traffic = read u + write y.
   */
  private Row diagonalScan(boolean complex) {
    Row row = new Row(complex ? "diag_scan_complex" : "diag_scan_real");
    row.state = "f32";
    SplittableRandom r = new SplittableRandom(complex ? 11 : 7);
    int n = shapes.diagN;
    int pb = shapes.diagParityBatch;
    int pd = shapes.diagParityD;
    int pl = shapes.diagParityLen;
    DiagonalSsm m = stableSystem(r, pd, n, complex);
    double[] u = gaussians(r, pb * pl * pd, 1);
    double[] h0 = gaussians(r, pb * m.stateSize(), 0.5);
    double[] yCpu = new double[u.length];
    double[] hCpu = h0.clone();
    for (int b = 0; b < pb; b++) {
      double[] hb = Arrays.copyOfRange(hCpu, b * m.stateSize(), (b + 1) * m.stateSize());
      DiagonalScan.scan(m, u, b * pl * pd, yCpu, b * pl * pd, pl, hb);
      System.arraycopy(hb, 0, hCpu, b * m.stateSize(), hb.length);
    }
    double[] yGpu = new double[u.length];
    double[] hGpu = h0.clone();
    try (GpuDiagonalScan scan = new GpuDiagonalScan(device, m, Gpu.StatePrecision.FLOAT32)) {
      scan.scan(pb, pl, null, u, yGpu, hGpu);
    }
    Parity parity = new Parity();
    parity.add("y", yCpu, yGpu);
    parity.add("final state", hCpu, hGpu);
    parity.into(row, diagShape(pb, pd, pl, n), F32_TOLERANCE);

    int batch = shapes.diagBatch;
    int d = shapes.diagD;
    int len = shapes.diagLen;
    DiagonalSsm timed = stableSystem(r, d, n, complex);
    long cols = (long) batch * d;
    long elements = cols * len;
    try (Allocations mem = new Allocations()) {
      Buffer abar = mem.floats(packed(timed.abarRe(), timed.abarIm()));
      Buffer bbar = mem.floats(packed(timed.bbarRe(), timed.bbarIm()));
      Buffer c = mem.floats(packed(timed.cRe(), timed.cIm()));
      Buffer dSkip = mem.floats(timed.dSkip());
      Buffer uT = mem.random(elements, 0, 1, 2);
      Buffer y = mem.zeros(Buffer.Type.F32, elements);
      Buffer h = mem.zeros(Buffer.Type.F32, cols * (complex ? 2 : 1) * n);
      String kernel = Gpu.entry(complex ? "diag_scan_complex" : "diag_scan_real", Gpu.StatePrecision.FLOAT32, n);
      double ms = millis(() -> device.launch(kernel, Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len, null, abar,
          bbar, c, dSkip, uT, cols, (long) d, y, cols, (long) d, h, len));
      speed(row, diagShape(batch, d, len, n), ms, 2.0 * 4 * elements);
      row.rate = elements / (ms * 1e6);
      row.rateUnit = "Gstep/s";
    }
    return row;
  }

  /**
   * diag_scan_bwd: parity of {@link GpuDiagonalScan#backward} with a float32 state against the
   * same with a float64 state (central differences of the CPU scan would take minutes); speed of
   * its launches (chunk states, adjoint, batch sums), traffic = read u and dy + write du.
   */
  private Row diagonalBackward() {
    Row row = new Row("diag_scan_bwd");
    row.state = "f32";
    SplittableRandom r = new SplittableRandom(13);
    int n = shapes.diagN;
    int pb = shapes.diagBwdParityBatch;
    int pd = shapes.diagBwdParityD;
    int pl = shapes.diagBwdParityLen;
    DiagonalSsm m = stableSystem(r, pd, n, true);
    double[] u = gaussians(r, pb * pl * pd, 1);
    double[] h0 = gaussians(r, pb * m.stateSize(), 0.5);
    double[] dy = gaussians(r, u.length, 1);
    double[] du64 = new double[u.length];
    double[] du32 = new double[u.length];
    GpuDiagonalScan.Gradients g64;
    GpuDiagonalScan.Gradients g32;
    try (GpuDiagonalScan scan = new GpuDiagonalScan(device, m, Gpu.StatePrecision.FLOAT64)) {
      g64 = scan.backward(pb, pl, null, u, h0, dy, du64);
    }
    try (GpuDiagonalScan scan = new GpuDiagonalScan(device, m, Gpu.StatePrecision.FLOAT32)) {
      g32 = scan.backward(pb, pl, null, u, h0, dy, du32);
    }
    Parity parity = new Parity();
    parity.add("du", du64, du32);
    parity.add("gAbar", g64.abar, g32.abar);
    parity.add("gBbar", g64.bbar, g32.bbar);
    parity.add("gC", g64.c, g32.c);
    parity.add("gDskip", g64.dSkip, g32.dSkip);
    parity.add("gh0", g64.h0, g32.h0);
    parity.into(row, "f32 vs f64 state, " + diagShape(pb, pd, pl, n), F32_VS_F64_TOLERANCE);

    int batch = shapes.diagBwdBatch;
    int d = shapes.diagBwdD;
    int len = shapes.diagBwdLen;
    DiagonalSsm timed = stableSystem(r, d, n, true);
    int cols = batch * d;
    long elements = (long) cols * len;
    int s = 2 * n; // a column's complex state
    int chunk = GpuDiagonalScan.CHUNK;
    int chunks = (len + chunk - 1) / chunk;
    try (Allocations mem = new Allocations()) {
      Buffer abar = mem.floats(packed(timed.abarRe(), timed.abarIm()));
      Buffer bbar = mem.floats(packed(timed.bbarRe(), timed.bbarIm()));
      Buffer c = mem.floats(packed(timed.cRe(), timed.cIm()));
      Buffer dSkip = mem.floats(timed.dSkip());
      Buffer uT = mem.random(elements, 0, 1, 3);
      Buffer dyT = mem.random(elements, 0, 1, 4);
      Buffer duT = mem.zeros(Buffer.Type.F32, elements);
      Buffer h = mem.zeros(Buffer.Type.F32, (long) cols * s);
      Buffer states = mem.zeros(Buffer.Type.F32, (long) chunks * cols * s);
      Buffer work = mem.zeros(Buffer.Type.F32, (long) Math.min(chunk, len) * cols * s);
      Buffer ga = mem.zeros(Buffer.Type.F32, (long) cols * s);
      Buffer gb = mem.zeros(Buffer.Type.F32, (long) cols * s);
      Buffer gc = mem.zeros(Buffer.Type.F32, (long) cols * s);
      Buffer gskip = mem.zeros(Buffer.Type.F32, cols);
      Buffer gh = mem.zeros(Buffer.Type.F32, (long) cols * s);
      Buffer sums = mem.zeros(Buffer.Type.F32, (long) d * s);
      Gpu.StatePrecision f32 = Gpu.StatePrecision.FLOAT32;
      long uStride = cols;
      double ms = millis(() -> {
        device.launch(Gpu.entry("diag_chunk_states", f32, n), Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len,
            null, abar, bbar, uT, uStride, (long) d, h, chunk, states);
        device.launch(Gpu.entry("diag_scan_bwd", f32, n), Device.blocks(cols), 1, Device.BLOCK, batch, d, n, len, null,
            abar, bbar, c, dSkip, uT, uStride, (long) d, dyT, uStride, (long) d, chunk, states, work, duT, ga, gb, gc,
            gskip, gh);
        for (Buffer part : new Buffer[] {ga, gb, gc}) {
          device.launch("reduce_batch_f32", Device.blocks(d * s), 1, Device.BLOCK, batch, d * s, part, sums);
        }
        device.launch("reduce_batch_f32", Device.blocks(d), 1, Device.BLOCK, batch, d, gskip, sums);
      });
      speed(row, diagShape(batch, d, len, n) + " complex", ms, 3.0 * 4 * elements);
      row.rate = elements / (ms * 1e6);
      row.rateUnit = "Gstep/s";
    }
    return row;
  }

  /**
   * Mamba's selective-scan parameters for D channels, as it initializes them: A = -(1..N)
   * (A_log = log n), D-skip 1, the Δ bias that softplus takes to a Δ in [1e-3, 0.1].
   */
  static double[] selectiveParameters(SplittableRandom r, SelectiveScanGrad scan) {
    int d = scan.channels();
    int n = scan.stateSize();
    double[] p = new double[scan.paramSize()];
    for (int k = 0; k < d; k++) {
      for (int i = 0; i < n; i++) {
        p[scan.aOffset() + k * n + i] = -(i + 1);
      }
      p[scan.dSkipOffset() + k] = 1;
      double dt = Math.exp(Math.log(1e-3) + r.nextDouble() * (Math.log(0.1) - Math.log(1e-3)));
      p[scan.deltaBiasOffset() + k] = (float) Math.log(Math.expm1(dt)); // softplus⁻¹(dt)
    }
    return p;
  }

  /**
   * The kernels' leading arguments for the tape layout, as {@code GpuSelectiveScanGrad.inputArgs}
   * passes them (G = 1), followed by {@code rest}.
   */
  private static Object[] selectiveArgs(int batch, int d, int n, int len, Buffer params, Buffer u, Buffer delta,
      Buffer bm, Buffer cm, Buffer z, Object... rest) {
    long xT = d;
    long xB = (long) len * d;
    long bT = n;
    long bB = (long) len * n;
    Object[] lead = {batch, d, n, 1, len, null, params, params.at((long) d * n), params.at((long) d * n + d), 1, u, xT,
        xB, delta, xT, xB, bm, bT, bB, cm, bT, bB, z, xT, xB};
    Object[] all = Arrays.copyOf(lead, lead.length + rest.length);
    System.arraycopy(rest, 0, all, lead.length, rest.length);
    return all;
  }

  private static String selShape(int batch, int d, int len, int n) {
    return String.format(Locale.ROOT, "b%d x D%d x L%d x N%d", batch, d, len, n);
  }

  /**
   * selective_scan_fwd and selective_scan_bwd: parity of {@link GpuSelectiveScanGrad} with
   * {@link SelectiveScanGrad} on one tape (forward: y; backward: every input and parameter
   * gradient); speed of the forward on Mamba-130m's mixer shape (traffic = read u, δ, z, B, C +
   * write y and the chunk states; rate = exp per second) and of the backward's launches on a
   * smaller batch (traffic = read u, δ, z, dy, B, C, chunk states + write du, dδ, dz, dB, dC);
   * and {@link SelectiveScan#scan} on one CPU core (Vector API) on a slice, scaled to the
   * forward's shape per element, for the speed-up.
   */
  private List<Row> selectiveScan() {
    Row fwd = new Row("selective_scan_fwd");
    Row bwd = new Row("selective_scan_bwd");
    SplittableRandom r = new SplittableRandom(17);
    selectiveParity(r, fwd, bwd);
    SelectiveScanGrad timed = new SelectiveScanGrad(shapes.selD, shapes.selN, 1, shapes.selChunk);
    double[] p = selectiveParameters(r, timed);
    selectiveForwardSpeed(fwd, p);
    Row cpu = selectiveScanOnOneCore(r, p);
    // the CPU scan's time grows with the elements (steps x channels); the state size is the same
    double cpuMs = cpu.ms / ((double) shapes.selD * shapes.selCpuLen) * ((double) shapes.selBatch * shapes.selD
        * shapes.selLen);
    cpu.note = append(String.format(Locale.ROOT, "%.4g ms scaled to the GPU row's shape", cpuMs), cpu.note);
    fwd.note = append(fwd.note, String.format(Locale.ROOT, "%.1fx one CPU core (goal >= 10x)", cpuMs / fwd.ms));
    selectiveBackwardSpeed(bwd, p);
    return List.of(fwd, cpu, bwd);
  }

  /** Both directions of the device twin against the CPU scan on one tape of random inputs. */
  private void selectiveParity(SplittableRandom r, Row fwd, Row bwd) {
    int batch = shapes.selParityBatch;
    int d = shapes.selParityD;
    int len = shapes.selParityLen;
    int n = shapes.selN;
    SelectiveScanGrad cpu = new SelectiveScanGrad(d, n, 1, shapes.selChunk);
    double[] p = selectiveParameters(r, cpu);
    SelectiveScanGrad.Tape cpuTape = cpu.newTape(batch, len);
    SelectiveScanGrad.Tape gpuTape = cpu.newTape(batch, len);
    for (double[][] pair : new double[][][] {{cpuTape.u, gpuTape.u}, {cpuTape.delta, gpuTape.delta},
        {cpuTape.B, gpuTape.B}, {cpuTape.C, gpuTape.C}, {cpuTape.z, gpuTape.z}, {cpuTape.dy, gpuTape.dy}}) {
      double[] v = gaussians(r, pair[0].length, 1);
      System.arraycopy(v, 0, pair[0], 0, v.length);
      System.arraycopy(v, 0, pair[1], 0, v.length);
    }
    double[] gpCpu = new double[p.length];
    double[] gpGpu = new double[p.length];
    cpu.forward(p, 0, cpuTape, batch, len);
    cpu.backward(p, 0, gpCpu, 0, cpuTape, batch, len);
    try (GpuSelectiveScanGrad gpu = new GpuSelectiveScanGrad(device, cpu, Gpu.StatePrecision.FLOAT32)) {
      gpu.forward(p, 0, gpuTape, batch, len);
      gpu.backward(p, 0, gpGpu, 0, gpuTape, batch, len);
    }
    String shape = selShape(batch, d, len, n);
    Parity forward = new Parity();
    forward.add("y", cpuTape.y, gpuTape.y);
    forward.into(fwd, shape, F32_TOLERANCE);
    Parity backward = new Parity();
    backward.add("du", cpuTape.du, gpuTape.du);
    backward.add("dDelta", cpuTape.dDelta, gpuTape.dDelta);
    backward.add("dz", cpuTape.dz, gpuTape.dz);
    backward.add("dB", cpuTape.dB, gpuTape.dB);
    backward.add("dC", cpuTape.dC, gpuTape.dC);
    int dn = d * n;
    backward.add("gA", Arrays.copyOfRange(gpCpu, 0, dn), Arrays.copyOfRange(gpGpu, 0, dn));
    backward.add("gD", Arrays.copyOfRange(gpCpu, dn, dn + d), Arrays.copyOfRange(gpGpu, dn, dn + d));
    backward.add("gbias", Arrays.copyOfRange(gpCpu, dn + d, dn + 2 * d), Arrays.copyOfRange(gpGpu, dn + d, dn + 2 * d));
    backward.into(bwd, shape, F32_TOLERANCE);
  }

  /** The forward as the twin launches it (saving the chunk states), on Mamba-130m's mixer shape. */
  private void selectiveForwardSpeed(Row row, double[] p) {
    int batch = shapes.selBatch;
    int d = shapes.selD;
    int n = shapes.selN;
    int len = shapes.selLen;
    int chunk = shapes.selChunk;
    int cols = batch * d;
    long elements = (long) cols * len;
    long bc = (long) batch * len * n;
    int chunks = (len + chunk - 1) / chunk;
    try (Allocations mem = new Allocations()) {
      Buffer params = mem.floats(p);
      Buffer u = mem.random(elements, 0, 1, 5);
      Buffer delta = mem.random(elements, 0, 0.5, 6);
      Buffer z = mem.random(elements, 0, 1, 7);
      Buffer bm = mem.random(bc, 0, 1, 8);
      Buffer cm = mem.random(bc, 0, 1, 9);
      Buffer y = mem.zeros(Buffer.Type.F32, elements);
      Buffer h = mem.zeros(Buffer.Type.F32, (long) cols * n);
      Buffer states = mem.zeros(Buffer.Type.F32, (long) chunks * cols * n);
      String kernel = Gpu.entry("selective_scan_fwd", Gpu.StatePrecision.FLOAT32, n);
      // As GpuMamba runs it: one pass when the columns fill the GPU, else time chunks (end states
      // from zero, their carry, every chunk again); the training forward (which saves chunk states)
      // is the one-pass launch.
      int timeChunks = Gpu.timeChunks(cols, len, Gpu.MIN_SPAN);
      int span = (len + timeChunks - 1) / timeChunks;
      Buffer chunkStates = mem.zeros(Buffer.Type.F32, (long) timeChunks * cols * n);
      Buffer chunkSteps = mem.zeros(Buffer.Type.F32, (long) timeChunks * cols);
      Object[] single = selectiveArgs(batch, d, n, len, params, u, delta, bm, cm, z, y, (long) d, (long) len * d, h,
          chunk, states, 1, len, null);
      Object[] ends = selectiveArgs(batch, d, n, len, params, u, delta, bm, null, null, null, 0L, 0L, chunkStates, 1,
          null, 1, span, chunkSteps);
      Object[] outputs = selectiveArgs(batch, d, n, len, params, u, delta, bm, cm, z, y, (long) d, (long) len * d,
          chunkStates, 1, null, 1, span, null);
      double ms = millis(() -> {
        if (timeChunks == 1) {
          device.launch(kernel, Device.blocks(cols), 1, Device.BLOCK, single);
        } else {
          device.launch(kernel, Device.blocks(cols), timeChunks, Device.BLOCK, ends);
          device.launch(Gpu.entry("selective_carry", Gpu.StatePrecision.FLOAT32, n), Device.blocks(cols), 1,
              Device.BLOCK, batch, d, n, params, timeChunks, chunkSteps, chunkStates, h);
          device.launch(kernel, Device.blocks(cols), timeChunks, Device.BLOCK, outputs);
        }
      });
      row.note = append(row.note, timeChunks == 1 ? "one pass" : timeChunks + " time chunks (3 launches)");
      row.state = "f32";
      speed(row, selShape(batch, d, len, n), ms, 4.0 * (4 * elements + 2 * bc + (long) chunks * cols * n));
      row.rate = elements * n / (ms * 1e6);
      row.rateUnit = "Gexp/s";
    }
  }

  /** The backward's launches as the twin makes them (adjoint, group sums, batch sums), after one forward. */
  private void selectiveBackwardSpeed(Row row, double[] p) {
    int batch = shapes.selBwdBatch;
    int d = shapes.selD;
    int n = shapes.selN;
    int len = shapes.selBwdLen;
    int chunk = shapes.selChunk;
    int cols = batch * d;
    long elements = (long) cols * len;
    long bc = (long) batch * len * n;
    int chunks = (len + chunk - 1) / chunk;
    Gpu.StatePrecision f32 = Gpu.StatePrecision.FLOAT32;
    try (Allocations mem = new Allocations()) {
      Buffer params = mem.floats(p);
      Buffer u = mem.random(elements, 0, 1, 10);
      Buffer delta = mem.random(elements, 0, 0.5, 11);
      Buffer z = mem.random(elements, 0, 1, 12);
      Buffer bm = mem.random(bc, 0, 1, 13);
      Buffer cm = mem.random(bc, 0, 1, 14);
      Buffer dy = mem.random(elements, 0, 1, 15);
      Buffer y = mem.zeros(Buffer.Type.F32, elements);
      Buffer h = mem.zeros(Buffer.Type.F32, (long) cols * n);
      Buffer states = mem.zeros(Buffer.Type.F32, (long) chunks * cols * n);
      Buffer work = mem.zeros(Buffer.Type.F32, (long) Math.min(chunk, len) * cols * n);
      Buffer du = mem.zeros(Buffer.Type.F32, elements);
      Buffer dDelta = mem.zeros(Buffer.Type.F32, elements);
      Buffer dz = mem.zeros(Buffer.Type.F32, elements);
      Buffer bPart = mem.zeros(Buffer.Type.F32, elements * n);
      Buffer cPart = mem.zeros(Buffer.Type.F32, elements * n);
      Buffer gAPart = mem.zeros(Buffer.Type.F32, (long) cols * n);
      Buffer gDPart = mem.zeros(Buffer.Type.F32, cols);
      Buffer gBiasPart = mem.zeros(Buffer.Type.F32, cols);
      Buffer dB = mem.zeros(Buffer.Type.F32, bc);
      Buffer dC = mem.zeros(Buffer.Type.F32, bc);
      Buffer sums = mem.zeros(Buffer.Type.F32, (long) d * n);
      device.launch(Gpu.entry("selective_scan_fwd", f32, n), Device.blocks(cols), 1, Device.BLOCK,
          selectiveArgs(batch, d, n, len, params, u, delta, bm, cm, z, y, (long) d, (long) len * d, h, chunk, states,
              1, len, null));
      Object[] args = selectiveArgs(batch, d, n, len, params, u, delta, bm, cm, z, dy, (long) d, (long) len * d, chunk,
          states, work, du, dDelta, dz, bPart, cPart, gAPart, gDPart, gBiasPart, null);
      String kernel = Gpu.entry("selective_scan_bwd", f32, n);
      long gStride = n; // G = 1: B and C rows of N
      int groupThreads = (int) Math.min(Integer.MAX_VALUE, (long) len * batch * n);
      double ms = millis(() -> {
        device.launch(kernel, Device.blocks(cols), 1, Device.BLOCK, args);
        device.launch("reduce_groups", Device.blocks(groupThreads), 1, Device.BLOCK, batch, d, n, 1, len, bPart, dB,
            gStride, (long) len * gStride);
        device.launch("reduce_groups", Device.blocks(groupThreads), 1, Device.BLOCK, batch, d, n, 1, len, cPart, dC,
            gStride, (long) len * gStride);
        device.launch("reduce_batch_f32", Device.blocks(d * n), 1, Device.BLOCK, batch, d * n, gAPart, sums);
        device.launch("reduce_batch_f32", Device.blocks(d), 1, Device.BLOCK, batch, d, gDPart, sums);
        device.launch("reduce_batch_f32", Device.blocks(d), 1, Device.BLOCK, batch, d, gBiasPart, sums);
      });
      row.state = "f32";
      speed(row, selShape(batch, d, len, n), ms, 4.0 * (7 * elements + 4 * bc + (long) chunks * cols * n));
      row.rate = elements * n / (ms * 1e6);
      row.rateUnit = "Gexp/s";
      row.note = append(row.note, "rate counts the recomputation's exp; the adjoint takes as many again");
    }
  }

  /** {@link SelectiveScan#scan} (gated, softplus Δ) of one sequence of selCpuLen steps on this thread. */
  private Row selectiveScanOnOneCore(SplittableRandom r, double[] p) {
    int d = shapes.selD;
    int n = shapes.selN;
    int len = shapes.selCpuLen;
    SelectiveScan.Params params = SelectiveScan.Params.of(d, n, 1, Arrays.copyOfRange(p, 0, d * n),
        Arrays.copyOfRange(p, d * n, d * n + d), Arrays.copyOfRange(p, d * n + d, d * n + 2 * d), true);
    double[] u = gaussians(r, len * d, 1);
    double[] delta = gaussians(r, len * d, 0.5);
    double[] z = gaussians(r, len * d, 1);
    double[] bm = gaussians(r, len * n, 1);
    double[] cm = gaussians(r, len * n, 1);
    double[] y = new double[len * d];
    double[] h = new double[d * n];
    Runnable scan = () -> SelectiveScan.scan(params, u, 0, delta, 0, bm, 0, cm, 0, z, 0, y, 0, len, h);
    for (int i = 0; i < 3; i++) { // the JIT compiles the scan first
      scan.run();
    }
    double[] t = new double[Math.max(5, shapes.runs)];
    for (int i = 0; i < t.length; i++) {
      long start = System.nanoTime();
      scan.run();
      t[i] = (System.nanoTime() - start) / 1e6;
    }
    Arrays.sort(t);
    Row row = new Row("selective_scan_fwd_cpu1");
    row.state = "f64";
    row.shape = selShape(1, d, len, n);
    row.ms = t[t.length / 2];
    row.rate = (double) len * d * n / (row.ms * 1e6);
    row.rateUnit = "Gexp/s";
    row.note = VectorSupport.ENABLED ? "Vector API, one thread" : "scalar (no Vector API), one thread";
    return row;
  }

  /**
   * mamba_forward and mamba_forward_hidden: a Mamba-1 of random weights ({@link #randomMamba});
   * parity of {@link GpuMamba#forward}'s logits with {@link MambaModel#forward} on parityTokens;
   * speed of forwards of {@code tokens} from a fresh state, logits (or the final hidden states,
   * without the LM head) copied into host arrays as a caller gets them; rate = tokens per second,
   * bound = the matmuls' FLOP/s against the FP32 peak.
   */
  private List<Row> mamba() throws IOException {
    Row logitsRow = new Row("mamba_forward");
    Row hiddenRow = new Row("mamba_forward_hidden");
    MambaModel model = randomMamba(shapes.dModel, shapes.layers, shapes.vocab, 19);
    int v = model.vocab();
    int dm = model.dModel();
    SplittableRandom r = new SplittableRandom(23);
    try (GpuMamba gpu = GpuMamba.of(device, model, Gpu.StatePrecision.FLOAT32)) {
      int pt = shapes.parityTokens;
      int[] few = r.ints(pt, 0, v).toArray();
      double[] cpuLogits = new double[pt * v];
      double[] gpuLogits = new double[pt * v];
      model.forward(few, 0, pt, model.newState(), cpuLogits, 0, null, 0);
      gpu.forward(few, 0, pt, model.newState(), gpuLogits, 0, null, 0);
      Parity parity = new Parity();
      parity.add("logits", cpuLogits, gpuLogits);
      parity.into(logitsRow, String.format(Locale.ROOT, "%d tokens, %d layers", pt, shapes.layers), MAMBA_TOLERANCE);

      int t = shapes.tokens;
      int[] tokens = r.ints(t, 0, v).toArray();
      double[] logits = new double[t * v];
      double[] hidden = new double[t * dm];
      double logitsMs = millis(() -> gpu.forward(tokens, 0, t, model.newState(), logits, 0, null, 0));
      double hiddenMs = millis(() -> gpu.forward(tokens, 0, t, model.newState(), null, 0, hidden, 0));
      MambaModel.DeviceWeights w = model.deviceWeights();
      double layerMacs = (double) 2 * w.dInner * w.dModel + (double) (w.dtRank + 2 * w.dState) * w.dInner
          + (double) w.dInner * w.dtRank + (double) w.dModel * w.dInner;
      double headMacs = (double) v * dm;
      String shape = String.format(Locale.ROOT, "%d tokens, d_model %d, %d layers, vocab %d", t, dm, shapes.layers, v);
      mambaSpeed(logitsRow, shape, logitsMs, t, 2.0 * t * (w.layers.length * layerMacs + headMacs));
      mambaSpeed(hiddenRow, shape, hiddenMs, t, 2.0 * t * w.layers.length * layerMacs);
      logitsRow.note = append(logitsRow.note, "logits copied into a double[] on the host");
      hiddenRow.note = "no LM head; final hidden states copied into a double[] on the host";
    }
    return List.of(logitsRow, hiddenRow);
  }

  private void mambaSpeed(Row row, String shape, double ms, int tokens, double flops) {
    row.state = "f32";
    row.shape = shape;
    row.ms = ms;
    row.rate = tokens / (ms / 1e3);
    row.rateUnit = "tokens/s";
    double tflops = flops / (ms * 1e9);
    row.note = append(row.note, String.format(Locale.ROOT, "%.2f TFLOP/s in the matmuls", tflops));
    if (nominal != null) {
      row.ofPeak = tflops / nominal[1];
      row.peak = String.format(Locale.ROOT, "FP32 %.0f TFLOP/s", nominal[1]);
    }
  }

  /**
   * A Mamba-1 checkpoint of random weights in mamba_ssm's layout (written to a temporary folder
   * and loaded as any checkpoint): d_state 16, d_conv 4, expand 2, dt_rank ⌈d_model / 16⌉, RMSNorm,
   * tied embeddings. Weights ~ U with std 0.02, norms 1, A_log = log(1..16) and D = 1 as Mamba
   * initializes them, the Δ bias so that softplus gives Δ in [1e-3, 0.1].
   */
  static MambaModel randomMamba(int dModel, int layers, int vocab, long seed) throws IOException {
    int di = 2 * dModel;
    int n = 16;
    int k = 4;
    int rank = (dModel + 15) / 16;
    int padded = (vocab + 7) / 8 * 8;
    SplittableRandom r = new SplittableRandom(seed);
    SafetensorsWriter w = new SafetensorsWriter();
    Safetensors.DType f32 = Safetensors.DType.F32;
    w.add("backbone.embedding.weight", f32, uniform(r, padded * dModel), 0, padded, dModel);
    double[] ones = new double[Math.max(dModel, di)];
    Arrays.fill(ones, 1.0);
    double[] aLog = new double[di * n];
    for (int i = 0; i < aLog.length; i++) {
      aLog[i] = Math.log(i % n + 1);
    }
    for (int i = 0; i < layers; i++) {
      String p = "backbone.layers." + i + ".";
      double[] dtBias = new double[di];
      for (int c = 0; c < di; c++) {
        double dt = Math.exp(Math.log(1e-3) + r.nextDouble() * (Math.log(0.1) - Math.log(1e-3)));
        dtBias[c] = Math.log(Math.expm1(dt));
      }
      w.add(p + "norm.weight", f32, ones, 0, dModel);
      w.add(p + "mixer.in_proj.weight", f32, uniform(r, 2 * di * dModel), 0, 2 * di, dModel);
      w.add(p + "mixer.conv1d.weight", f32, uniform(r, di * k), 0, di, 1, k);
      w.add(p + "mixer.conv1d.bias", f32, uniform(r, di), 0, di);
      w.add(p + "mixer.x_proj.weight", f32, uniform(r, (rank + 2 * n) * di), 0, rank + 2 * n, di);
      w.add(p + "mixer.dt_proj.weight", f32, uniform(r, di * rank), 0, di, rank);
      w.add(p + "mixer.dt_proj.bias", f32, dtBias, 0, di);
      w.add(p + "mixer.A_log", f32, aLog, 0, di, n);
      w.add(p + "mixer.D", f32, ones, 0, di);
      w.add(p + "mixer.out_proj.weight", f32, uniform(r, dModel * di), 0, dModel, di);
    }
    w.add("backbone.norm_f.weight", f32, ones, 0, dModel);
    Path dir = Files.createTempDirectory("gpucheck-mamba");
    try {
      Files.writeString(dir.resolve("config.json"), String.format(Locale.ROOT, "{\"d_model\": %d, \"n_layer\": %d, "
          + "\"vocab_size\": %d, \"pad_vocab_size_multiple\": 8, \"tie_embeddings\": true, \"rms_norm\": true, "
          + "\"residual_in_fp32\": true, \"fused_add_norm\": true, "
          + "\"ssm_cfg\": {\"layer\": \"Mamba1\", \"d_state\": %d, \"d_conv\": %d, \"expand\": 2}}",
          dModel, layers, vocab, n, k));
      w.write(dir.resolve("model.safetensors"));
      return MambaModel.load(dir);
    } finally {
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    }
  }

  /** Uniform values of standard deviation 0.02 (cheaper than Gaussians for 130M weights). */
  private static double[] uniform(SplittableRandom r, int count) {
    double half = 0.02 * Math.sqrt(3);
    double[] v = new double[count];
    for (int i = 0; i < count; i++) {
      v[i] = (2 * r.nextDouble() - 1) * half;
    }
    return v;
  }

  // ---- the report ----

  private static String append(String a, String b) {
    return a.isEmpty() ? b : b.isEmpty() ? a : a + "; " + b;
  }

  /** 3 significant digits, fixed notation; "-" for NaN. */
  static String format(double v) {
    if (Double.isNaN(v)) {
      return "-";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    if (a >= 1) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }

  private static String percent(double fraction) {
    return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * fraction);
  }

  /** The rows as a markdown table. */
  static String table(List<Row> rows) {
    List<String[]> cells = new ArrayList<>();
    cells.add(new String[] {"kernel", "state", "timed shape", "ms/call", "GB/s", "rate", "of copy", "of peak",
        "parity on", "max rel err", "tol", "parity", "note"});
    for (Row r : rows) {
      cells.add(new String[] {r.kernel, r.state, r.shape, format(r.ms), format(r.gbPerS),
          Double.isNaN(r.rate) ? "-" : format(r.rate) + " " + r.rateUnit, percent(r.ofCopy),
          Double.isNaN(r.ofPeak) ? "-" : percent(r.ofPeak) + " " + r.peak, r.parityShape,
          Double.isNaN(r.error) ? "-" : String.format(Locale.ROOT, "%.2g", r.error),
          Double.isNaN(r.tolerance) ? "-" : String.format(Locale.ROOT, "%.0g", r.tolerance), r.parity,
          r.note.replace('|', '/')});
    }
    int[] width = new int[cells.get(0).length];
    for (String[] line : cells) {
      for (int i = 0; i < line.length; i++) {
        width[i] = Math.max(width[i], line[i].length());
      }
    }
    StringBuilder out = new StringBuilder();
    for (int k = 0; k < cells.size(); k++) {
      String[] line = cells.get(k);
      out.append('|');
      for (int i = 0; i < line.length; i++) {
        out.append(' ').append(line[i]).append(" ".repeat(width[i] - line[i].length())).append(" |");
      }
      out.append('\n');
      if (k == 0) {
        out.append('|');
        for (int w : width) {
          out.append('-').append("-".repeat(w)).append("-|");
        }
        out.append('\n');
      }
    }
    return out.toString();
  }
}
