package org.sparkssm.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.nn.MatMul;
import org.sparkssm.nn.SelectiveScanGrad;
import org.sparkssm.scan.DiagonalScan;
import org.sparkssm.scan.DiagonalSsm;

/**
 * The CUDA kernels, compiled for the host ({@link EmulatedDevice}), against the CPU kernels they
 * twin, through the same Java classes that launch them on a GPU. Inputs are rounded to float32 on
 * both sides (the device's data type), so what differs is the device's arithmetic: exact to
 * float64 rounding with a float64 state, within the float32 tolerance with a float32 state.
 * Tolerances are relative to the largest expected magnitude.
 */
class GpuKernelsOnHostTest {
  /** Float64 state: only the float32 rounding of the outputs remains. */
  static final double F64_TOLERANCE = 1e-6;
  /** Float32 state and arithmetic over tens of steps. */
  static final double F32_TOLERANCE = 1e-4;

  static double tolerance(Gpu.StatePrecision p) {
    return p == Gpu.StatePrecision.FLOAT64 ? F64_TOLERANCE : F32_TOLERANCE;
  }

  static double[] floats(Random r, int n, double scale) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (scale * r.nextGaussian());
    }
    return v;
  }

  static void assertClose(double[] expected, double[] got, double tolerance, String what) {
    assertEquals(expected.length, got.length, what + ": length");
    double scale = 1e-30;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    double worst = 0;
    int at = -1;
    for (int i = 0; i < expected.length; i++) {
      double err = Math.abs(expected[i] - got[i]);
      if (!(err <= worst)) {
        worst = err;
        at = i;
      }
    }
    assertTrue(worst / scale <= tolerance, String.format("%s: max |diff| / max |expected| = %.3g > %.1g at %d "
        + "(expected %.9g, got %.9g)", what, worst / scale, tolerance, at, expected[Math.max(at, 0)],
        got[Math.max(at, 0)]));
  }

  /** A stable system of float32 values (GpuCheck's), seeded from r. */
  static DiagonalSsm system(Random r, int d, int n, boolean complex) {
    return GpuCheck.stableSystem(new java.util.SplittableRandom(r.nextLong()), d, n, complex);
  }

  /** minSpan 4: the 37 steps run as 9 time chunks of 5 (three launches), sequence 1 (0 steps) and 2 (12) end early. */
  @ParameterizedTest
  @CsvSource({"false, FLOAT64, 3, 64", "false, FLOAT32, 20, 64", "true, FLOAT64, 5, 64", "true, FLOAT32, 3, 64",
      "true, FLOAT64, 40, 64", "false, FLOAT64, 3, 4", "false, FLOAT32, 20, 4", "true, FLOAT64, 5, 4",
      "true, FLOAT32, 3, 4"})
  void diagonalScanEqualsTheCpuScanPerSequence(boolean complex, Gpu.StatePrecision precision, int n, int minSpan) {
    Random r = new Random(7 + n);
    int d = 3;
    int batch = 4;
    int len = 37;
    int[] lengths = {37, 0, 12, 30};
    DiagonalSsm m = system(r, d, n, complex);
    double[] u = floats(r, batch * len * d, 1);
    double[] h = floats(r, batch * m.stateSize(), 0.5);
    double[] expectedY = new double[batch * len * d];
    double[] expectedH = h.clone();
    for (int b = 0; b < batch; b++) {
      double[] hb = java.util.Arrays.copyOfRange(expectedH, b * m.stateSize(), (b + 1) * m.stateSize());
      DiagonalScan.scan(m, u, b * len * d, expectedY, b * len * d, lengths[b], hb);
      System.arraycopy(hb, 0, expectedH, b * m.stateSize(), hb.length);
    }
    double[] y = new double[batch * len * d];
    try (EmulatedDevice dev = new EmulatedDevice(); GpuDiagonalScan scan = new GpuDiagonalScan(dev, m, precision)) {
      scan.minSpan = minSpan;
      scan.scan(batch, len, lengths, u, y, h);
    }
    assertClose(expectedY, y, tolerance(precision), "y");
    assertClose(expectedH, h, tolerance(precision), "final state");
  }

  @Test
  void diagonalScanInPiecesEqualsOneCallExactlyWithAFloat64State() {
    Random r = new Random(3);
    int d = 2;
    int batch = 3;
    int len = 29;
    DiagonalSsm m = system(r, d, 6, true);
    double[] u = floats(r, batch * len * d, 1);
    double[] once = new double[batch * len * d];
    double[] hOnce = new double[batch * m.stateSize()];
    double[] pieces = new double[batch * len * d];
    double[] hPieces = new double[batch * m.stateSize()];
    try (EmulatedDevice dev = new EmulatedDevice();
        GpuDiagonalScan scan = new GpuDiagonalScan(dev, m, Gpu.StatePrecision.FLOAT64)) {
      scan.scan(batch, len, null, u, once, hOnce);
      int cut = 11; // pieces of 11 and 18 steps, each sequence carried through its own state
      double[] u1 = new double[batch * cut * d];
      double[] u2 = new double[batch * (len - cut) * d];
      for (int b = 0; b < batch; b++) {
        System.arraycopy(u, b * len * d, u1, b * cut * d, cut * d);
        System.arraycopy(u, (b * len + cut) * d, u2, b * (len - cut) * d, (len - cut) * d);
      }
      double[] y1 = new double[u1.length];
      double[] y2 = new double[u2.length];
      scan.scan(batch, cut, null, u1, y1, hPieces);
      scan.scan(batch, len - cut, null, u2, y2, hPieces);
      for (int b = 0; b < batch; b++) {
        System.arraycopy(y1, b * cut * d, pieces, b * len * d, cut * d);
        System.arraycopy(y2, b * (len - cut) * d, pieces, (b * len + cut) * d, (len - cut) * d);
      }
    }
    assertArrayEquals(once, pieces);
    assertArrayEquals(hOnce, hPieces);
  }

  @Test
  void timeChunksFillTheGpuOnlyWhenColumnsAreFew() {
    assertEquals(1, Gpu.timeChunks(1 << 17, 4096, Gpu.MIN_SPAN)); // enough columns: one pass each
    assertEquals(16, Gpu.timeChunks(1 << 13, 4096, Gpu.MIN_SPAN)); // 8,192 columns: 16 chunks of 256
    assertEquals(64, Gpu.timeChunks(1, 4096, Gpu.MIN_SPAN)); // one long series: chunks of the shortest span
    assertEquals(1, Gpu.timeChunks(1, 100, Gpu.MIN_SPAN)); // too short to cut
    assertEquals(Gpu.MAX_GRID_Y, Gpu.timeChunks(1, Integer.MAX_VALUE, 2)); // a grid holds at most 65,535 rows
  }

  /** Σ_t,d dy · y of the CPU scan from h0: the loss whose gradients the backward computes. */
  static double loss(DiagonalSsm m, int batch, int len, double[] u, double[] h0, double[] dy) {
    int d = m.channels();
    double[] y = new double[batch * len * d];
    for (int b = 0; b < batch; b++) {
      double[] hb = java.util.Arrays.copyOfRange(h0, b * m.stateSize(), (b + 1) * m.stateSize());
      DiagonalScan.scan(m, u, b * len * d, y, b * len * d, len, hb);
    }
    double s = 0;
    for (int i = 0; i < y.length; i++) {
      s += dy[i] * y[i];
    }
    return s;
  }

  @Test
  void diagonalBackwardEqualsCentralDifferencesAcrossChunks() {
    Random r = new Random(11);
    int d = 2;
    int n = 3;
    int batch = 2;
    int len = GpuDiagonalScan.CHUNK * 2 + 9; // three chunks
    DiagonalSsm m = system(r, d, n, true);
    double[] u = floats(r, batch * len * d, 1);
    double[] h0 = floats(r, batch * m.stateSize(), 0.5);
    double[] dy = floats(r, batch * len * d, 1);
    double[] du = new double[u.length];
    GpuDiagonalScan.Gradients g;
    try (EmulatedDevice dev = new EmulatedDevice();
        GpuDiagonalScan scan = new GpuDiagonalScan(dev, m, Gpu.StatePrecision.FLOAT64)) {
      g = scan.backward(batch, len, null, u, h0, dy, du);
    }
    double eps = 1e-6;
    double[][] params = {m.abarRe(), m.abarIm(), m.bbarRe(), m.bbarIm(), m.cRe(), m.cIm(), m.dSkip()};
    double[][] got = {half(g.abar, 0, d * n), half(g.abar, 1, d * n), half(g.bbar, 0, d * n), half(g.bbar, 1, d * n),
        half(g.c, 0, d * n), half(g.c, 1, d * n), g.dSkip};
    String[] names = {"Abar re", "Abar im", "Bbar re", "Bbar im", "C re", "C im", "Dskip"};
    for (int p = 0; p < params.length; p++) {
      double[] fd = new double[params[p].length];
      for (int i = 0; i < fd.length; i++) {
        double[][] plus = copy(params);
        double[][] minus = copy(params);
        plus[p][i] += eps;
        minus[p][i] -= eps;
        fd[i] = (loss(build(d, n, plus), batch, len, u, h0, dy) - loss(build(d, n, minus), batch, len, u, h0, dy))
            / (2 * eps);
      }
      assertClose(fd, got[p], 1e-6, "gradient of " + names[p]);
    }
    double[] fdH = new double[h0.length];
    for (int i = 0; i < h0.length; i++) {
      double[] plus = h0.clone();
      double[] minus = h0.clone();
      plus[i] += eps;
      minus[i] -= eps;
      fdH[i] = (loss(m, batch, len, u, plus, dy) - loss(m, batch, len, u, minus, dy)) / (2 * eps);
    }
    assertClose(fdH, g.h0, 1e-6, "gradient of the initial state");
    double[] fdU = new double[u.length];
    for (int i = 0; i < u.length; i += 7) { // every 7th input: across both sequences and every chunk
      double[] plus = u.clone();
      double[] minus = u.clone();
      plus[i] += eps;
      minus[i] -= eps;
      fdU[i] = (loss(m, batch, len, plus, h0, dy) - loss(m, batch, len, minus, h0, dy)) / (2 * eps);
    }
    double[] sampled = new double[u.length];
    for (int i = 0; i < u.length; i += 7) {
      sampled[i] = du[i];
    }
    assertClose(fdU, sampled, 1e-6, "gradient of u");
  }

  private static double[] half(double[] v, int which, int size) {
    return java.util.Arrays.copyOfRange(v, which * size, (which + 1) * size);
  }

  private static double[][] copy(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }

  private static DiagonalSsm build(int d, int n, double[][] p) {
    return DiagonalSsm.complex(d, n, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
  }

  @ParameterizedTest
  @CsvSource({"FLOAT64, 5, 2", "FLOAT32, 16, 1"})
  void selectiveScanForwardAndBackwardEqualTheCpuTwin(Gpu.StatePrecision precision, int n, int groups) {
    Random r = new Random(5 + n);
    int d = 8;
    int batch = 2;
    int len = 11;
    SelectiveScanGrad cpu = new SelectiveScanGrad(d, n, groups, 4); // chunks of 4: three per sequence
    double[] p = new double[cpu.paramSize()];
    for (int i = 0; i < d * n; i++) {
      p[i] = -(float) Math.exp(0.5 * r.nextGaussian());
    }
    for (int i = d * n; i < p.length; i++) {
      p[i] = (float) (0.5 * r.nextGaussian());
    }
    SelectiveScanGrad.Tape cpuTape = cpu.newTape(batch, len);
    SelectiveScanGrad.Tape gpuTape = cpu.newTape(batch, len);
    for (SelectiveScanGrad.Tape t : new SelectiveScanGrad.Tape[] {cpuTape, gpuTape}) {
      Random same = new Random(99);
      fill(same, t.u);
      fill(same, t.delta);
      fill(same, t.B);
      fill(same, t.C);
      fill(same, t.z);
      fill(same, t.dy);
    }
    double[] gpCpu = new double[p.length];
    double[] gpGpu = new double[p.length];
    cpu.forward(p, 0, cpuTape, batch, len);
    cpu.backward(p, 0, gpCpu, 0, cpuTape, batch, len);
    try (EmulatedDevice dev = new EmulatedDevice();
        GpuSelectiveScanGrad gpu = new GpuSelectiveScanGrad(dev, cpu, precision)) {
      gpu.forward(p, 0, gpuTape, batch, len);
      gpu.backward(p, 0, gpGpu, 0, gpuTape, batch, len);
    }
    double tol = tolerance(precision);
    assertClose(cpuTape.y, gpuTape.y, tol, "y");
    assertClose(cpuTape.du, gpuTape.du, tol, "du");
    assertClose(cpuTape.dDelta, gpuTape.dDelta, tol, "dDelta");
    assertClose(cpuTape.dz, gpuTape.dz, tol, "dz");
    assertClose(cpuTape.dB, gpuTape.dB, tol, "dB");
    assertClose(cpuTape.dC, gpuTape.dC, tol, "dC");
    assertClose(java.util.Arrays.copyOfRange(gpCpu, 0, d * n), java.util.Arrays.copyOfRange(gpGpu, 0, d * n), tol,
        "gA");
    assertClose(java.util.Arrays.copyOfRange(gpCpu, d * n, p.length), java.util.Arrays.copyOfRange(gpGpu, d * n,
        p.length), tol, "gD, gbias");
  }

  private static void fill(Random r, double[] v) {
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
  }

  @Test
  void tiledProjectionEqualsTheCpuProductAtSizesThatCutTiles() {
    Random r = new Random(2);
    int rows = 70;
    int in = 33;
    int out = 65;
    int ldx = 40; // a slice of wider rows, as dt_proj reads x_proj's output
    double[] x = floats(r, rows * ldx, 1);
    double[] w = floats(r, out * in, 1);
    double[] packed = new double[rows * in];
    for (int i = 0; i < rows; i++) {
      System.arraycopy(x, i * ldx, packed, i * in, in);
    }
    double[] expected = new double[rows * out];
    MatMul.xWt(packed, 0, rows, in, w, 0, out, expected, 0);
    double[] got = new double[rows * out];
    try (EmulatedDevice dev = new EmulatedDevice()) {
      DeviceArrays a = new DeviceArrays(dev);
      Buffer xb = a.of(Buffer.Type.F32, x, 0, x.length);
      Buffer wb = a.of(Buffer.Type.F32, w, 0, w.length);
      Buffer yb = dev.alloc(Buffer.Type.F32, rows * out);
      dev.launch("matmul_xwt", (out + 63) / 64, (rows + 63) / 64, 256, rows, in, out, xb, ldx, wb, yb, out);
      a.get(yb, got, 0, rows * out);
    }
    assertClose(expected, got, 1e-6, "X Wᵀ");
  }

  @Test
  void s4dConvolutionModeOnTheDeviceEqualsTheCpuLoopsForwardAndBackward() {
    int h = 5;
    int modes = 3;
    int batch = 4;
    int len = 23;
    org.sparkssm.nn.ParameterLayout layout = new org.sparkssm.nn.ParameterLayout();
    org.sparkssm.nn.S4dLayer layer = new org.sparkssm.nn.S4dLayer(layout, "s4d", h, modes, 8,
        org.sparkssm.nn.S4dLayer.Mode.CONVOLUTION);
    layout.freeze();
    double[] w = new double[layout.size()];
    layer.init(w, new java.util.SplittableRandom(3));
    Random r = new Random(8);
    double[] u = floats(r, batch * len * h, 1);
    double[] dy = floats(r, batch * len * h, 1);
    double[][] y = new double[2][u.length];
    double[][] du = new double[2][u.length];
    double[][] gw = new double[2][w.length];
    try (EmulatedDevice dev = new EmulatedDevice()) {
      for (int device = 0; device < 2; device++) {
        org.sparkssm.nn.S4dLayer.Cache cache = layer.newCache(batch, len);
        GpuS4dConvolution gpu = device == 1 ? new GpuS4dConvolution(dev, batch, len, h) : null;
        cache.convolveOn(gpu);
        layer.forward(w, u, 0, batch, len, y[device], 0, cache);
        layer.backward(w, gw[device], dy, 0, batch, len, du[device], 0, cache);
        if (gpu != null) {
          gpu.close();
        }
      }
    }
    // float32 sequences and kernel, float64 sums: relative 1e-6
    assertClose(y[0], y[1], 1e-6, "y");
    assertClose(du[0], du[1], 1e-6, "du");
    for (org.sparkssm.nn.ParameterLayout.Tensor t : layout.tensors()) {
      assertClose(java.util.Arrays.copyOfRange(gw[0], t.offset(), t.offset() + t.size()),
          java.util.Arrays.copyOfRange(gw[1], t.offset(), t.offset() + t.size()), 1e-5, "gradient of " + t.name());
    }
  }

  /**
   * A training step of each trained forecaster with its heavy layers on the device (S4D
   * convolutions; Mamba scans with a float32 state) has the CPU step's predictions and gradient.
   */
  @ParameterizedTest
  @CsvSource({"s4dnet, 1e-5, 6", "smamba, 1e-4, 8"})
  void aTrainingStepWithItsHeavyLayersOnTheDeviceHasTheCpuGradient(String kind, double tolerance, int launches) {
    int lookback = 12;
    int horizon = 4;
    int channels = 2;
    int batch = 3;
    org.sparkssm.train.WindowModel net = kind.equals("s4dnet")
        ? new org.sparkssm.train.S4dNet(lookback, horizon, channels, 6, 2, 3, 12, 0.0, 0, null)
        : new org.sparkssm.train.SMambaNet(lookback, horizon, channels, 8, 1, 4, 16, 0.0, 0, null);
    double[] w = new double[net.layout().size()];
    net.init(w, 5);
    Random r = new Random(6);
    double[] x = floats(r, batch * lookback * channels, 1);
    double[] dPred = floats(r, batch * horizon * channels, 1);
    long[] rows = {0, 1, 2};
    double[][] pred = new double[2][batch * horizon * channels];
    double[][] gw = new double[2][w.length];
    try (EmulatedDevice dev = new EmulatedDevice(); GpuLayers layers = new GpuLayers(dev)) {
      for (int device = 0; device < 2; device++) {
        org.sparkssm.train.WindowModel.Workspace ws = net.workspace(batch);
        if (device == 1) {
          net.runOn(ws, layers);
        }
        net.forward(w, x, rows, batch, pred[device], ws, null);
        net.backward(w, gw[device], dPred, batch, ws);
      }
      // s4dnet: two layers × (forward, two backward kernels); smamba: one bidirectional layer × two
      // blocks × (forward, backward, two group sums and three batch sums)
      assertTrue(dev.launches >= launches, kind + ": " + dev.launches + " launches");
    }
    assertClose(pred[0], pred[1], tolerance, kind + " predictions");
    assertClose(gw[0], gw[1], tolerance, kind + " gradient");
  }

  static Path golden(String path) throws Exception {
    return Paths.get(GpuKernelsOnHostTest.class.getResource("/golden/" + path + "/config.json").toURI()).getParent();
  }

  /** minSpan 2: the pieces of 8 and 13 tokens scan in time chunks of 2 (three launches per layer). */
  @ParameterizedTest
  @CsvSource({"mamba/mamba1, FLOAT64, 64", "mamba_grad/untied_layernorm, FLOAT32, 64", "mamba/mamba2, FLOAT64, 64",
      "mamba/mamba1, FLOAT64, 2", "mamba/mamba2, FLOAT32, 2"})
  void mambaForwardInPiecesEqualsTheCpuModel(String checkpoint, Gpu.StatePrecision precision, int minSpan)
      throws Exception {
    MambaModel model = MambaModel.load(golden(checkpoint));
    Random r = new Random(4);
    int len = 21;
    int[] tokens = new int[len];
    for (int i = 0; i < len; i++) {
      tokens[i] = r.nextInt(model.vocab());
    }
    int v = model.vocab();
    int dm = model.dModel();
    double[] logits = new double[len * v];
    double[] hidden = new double[len * dm];
    MambaModel.State cpuState = model.newState();
    model.forward(tokens, 0, len, cpuState, logits, 0, hidden, 0);
    double[] gpuLogits = new double[len * v];
    double[] gpuHidden = new double[len * dm];
    MambaModel.State gpuState = model.newState();
    try (EmulatedDevice dev = new EmulatedDevice(); GpuMamba gpu = GpuMamba.of(dev, model, precision)) {
      gpu.minSpan = minSpan;
      gpu.forward(tokens, 0, 8, gpuState, gpuLogits, 0, gpuHidden, 0); // two pieces, state carried
      gpu.forward(tokens, 8, len - 8, gpuState, gpuLogits, 8 * v, gpuHidden, 8 * dm);
    }
    assertEquals(cpuState.position(), gpuState.position());
    // float32 weights and activations through two layers and the head
    assertClose(logits, gpuLogits, 1e-4, checkpoint + " logits");
    assertClose(hidden, gpuHidden, 1e-4, checkpoint + " hidden");
    for (int layer = 0; layer < model.layers(); layer++) {
      assertClose(cpuState.ssmState(layer), gpuState.ssmState(layer), 1e-4, "SSM state of layer " + layer);
      assertClose(cpuState.convState(layer), gpuState.convState(layer), 1e-4, "conv state of layer " + layer);
    }
  }
}
