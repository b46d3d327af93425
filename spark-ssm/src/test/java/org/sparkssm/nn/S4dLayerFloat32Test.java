package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link S4dLayer}'s convolution mode in float32 ({@link S4dLayer.Cache#computeIn}) against the
 * same layer in float64: y, du and every parameter gradient within {@link Tolerances#F32_S4D_CONV}
 * of each result's RMS, and not float64's bits; the float32 kernels' vector path against their
 * scalar twins, bit for bit.
 */
class S4dLayerFloat32Test {
  private static final String[] TENSORS = {"log_dt", "log_A_real", "A_imag", "B", "C", "D"};

  /** One forward and backward in {@code p}: y, du, gw. */
  private static double[][] pass(S4dLayer layer, int size, Precision p, double[] w, double[] u, double[] dy,
      int batch, int len) {
    S4dLayer.Cache cache = layer.newCache(batch, len);
    cache.computeIn(p);
    assertEquals(p, cache.precision());
    double[] y = new double[u.length];
    layer.forward(w, u, 0, batch, len, y, 0, cache);
    double[] gw = new double[size];
    double[] du = new double[u.length];
    Arrays.fill(du, Double.NaN); // overwritten
    layer.backward(w, gw, dy, 0, batch, len, du, 0, cache);
    return new double[][] {y, du, gw};
  }

  /** Parameters away from the init, as S4dLayerTest: Δ in 1e-3..1, Re Λ in -2..-0.1, B, C, D normal. */
  private static double[] randomWeights(ParameterLayout layout, int H, int M, SplittableRandom rnd) {
    double[] w = new double[layout.size()];
    int logDt = layout.tensor("s4d.log_dt").offset();
    int logAReal = layout.tensor("s4d.log_A_real").offset();
    int aImag = layout.tensor("s4d.A_imag").offset();
    int b = layout.tensor("s4d.B").offset();
    int c = layout.tensor("s4d.C").offset();
    int d0 = layout.tensor("s4d.D").offset();
    for (int d = 0; d < H; d++) {
      w[logDt + d] = Math.log(1e-3) + (Math.log(1.0) - Math.log(1e-3)) * rnd.nextDouble();
      w[d0 + d] = TestData.gaussian(rnd);
      for (int n = 0; n < M; n++) {
        int i = d * M + n;
        w[logAReal + i] = Math.log(0.1) + (Math.log(2.0) - Math.log(0.1)) * rnd.nextDouble();
        w[aImag + i] = Math.PI * n + 0.5 * TestData.gaussian(rnd);
        w[b + 2 * i] = 0.8 * TestData.gaussian(rnd);
        w[b + 2 * i + 1] = 0.8 * TestData.gaussian(rnd);
        w[c + 2 * i] = 0.8 * TestData.gaussian(rnd);
        w[c + 2 * i + 1] = 0.8 * TestData.gaussian(rnd);
      }
    }
    return w;
  }

  /** Largest |expected − actual| over {@code [off, off+n)} in units of the RMS of expected; asserts the bound. */
  private static double checkToRms(String what, double[] expected, double[] actual, int off, int n) {
    return Tolerances.assertCloseToRms(what, expected, off, actual, off, n, Tolerances.F32_S4D_CONV);
  }

  @Test
  void float32ForwardAndBackwardAreCloseToFloat64ButNotItsBits() {
    SplittableRandom rnd = new SplittableRandom(91);
    int[][] shapes = {{1, 1}, {3, 4}, {16, 2}, {21, 9}, {40, 32}}; // (H, M): lanes, a tail, both
    double worst = 0;
    String worstAt = "";
    for (int[] shape : shapes) {
      int H = shape[0];
      int M = shape[1];
      for (int len : new int[] {1, 5, 17, 33, 96}) {
        int batch = 1 + rnd.nextInt(3);
        ParameterLayout layout = new ParameterLayout();
        S4dLayer layer = new S4dLayer(layout, "s4d", H, M, S4dLayer.DEFAULT_CHUNK, S4dLayer.Mode.CONVOLUTION);
        layout.freeze();
        double[] w = randomWeights(layout, H, M, rnd);
        double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
        double[] dy = TestData.gaussian(rnd, batch * len * H, 1.0);
        double[][] ref = pass(layer, layout.size(), Precision.FLOAT64, w, u, dy, batch, len);
        double[][] f32 = pass(layer, layout.size(), Precision.FLOAT32, w, u, dy, batch, len);
        String what = " (H " + H + ", M " + M + ", len " + len + ", batch " + batch + ")";
        double[] errs = new double[2 + TENSORS.length];
        errs[0] = checkToRms("y" + what, ref[0], f32[0], 0, u.length);
        errs[1] = checkToRms("du" + what, ref[1], f32[1], 0, u.length);
        for (int t = 0; t < TENSORS.length; t++) {
          ParameterLayout.Tensor tensor = layout.tensor("s4d." + TENSORS[t]);
          errs[2 + t] = checkToRms("g " + TENSORS[t] + what, ref[2], f32[2], tensor.offset(), tensor.size());
        }
        for (int e = 0; e < errs.length; e++) {
          if (errs[e] > worst) {
            worst = errs[e];
            worstAt = (e < 2 ? (e == 0 ? "y" : "du") : "g " + TENSORS[e - 2]) + what;
          }
        }
        if (len > 1) {
          assertFalse(Arrays.equals(ref[0], f32[0]), "y has float64's bits, so float32 was not used" + what);
          assertFalse(Arrays.equals(ref[1], f32[1]), "du has float64's bits" + what);
          assertFalse(Arrays.equals(ref[2], f32[2]), "gw has float64's bits" + what);
        }
        // No state to keep in float64: float32-state64 is the same computation.
        double[][] state64 = pass(layer, layout.size(), Precision.FLOAT32_STATE64, w, u, dy, batch, len);
        for (int k = 0; k < 3; k++) {
          assertArrayEquals(f32[k], state64[k], 0.0, "float32-state64 vs float32 [" + k + "]" + what);
        }
      }
    }
    System.out.printf(java.util.Locale.ROOT, "S4D convolution float32 vs float64: worst %.3g RMS at %s%n", worst,
        worstAt);
  }

  @Test
  void aReusedCacheGivesTheSameBitsAndRecurrentModeStaysFloat64() {
    SplittableRandom rnd = new SplittableRandom(92);
    int H = 19;
    int M = 5;
    int batch = 3;
    int len = 23;
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M, S4dLayer.DEFAULT_CHUNK, S4dLayer.Mode.CONVOLUTION);
    layout.freeze();
    double[] w = randomWeights(layout, H, M, rnd);
    double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
    double[] dy = TestData.gaussian(rnd, batch * len * H, 1.0);
    double[][] once = pass(layer, layout.size(), Precision.FLOAT32, w, u, dy, batch, len);
    // A cache that served a larger batch and another input before: the float32 scratch carries nothing over.
    S4dLayer.Cache cache = layer.newCache(batch + 1, len);
    cache.computeIn(Precision.FLOAT32);
    double[] other = TestData.gaussian(rnd, (batch + 1) * len * H, 3.0);
    layer.forward(w, other, 0, batch + 1, len, new double[other.length], 0, cache);
    layer.backward(w, new double[layout.size()], other, 0, batch + 1, len, new double[other.length], 0, cache);
    double[] y = u.clone();
    layer.forward(w, y, 0, batch, len, y, 0, cache); // in place
    double[] gw = new double[layout.size()];
    double[] g = dy.clone();
    layer.backward(w, gw, g, 0, batch, len, g, 0, cache); // du over dy
    assertArrayEquals(once[0], y, 0.0, "y, reused cache, in place");
    assertArrayEquals(once[1], g, 0.0, "du, reused cache, in place");
    assertArrayEquals(once[2], gw, 0.0, "gw, reused cache");

    ParameterLayout recLayout = new ParameterLayout();
    S4dLayer rec = new S4dLayer(recLayout, "s4d", H, M, 8, S4dLayer.Mode.RECURRENT);
    recLayout.freeze();
    double[][] rec64 = pass(rec, recLayout.size(), Precision.FLOAT64, w, u, dy, batch, len);
    double[][] rec32 = pass(rec, recLayout.size(), Precision.FLOAT32, w, u, dy, batch, len);
    for (int k = 0; k < 3; k++) {
      assertArrayEquals(rec64[k], rec32[k], 0.0, "recurrent mode ignores the precision [" + k + "]");
    }
  }

  @Test
  void float32KernelsVectorPathHasTheScalarTwinsBits() {
    assumeTrue(VectorSupport.ENABLED, "Vector API not in the boot layer");
    SplittableRandom rnd = new SplittableRandom(93);
    for (int H : new int[] {1, 3, 8, 16, 17, 40, 64}) {
      for (int len : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 13, 33}) {
        int n = len * H;
        float[] kern = floats(rnd, n + 2);
        float[] u = floats(rnd, n + 5);
        float[] skip = floats(rnd, H);
        String what = " (H " + H + ", len " + len + ")";

        float[] expected = floats(rnd, n + 1);
        float[] y = expected.clone();
        S4dLayer.convolveScalar32(kern, 2, u, 5, skip, expected, 1, len, H, 0);
        int d = S4dConvolutionVector.convolve32(kern, 2, u, 5, skip, y, 1, len, H);
        S4dLayer.convolveScalar32(kern, 2, u, 5, skip, y, 1, len, H, d);
        assertArrayEquals(expected, y, "convolve32 vector vs scalar" + what);

        for (boolean withSkip : new boolean[] {false, true}) {
          float[] sk = withSkip ? skip : null;
          float[] ref = floats(rnd, n + 3);
          float[] c = ref.clone();
          S4dLayer.correlateScalar32(kern, 2, u, 5, sk, ref, 3, len, H, 0);
          d = S4dConvolutionVector.correlate32(kern, 2, u, 5, sk, c, 3, len, H);
          S4dLayer.correlateScalar32(kern, 2, u, 5, sk, c, 3, len, H, d);
          String how = what + (withSkip ? " skip" : "");
          assertArrayEquals(ref, c, "correlate32 vector vs scalar" + how);
          // In place, c over b at the same offset, on both paths.
          float[] b = u.clone();
          d = S4dConvolutionVector.correlate32(kern, 2, b, 5, sk, b, 5, len, H);
          S4dLayer.correlateScalar32(kern, 2, b, 5, sk, b, 5, len, H, d);
          float[] scalarInPlace = u.clone();
          S4dLayer.correlateScalar32(kern, 2, scalarInPlace, 5, sk, scalarInPlace, 5, len, H, 0);
          assertArrayEquals(Arrays.copyOfRange(ref, 3, 3 + n), Arrays.copyOfRange(b, 5, 5 + n), "in place" + how);
          assertArrayEquals(Arrays.copyOfRange(ref, 3, 3 + n), Arrays.copyOfRange(scalarInPlace, 5, 5 + n),
              "scalar in place" + how);
        }
      }
    }
  }

  private static float[] floats(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) TestData.gaussian(rnd);
    }
    return x;
  }
}
