package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.testing.Tolerances;

/**
 * The Mamba mixer's backward against central finite differences, tensor by tensor; its forward
 * against the inference model {@link MambaModel} loaded from a checkpoint of the same tensors; its
 * names and initialization against mamba_ssm's; and the bidirectional pair's backward.
 */
class MambaBlockTest {
  private static final int DM = 5;
  private static final int DI = 6;
  private static final int N = 3;
  private static final int RANK = 2;

  @TempDir
  Path tmp;

  /**
   * The block's initialization with every tensor moved off it, so no gradient is degenerate (D = 1,
   * equal A rows): Δ = softplus(δ + bias) then spans about 0.01 to 5.
   */
  static void randomWeights(ParameterLayout layout, double[] w, SplittableRandom rnd) {
    for (int k = 0; k < layout.tensors().size(); k++) {
      ParameterLayout.Tensor t = layout.tensors().get(k);
      boolean dtBias = t.name().endsWith("dt_proj.bias");
      for (int i = 0; i < t.size(); i++) {
        if (dtBias) {
          w[t.offset() + i] = -1 + 1.5 * Init.gaussian(rnd);
        } else {
          w[t.offset() + i] += 0.3 * Init.gaussian(rnd);
        }
      }
    }
  }

  /**
   * Checks the gradient of every tensor of the layout (each entry, up to 300 per tensor) and of
   * the input against central differences of {@code loss}, which runs the forward on w and x.
   */
  static void checkAll(String what, ParameterLayout layout, double[] w, double[] gw, double[] x, double[] dx,
      DoubleSupplier loss, SplittableRandom rnd) {
    for (int k = 0; k < layout.tensors().size(); k++) {
      ParameterLayout.Tensor t = layout.tensors().get(k);
      double[] values = java.util.Arrays.copyOfRange(w, t.offset(), t.offset() + t.size());
      double[] analytic = java.util.Arrays.copyOfRange(gw, t.offset(), t.offset() + t.size());
      DoubleSupplier f = () -> {
        System.arraycopy(values, 0, w, t.offset(), t.size());
        return loss.getAsDouble();
      };
      GradientCheck.check(what + " " + t.name(), values, analytic, f, 300, rnd);
      System.arraycopy(values, 0, w, t.offset(), t.size());
    }
    GradientCheck.check(what + " input", x, dx, loss, 300, rnd);
  }

