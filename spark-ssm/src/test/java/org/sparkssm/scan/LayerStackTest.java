package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.reference.CausalConvReference;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class LayerStackTest {

  static CausalConv1d randomConv(SplittableRandom rnd, int channels, int width) {
    return CausalConv1d.of(channels, width, TestData.gaussian(rnd, channels * width, 0.5),
        TestData.gaussian(rnd, channels, 0.1));
  }

  /** conv(k=4) → SiLU → diagonal SSM → linear mix → GELU → conv(k=3) → S5: every kind of layer. */
  static LayerStack randomStack(SplittableRandom rnd, int channels) {
    return LayerStack.of(
        randomConv(rnd, channels, 4),
        Activation.of(Activation.Kind.SILU, channels),
        DiagonalSystems.random(rnd, channels, 6, true, true),
        LinearMap.of(channels, channels, TestData.gaussian(rnd, channels * channels, 0.6),
            TestData.gaussian(rnd, channels, 0.1)),
        Activation.of(Activation.Kind.GELU_TANH, channels),
        randomConv(rnd, channels, 3),
        S5ScanTest.randomSystem(rnd, channels, 4, true));
  }

  private static double[][] rows(double[] flat, int width) {
    double[][] out = new double[flat.length / width][];
    for (int t = 0; t < out.length; t++) {
      out[t] = Arrays.copyOfRange(flat, t * width, (t + 1) * width);
    }
    return out;
  }

  @Test
  void convolutionEqualsTheZeroPaddedReferenceWhateverTheChunks() {
    SplittableRandom rnd = new SplittableRandom(41);
    for (int width : new int[] {1, 2, 4, 7}) {
      for (int length : TestData.LENGTHS) {
        int c = 3;
        double[] weight = TestData.gaussian(rnd, c * width, 0.5);
        double[] bias = TestData.gaussian(rnd, c, 0.1);
        CausalConv1d conv = CausalConv1d.of(c, width, weight, bias);
        double[] u = TestData.gaussian(rnd, length * c, 1.0);
        double[][] expected = CausalConvReference.convolve(rows(weight, width), bias, rows(u, c));
        int[] cuts = TestData.randomCuts(rnd, length, 9);
        double[] y = new double[length * c];
        double[] h = new double[conv.stateSize()];
        for (int p = 0; p + 1 < cuts.length; p++) {
          conv.scan(u, cuts[p] * c, y, cuts[p] * c, cuts[p + 1] - cuts[p], h);
        }
        for (int t = 0; t < length; t++) {
          Tolerances.assertClose("k=" + width + " L=" + length + " t=" + t, expected[t], 0, y, t * c, c,
              Tolerances.F64);
        }
        // The state is the last k − 1 inputs (zeros before the start), oldest first.
        for (int i = 0; i < width - 1; i++) {
          int step = length - (width - 1) + i;
          for (int ch = 0; ch < c; ch++) {
            assertEquals(step >= 0 ? u[step * c + ch] : 0.0, h[i * c + ch], "state slot " + i);
          }
        }
      }
    }
  }

  @Test
  void convolutionDecayShiftsInZerosAndKeepsTheTwoPassIdentity() {
    SplittableRandom rnd = new SplittableRandom(42);
    CausalConv1d conv = randomConv(rnd, 2, 5);
    for (long steps : new long[] {0, 1, 3, 4, 5, 1L << 40}) {
      double[] h0 = TestData.gaussian(rnd, conv.stateSize(), 1.0);
      double[] viaDecay = h0.clone();
      conv.decay(viaDecay, steps);
      double[] viaScan = h0.clone();
      int n = (int) Math.min(steps, 9);
      conv.scan(new double[n * 2], 0, new double[n * 2], 0, n, viaScan);
      assertArrayEquals(viaScan, viaDecay, "steps " + steps);
    }
  }

  @Test
  void stackEqualsLayerByLayerScansAndChunksAnywhere() {
    SplittableRandom rnd = new SplittableRandom(43);
    LayerStack stack = randomStack(rnd, 3);
    int length = 211;
    double[] u = TestData.gaussian(rnd, length * 3, 1.0);

    // Independent composition: each layer over the whole sequence, from zero.
    double[] x = u;
    for (ScanModel layer : stack.layers()) {
      double[] next = new double[length * layer.outputs()];
      layer.scan(x, 0, next, 0, length, new double[layer.stateSize()]);
      x = next;
    }
    double[] oneShot = new double[length * stack.outputs()];
    double[] hOne = new double[stack.stateSize()];
    stack.scan(u, 0, oneShot, 0, length, hOne);
    assertArrayEquals(x, oneShot);

    for (int trial = 0; trial < 20; trial++) {
      int[] cuts = trial == 0 ? TestData.fixedCuts(length, 1) : TestData.randomCuts(rnd, length, 30);
      double[] y = new double[oneShot.length];
      double[] h = new double[stack.stateSize()];
      for (int p = 0; p + 1 < cuts.length; p++) {
        stack.scan(u, cuts[p] * 3, y, cuts[p] * 3, cuts[p + 1] - cuts[p], h);
      }
      Tolerances.assertClose("chunked outputs, cuts " + Arrays.toString(cuts), oneShot, y, Tolerances.CHUNKED);
      Tolerances.assertClose("chunked end state", hOne, h, Tolerances.CHUNKED);
    }
  }

  @Test
  void stagesEndInOneRecurrentLayerAndTheHaloGivesThePrefixState() {
    SplittableRandom rnd = new SplittableRandom(44);
    LayerStack stack = randomStack(rnd, 2);
    List<LayerStack> stages = stack.stages();
    assertEquals(2, stages.size());
    assertEquals(3, stages.get(0).layers().size()); // conv, SiLU, diagonal
    assertEquals(3, stages.get(0).prefixWindow());
    assertEquals(4, stages.get(1).layers().size()); // linear, GELU, conv, S5
    assertEquals(2, stages.get(1).prefixWindow());
    assertEquals(LayerStack.of(stages.toArray(new ScanModel[0])).fingerprint(), stack.fingerprint());

    // Trailing windowed layers form a last stage without a recurrent layer.
    LayerStack tail = LayerStack.of(DiagonalSystems.random(rnd, 2, 3, true, false), randomConv(rnd, 2, 3),
        randomConv(rnd, 2, 2));
    assertEquals(2, tail.stages().size());
    assertEquals(2, tail.stages().get(1).windowedPrefixLength());
    assertEquals(3, tail.stages().get(1).prefixWindow());

    // The halo property: scanning the last prefixWindow() rows from any state gives the prefix
    // state the full history gives (k1 - 1 + k2 - 1 rows for two convolutions in a row).
    LayerStack prefix = LayerStack.of(randomConv(rnd, 2, 4), Activation.of(Activation.Kind.TANH, 2),
        randomConv(rnd, 2, 3));
    int window = prefix.prefixWindow();
    assertEquals(5, window);
    double[] u = TestData.gaussian(rnd, 40 * 2, 1.0);
    double[] full = new double[prefix.stateSize()];
    prefix.scan(u, 0, new double[80], 0, 40, full);
    double[] fromHalo = TestData.gaussian(rnd, prefix.stateSize(), 10.0);
    prefix.scan(u, (40 - window) * 2, new double[window * 2], 0, window, fromHalo);
    Tolerances.assertClose("prefix state from the halo", full, fromHalo, Tolerances.F64);
  }

  @Test
  void badStacksAreRejectedNamingTheLayer() {
    SplittableRandom rnd = new SplittableRandom(45);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LayerStack.of(randomConv(rnd, 3, 2), LinearMap.of(2, 2, new double[4], null)));
    assertTrue(e.getMessage().startsWith("layers[1]: expected 3 inputs"), e.getMessage());
    assertThrows(IllegalArgumentException.class, LayerStack::of);
    e = assertThrows(IllegalArgumentException.class, () -> CausalConv1d.of(2, 3, new double[5], null));
    assertTrue(e.getMessage().startsWith("weight: expected length 6"), e.getMessage());
    LayerStack deep = randomStack(rnd, 2);
    UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
        () -> deep.decay(new double[deep.stateSize()], 3));
    assertTrue(u.getMessage().contains("stages()"), u.getMessage());
  }

  @Test
  void activationsMatchTheirDefinitions() {
    double x = 0.7;
    assertEquals(x / (1 + Math.exp(-x)), Activation.of(Activation.Kind.SILU, 1).apply(x), 1e-15);
    assertEquals(0.0, Activation.of(Activation.Kind.RELU, 1).apply(-x));
    // GELU (tanh form) against the exact erf form, which it approximates to ~1e-3.
    double erfForm = 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    assertEquals(erfForm, Activation.of(Activation.Kind.GELU_TANH, 1).apply(x), 1e-3);
  }

  /** erf by its Maclaurin series (converges fast for |z| < 1). */
  private static double erf(double z) {
    double sum = 0;
    double term = z;
    for (int n = 0; n < 30; n++) {
      sum += term / (2 * n + 1);
      term *= -z * z / (n + 1);
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }
}
