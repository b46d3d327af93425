package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.testing.Tolerances;
import org.sparkssm.weights.Safetensors;

/**
 * The whole forecasting networks ({@link SMambaNet}, {@link S4dNet}, {@link LinearNet}, with and
 * without the learned cycle) against PyTorch float64 autograd: golden/forecasters/&lt;case&gt;/ holds
 * random tiny networks ({@code weights.safetensors}, spark-ssm's tensor names) and what
 * {@code src/test/python/forecaster_reference.py} (bench/train_step_bench.py's nets) computes from them
 * in evaluation mode ({@code expected.safetensors}: x, rows, y, pred, the MSE loss and
 * {@code grad.<name>} for every tensor). Evaluation mode here is a forward with null dropout seeds
 * (the nets are built with dropout 0.1), and the backward that follows it must apply no mask.
 */
class ForecasterGoldenTest {
  static final int L = 12;
  static final int H = 5;
  static final int C = 3;
  static final double DROPOUT = 0.1;

  /** Prediction and loss: float64 on both sides, some hundred operations deep. */
  static final Tolerances.Tolerance PRED = new Tolerances.Tolerance(1e-10, 1e-10);
  /** Gradients: float64, through the scans' adjoints (S4D by a scan here, by FFT in PyTorch). */
  static final Tolerances.Tolerance GRAD = new Tolerances.Tolerance(1e-9, 1e-7);

  /** The network of each golden case, with the hyperparameters forecaster_reference.py's CASES gives. */
  static WindowModel build(String name) {
    switch (name) {
      case "smamba":
        return new SMambaNet(L, H, C, 8, 2, 3, 6, DROPOUT, 0, null);
      case "smamba_cycle":
        return new SMambaNet(L, H, C, 8, 1, 3, 6, DROPOUT, 5, null);
      case "s4dnet":
        return new S4dNet(L, H, C, 4, 2, 3, 6, DROPOUT, 0, null);
      case "s4dnet_cycle":
        return new S4dNet(L, H, C, 4, 1, 3, 6, DROPOUT, 5, null);
      case "linear_cycle":
        return new LinearNet(L, H, C, 5, null);
      default:
        throw new IllegalArgumentException(name);
    }
  }

  static Path golden(String name) throws Exception {
    return Paths.get(ForecasterGoldenTest.class.getResource("/golden/forecasters/" + name + "/weights.safetensors")
        .toURI()).getParent();
  }

  /** Every tensor of the file into its layout offset; fails on a tensor missing, extra or of another shape. */
  static double[] load(ParameterLayout layout, Safetensors file) throws Exception {
    double[] w = new double[layout.size()];
    Set<String> inLayout = new HashSet<>();
    for (ParameterLayout.Tensor t : layout.tensors()) {
      inLayout.add(t.name());
    }
    assertEquals(inLayout, new HashSet<>(file.names()), "the file's tensors are the layout's");
    for (ParameterLayout.Tensor t : layout.tensors()) {
      long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
      double[] v = file.read(t.name(), shape);
      System.arraycopy(v, 0, w, t.offset(), t.size());
    }
    return w;
  }


  @ParameterizedTest
  @ValueSource(strings = {"smamba", "smamba_cycle", "s4dnet", "s4dnet_cycle", "linear_cycle"})
  void predictionAndGradientsEqualPyTorch(String name) throws Exception {
    Path dir = golden(name);
    Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"));
    WindowModel net = build(name);
    ParameterLayout layout = net.layout();
    double[] w = load(layout, Safetensors.open(dir.resolve("weights.safetensors")));
    double[] rowValues = expected.read("rows");
    int batch = rowValues.length;
    long[] rows = new long[batch];
    for (int b = 0; b < batch; b++) {
      rows[b] = (long) rowValues[b];
    }
    double[] x = expected.read("x", batch, L, C);
    double[] y = expected.read("y", batch, H, C);
    double[] wantPred = expected.read("pred", batch, H, C);

    WindowModel.Workspace ws = net.workspace(batch);
    double[] pred = new double[batch * H * C];
    net.forward(w, x, rows, batch, pred, ws, null);
    Tolerances.assertClose(name + " pred", wantPred, pred, PRED);
    double[] dPred = new double[pred.length];
    double scale = 1.0 / pred.length;
    double loss = Loss.mse().sum(pred, 0, y, 0, pred.length, scale, dPred, 0) * scale;
    Tolerances.assertClose(name + " loss", expected.read("loss")[0], loss, PRED);
    double[] gw = new double[layout.size()];
    net.backward(w, gw, dPred, batch, ws);

    for (ParameterLayout.Tensor t : layout.tensors()) {
      double[] want = expected.read("grad." + t.name(), Arrays.stream(t.shape()).asLongStream().toArray());
      double[] got = Arrays.copyOfRange(gw, t.offset(), t.offset() + t.size());
      Tolerances.assertClose(name + " gradient of " + t.name(), want, got, GRAD);
      assertTrue(Arrays.stream(want).anyMatch(v -> v != 0), name + " " + t.name() + ": a non-zero gradient");
    }
    assertEquals(layout.tensors().size() + 5, expected.names().size(), name + ": x, rows, y, pred, loss and grads");

    // The same forward again gives the same numbers: evaluation mode draws nothing.
    double[] again = new double[pred.length];
    net.forward(w, x, rows, batch, again, ws, null);
    assertArrayEquals(pred, again, 0.0);
  }
}