  @Test
  void everyGradientMatchesFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(21);
    int batch = 2;
    // (len, d_conv, chunk, bias, d_inner): L = 1, chunks shorter than L (several boundaries) and
    // longer; d_inner 9 runs the scan on the Vector API when enabled (a vector of 8 and a tail).
    int[][] cases = {{1, 4, 5, 0, DI}, {7, 3, 3, 0, DI}, {33, 4, 5, 0, DI}, {33, 3, 64, 1, DI}, {7, 4, 1, 1, DI},
        {7, 3, 4, 0, 9}, {33, 4, 8, 1, 9}};
    for (int[] c : cases) {
      int len = c[0];
      ParameterLayout layout = new ParameterLayout();
      MambaBlock block = new MambaBlock(layout, "mixer.", DM, c[4], N, RANK, c[1], c[2], c[3] == 1);
      layout.freeze();
      double[] w = new double[layout.size()];
      block.init(w, rnd);
      randomWeights(layout, w, rnd);
      double[] x = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
      double[] r = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
      double[] out = new double[batch * len * DM];
      MambaBlock.Cache cache = block.newCache(batch, len);
      DoubleSupplier loss = () -> {
        block.forward(w, x, 0, batch, len, out, 0, cache);
        return GradientCheck.dot(r, out, 0);
      };
      loss.getAsDouble();
      double[] gw = new double[layout.size()];
      double[] dx = new double[x.length];
      block.backward(w, gw, r, 0, batch, len, dx, 0, cache);
      checkAll("mamba " + java.util.Arrays.toString(c), layout, w, gw, x, dx, loss, rnd);
    }
  }

  @Test
  void bidirectionalGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(22);
    int batch = 2;
    for (int len : new int[] {1, 7, 12}) {
      ParameterLayout layout = new ParameterLayout();
      BidirectionalMamba bi = new BidirectionalMamba(layout, "layers.0.mamba.", "layers.0.mamba_r.", DM, DI, N, RANK,
          2, 4);
      layout.freeze();
      double[] w = new double[layout.size()];
      bi.init(w, rnd);
      randomWeights(layout, w, rnd);
      double[] x = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
      double[] r = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
      double[] out = new double[batch * len * DM];
      BidirectionalMamba.Cache cache = bi.newCache(batch, len);
      DoubleSupplier loss = () -> {
        bi.forward(w, x, 0, batch, len, out, 0, cache);
        return GradientCheck.dot(r, out, 0);
      };
      loss.getAsDouble();
      double[] gw = new double[layout.size()];
      double[] dx = new double[x.length];
      bi.backward(w, gw, r, 0, batch, len, dx, 0, cache);
      checkAll("bidirectional L=" + len, layout, w, gw, x, dx, loss, rnd);

      // The definition: out = f(x) + flip(r(flip(x))), from the two blocks run alone.
      double[] expected = new double[out.length];
      double[] xr = new double[x.length];
      double[] yr = new double[x.length];
      for (int b = 0; b < batch; b++) {
        Tensors.reverseRows(x, b * len * DM, len, DM, xr, b * len * DM);
      }
      bi.forwardBlock().forward(w, x, 0, batch, len, expected, 0, bi.forwardBlock().newCache(batch, len));
      bi.reverseBlock().forward(w, xr, 0, batch, len, yr, 0, bi.reverseBlock().newCache(batch, len));
      for (int b = 0; b < batch; b++) {
        for (int t = 0; t < len; t++) {
          Tensors.addInto(expected, (b * len + t) * DM, yr, (b * len + len - 1 - t) * DM, DM);
        }
      }
      loss.getAsDouble();
      Tolerances.assertClose("bidirectional out L=" + len, expected, out, Tolerances.F64);
    }
  }

  @Test
  void chunkDoesNotChangeTheBlock() {
    SplittableRandom rnd = new SplittableRandom(26);
    int batch = 2;
    int len = 29;
    double[] x = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
    double[] dout = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
    double[] w = null;
    double[][] reference = null;
    for (int chunk : new int[] {64, 1, 7, 29}) {
      ParameterLayout layout = new ParameterLayout();
      MambaBlock block = new MambaBlock(layout, "", DM, 10, N, RANK, 4, chunk);
      if (w == null) {
        w = new double[layout.size()];
        block.init(w, rnd);
        randomWeights(layout, w, rnd);
      }
      MambaBlock.Cache cache = block.newCache(batch, len);
      double[] out = new double[x.length];
      double[] dx = new double[x.length];
      double[] gw = new double[w.length];
      block.forward(w, x, 0, batch, len, out, 0, cache);
      block.backward(w, gw, dout, 0, batch, len, dx, 0, cache);
      double[][] got = {out, dx, gw};
      if (reference == null) {
        reference = got;
      } else {
        for (int k = 0; k < 3; k++) {
          Tolerances.assertClose("chunk " + chunk + " " + new String[] {"out", "dx", "gw"}[k], reference[k], got[k],
              Tolerances.CHUNKED);
        }
      }
    }
  }

  @Test
  void tensorsHaveMambaSsmNamesShapesAndOrder() {
    ParameterLayout layout = new ParameterLayout();
    new MambaBlock(layout, "m.", DM, DI, N, RANK, 4, 8, true);
    String[] names = {"m.A_log", "m.D", "m.in_proj.weight", "m.in_proj.bias", "m.conv1d.weight", "m.conv1d.bias",
        "m.x_proj.weight", "m.dt_proj.weight", "m.dt_proj.bias", "m.out_proj.weight", "m.out_proj.bias"};
    int[][] shapes = {{DI, N}, {DI}, {2 * DI, DM}, {2 * DI}, {DI, 1, 4}, {DI}, {RANK + 2 * N, DI}, {DI, RANK}, {DI},
        {DM, DI}, {DM}};
    assertEquals(names.length, layout.tensors().size());
    for (int k = 0; k < names.length; k++) {
      assertEquals(names[k], layout.tensors().get(k).name());
      assertArrayEquals(shapes[k], layout.tensors().get(k).shape(), names[k]);
    }
    ParameterLayout plain = new ParameterLayout();
    new MambaBlock(plain, "", DM, DI, N, RANK, 4, 8);
    assertEquals(9, plain.tensors().size(), "no projection biases by default");
  }

  @Test
  void initializationFollowsMambaSsm() {
    ParameterLayout layout = new ParameterLayout();
    int dm = 32;
    int di = 64;
    int rank = 2;
    MambaBlock block = new MambaBlock(layout, "", dm, di, 16, rank, 4, 8);
    double[] w = new double[layout.size()];
    block.init(w, new SplittableRandom(23));
    int aLog = layout.tensor("A_log").offset();
    for (int d = 0; d < di; d++) {
      for (int n = 0; n < 16; n++) {
        assertEquals(Math.log(n + 1), w[aLog + d * 16 + n], 0.0, "A_log is log(1..N) per row");
      }
      assertEquals(1.0, w[layout.tensor("D").offset() + d], 0.0);
      double dt = Nonlinearity.softplus(w[layout.tensor("dt_proj.bias").offset() + d]);
      assertTrue(dt >= MambaBlock.DT_MIN * (1 - 1e-12) && dt <= MambaBlock.DT_MAX * (1 + 1e-12), "Δ at init: " + dt);
    }
    assertBounded(layout, w, "dt_proj.weight", 1 / Math.sqrt(rank));
    assertBounded(layout, w, "in_proj.weight", 1 / Math.sqrt(dm));
    assertBounded(layout, w, "x_proj.weight", 1 / Math.sqrt(di));
    assertBounded(layout, w, "out_proj.weight", 1 / Math.sqrt(di));
    assertBounded(layout, w, "conv1d.weight", 1 / Math.sqrt(4));
  }

  /** Every entry within ±bound and the largest above 0.9 bound (uniform, not a narrower law). */
  private static void assertBounded(ParameterLayout layout, double[] w, String name, double bound) {
    ParameterLayout.Tensor t = layout.tensor(name);
    double max = 0;
    for (int i = 0; i < t.size(); i++) {
      max = Math.max(max, Math.abs(w[t.offset() + i]));
    }
    assertTrue(max <= bound && max > 0.9 * bound, name + ": max |w| " + max + " for bound " + bound);
  }

  @Test
  void cacheServesSmallerCallsAndInPlaceUse() {
    SplittableRandom rnd = new SplittableRandom(24);
    ParameterLayout layout = new ParameterLayout();
    MambaBlock block = new MambaBlock(layout, "", DM, DI, N, RANK, 3, 4);
    double[] w = new double[layout.size()];
    block.init(w, rnd);
    randomWeights(layout, w, rnd);
    int batch = 2;
    int len = 9;
    double[] x = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
    double[] dout = GradientCheck.gaussian(rnd, batch * len * DM, 1.0);
    double[] out = new double[x.length];
    double[] dx = new double[x.length];
    double[] gw = new double[w.length];
    block.forward(w, x, 0, batch, len, out, 0, block.newCache(batch, len));
    MambaBlock.Cache exact = block.newCache(batch, len);
    block.forward(w, x, 0, batch, len, out, 0, exact);
    block.backward(w, gw, dout, 0, batch, len, dx, 0, exact);
    // A cache made for more, the output over the input and dx over dout.
    MambaBlock.Cache big = block.newCache(batch + 3, len + 5);
    double[] inPlace = x.clone();
    block.forward(w, inPlace, 0, batch, len, inPlace, 0, big);
    Tolerances.assertClose("out over x", out, inPlace, Tolerances.F64);
    double[] gw2 = new double[w.length];
    double[] g = dout.clone();
    block.backward(w, gw2, g, 0, batch, len, g, 0, big);
    Tolerances.assertClose("dx over dout", dx, g, Tolerances.F64);
    Tolerances.assertClose("gw", gw, gw2, Tolerances.F64);
    // One sequence at a time equals the batch.
    for (int b = 0; b < batch; b++) {
      double[] one = new double[len * DM];
      block.forward(w, x, b * len * DM, 1, len, one, 0, big);
      Tolerances.assertClose("sequence " + b, out, b * len * DM, one, 0, len * DM, Tolerances.F64);
    }
    SelectiveScanGradTest.assertMessage("cache", () -> block.forward(w, x, 0, batch + 1, len, out, 0, exact));
    SelectiveScanGradTest.assertMessage("x", () -> block.forward(w, x, 1, batch, len, out, 0, exact));
  }

  /**
   * The forward equals the Mamba1 mixer of {@link MambaModel}, loaded from a float64 checkpoint
   * whose mixer tensors are this block's, under their mamba_ssm names (the loader rejects any
   * tensor it does not expect and checks every shape).
   */
  @Test
  void forwardEqualsTheInferenceMixer() throws IOException {
    SplittableRandom rnd = new SplittableRandom(25);
    int dm = 4;
    int di = 8; // expand 2; 8 channels fill a vector: the inference scan takes its Vector API path when enabled
    int n = 3;
    int rank = 2;
    int dConv = 4;
    int vocab = 8;
    String mixer = "backbone.layers.0.mixer.";
    ParameterLayout layout = new ParameterLayout();
    layout.add("backbone.embedding.weight", vocab, dm);
    layout.add("backbone.layers.0.norm.weight", dm);
    MambaBlock block = new MambaBlock(layout, mixer, dm, di, n, rank, dConv, 6);
    layout.add("backbone.norm_f.weight", dm);
    layout.freeze();
    double[] w = new double[layout.size()];
    block.init(w, rnd);
    randomWeights(layout, w, rnd);
    Path dir = tmp.resolve("mamba");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), String.format(java.util.Locale.ROOT,
        "{\"d_model\": %d, \"n_layer\": 1, \"vocab_size\": %d, \"pad_vocab_size_multiple\": 8, \"ssm_cfg\": "
            + "{\"layer\": \"Mamba1\", \"d_state\": %d, \"d_conv\": %d, \"expand\": 2, \"dt_rank\": %d}}",
        dm, vocab, n, dConv, rank));
    writeF64(dir.resolve("model.safetensors"), layout, w);
    MambaModel model = MambaModel.load(dir);

    for (int len : new int[] {1, 20}) {
      int batch = 2;
      double[] x = GradientCheck.gaussian(rnd, batch * len * dm, 1.0);
      double[] out = new double[x.length];
      block.forward(w, x, 0, batch, len, out, 0, block.newCache(batch, len));
      for (int b = 0; b < batch; b++) {
        double[] seq = java.util.Arrays.copyOfRange(x, b * len * dm, (b + 1) * len * dm);
        double[] expected = new double[len * dm];
        // Zero conv and SSM states: the start of a sequence, as the block assumes (the conv state
        // after no rows is the zero history).
        double[] convState = model.convStateAfter(0, new double[0], 0);
        assertEquals((dConv - 1) * di, convState.length);
        model.mixLayer(0, seq, len, convState, new double[model.layerStateSize(0)], expected);
        Tolerances.assertClose("L=" + len + " sequence " + b, expected, 0, out, b * len * dm, len * dm,
            Tolerances.F64);
      }
    }
  }

  /** A safetensors file of every tensor of the layout, in float64 (exact: no rounding between the two sides). */
  private static void writeF64(Path file, ParameterLayout layout, double[] w) throws IOException {
    StringBuilder header = new StringBuilder("{");
    long offset = 0;
    for (int k = 0; k < layout.tensors().size(); k++) {
      ParameterLayout.Tensor t = layout.tensors().get(k);
      header.append(k > 0 ? "," : "").append('"').append(t.name()).append("\":{\"dtype\":\"F64\",\"shape\":")
          .append(java.util.Arrays.toString(t.shape()).replace(" ", "")).append(",\"data_offsets\":[").append(offset)
          .append(',').append(offset + 8L * t.size()).append("]}");
      offset += 8L * t.size();
    }
    byte[] h = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer data = ByteBuffer.allocate((int) offset).order(ByteOrder.LITTLE_ENDIAN);
    for (int k = 0; k < layout.tensors().size(); k++) {
      ParameterLayout.Tensor t = layout.tensors().get(k);
      for (int i = 0; i < t.size(); i++) {
        data.putDouble(w[t.offset() + i]);
      }
    }
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
      out.write(h);
      out.write(data.array());
    }
  }
}
