package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.CausalConv1d;
import org.sparkssm.testing.Tolerances;

/**
 * The simple layers' backward passes against central finite differences ({@link GradientCheck}),
 * and their forwards against direct formulas or the inference kernels they twin.
 */
class LayersTest {
  private static final int[] ROWS = {1, 2, 7};

  @Test
  void linearGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(1);
    for (boolean bias : new boolean[] {true, false}) {
      for (int rows : ROWS) {
        ParameterLayout layout = new ParameterLayout();
        Linear lin = new Linear(layout, "fc", 5, 3, bias);
        layout.freeze();
        double[] w = GradientCheck.gaussian(rnd, layout.size(), 0.7);
        double[] x = GradientCheck.gaussian(rnd, rows * 5, 1.0);
        double[] r = GradientCheck.gaussian(rnd, rows * 3, 1.0);
        double[] y = new double[rows * 3];
        java.util.function.DoubleSupplier loss = () -> {
          lin.forward(w, x, 0, rows, y, 0);
          return GradientCheck.dot(r, y, 0);
        };
        double[] gw = new double[layout.size()];
        double[] dx = new double[rows * 5];
        lin.backward(w, gw, x, 0, r, 0, rows, dx, 0);
        GradientCheck.check("linear W" + (bias ? "+b" : ""), w, gw, loss, 100, rnd);
        GradientCheck.check("linear x", x, dx, loss, 100, rnd);
        // Naive forward.
        lin.forward(w, x, 0, rows, y, 0);
        for (int t = 0; t < rows; t++) {
          for (int o = 0; o < 3; o++) {
            double e = bias ? w[layout.tensor("fc.bias").offset() + o] : 0;
            for (int i = 0; i < 5; i++) {
              e += x[t * 5 + i] * w[o * 5 + i];
            }
            Tolerances.assertClose("linear y", e, y[t * 3 + o], Tolerances.F64);
          }
        }
      }
    }
  }

  @Test
  void weightGradientAccumulatesAndInputGradientOverwrites() {
    SplittableRandom rnd = new SplittableRandom(2);
    ParameterLayout layout = new ParameterLayout();
    Linear lin = new Linear(layout, "fc", 4, 6, true);
    double[] w = GradientCheck.gaussian(rnd, layout.size(), 1);
    double[] x = GradientCheck.gaussian(rnd, 3 * 4, 1);
    double[] dy = GradientCheck.gaussian(rnd, 3 * 6, 1);
    double[] once = new double[layout.size()];
    lin.backward(w, once, x, 0, dy, 0, 3, null, 0);
    double[] twice = once.clone();
    double[] dx = new double[12];
    java.util.Arrays.fill(dx, 99);
    lin.backward(w, twice, x, 0, dy, 0, 3, dx, 0);
    for (int i = 0; i < once.length; i++) {
      Tolerances.assertClose("2 g", 2 * once[i], twice[i], Tolerances.F64);
    }
    double[] dx2 = new double[12];
    lin.backward(w, new double[layout.size()], x, 0, dy, 0, 3, dx2, 0);
    assertArrayEquals(dx2, dx, 0.0, "dx is overwritten, not accumulated");
  }

  @Test
  void normGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (boolean rms : new boolean[] {false, true}) {
      for (int rows : ROWS) {
        ParameterLayout layout = new ParameterLayout();
        Norm norm = rms ? Norm.rmsNorm(layout, "n", 6, 1e-5) : Norm.layerNorm(layout, "n", 6, 1e-5);
        double[] w = GradientCheck.gaussian(rnd, layout.size(), 1.0);
        double[] x = GradientCheck.gaussian(rnd, rows * 6, 2.0);
        double[] r = GradientCheck.gaussian(rnd, rows * 6, 1.0);
        double[] y = new double[rows * 6];
        double[] stats = new double[rows * 2];
        java.util.function.DoubleSupplier loss = () -> {
          norm.forward(w, x, 0, rows, y, 0, stats, 0);
          return GradientCheck.dot(r, y, 0);
        };
        loss.getAsDouble();
        double[] gw = new double[layout.size()];
        double[] dx = new double[rows * 6];
        norm.backward(w, gw, x, 0, stats, 0, r, 0, rows, dx, 0);
        String what = rms ? "rmsnorm" : "layernorm";
        GradientCheck.check(what + " params", w, gw, loss, 100, rnd);
        GradientCheck.check(what + " x", x, dx, loss, 100, rnd);
      }
    }
  }

  @Test
  void layerNormOutputHasZeroMeanAndUnitVarianceBeforeTheAffine() {
    ParameterLayout layout = new ParameterLayout();
    Norm norm = Norm.layerNorm(layout, "n", 8, 1e-12);
    double[] w = new double[layout.size()];
    norm.init(w);
    double[] x = GradientCheck.gaussian(new SplittableRandom(4), 8, 3.0);
    double[] y = new double[8];
    norm.forward(w, x, 0, 1, y, 0, new double[2], 0);
    double mean = 0;
    double sq = 0;
    for (double v : y) {
      mean += v / 8;
      sq += v * v / 8;
    }
    assertEquals(0.0, mean, 1e-12);
    assertEquals(1.0, sq, 1e-9);
  }

  @Test
  void nonlinearityDerivativesMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(5);
    for (Nonlinearity f : Nonlinearity.values()) {
      double[] x = GradientCheck.gaussian(rnd, 40, 3.0);
      if (f == Nonlinearity.RELU) {
        for (int i = 0; i < x.length; i++) {
          x[i] += Math.signum(x[i]) * 1e-3; // keep finite differences away from the kink
        }
      }
      double[] r = GradientCheck.gaussian(rnd, 40, 1.0);
      double[] y = new double[40];
      java.util.function.DoubleSupplier loss = () -> {
        f.forward(x, 0, y, 0, 40);
        return GradientCheck.dot(r, y, 0);
      };
      double[] dx = new double[40];
      f.backward(x, 0, r, 0, dx, 0, 40);
      GradientCheck.check(f.name(), x, dx, loss, 40, rnd);
    }
    // Closed forms at points.
    assertEquals(0.0, Nonlinearity.silu(0.0), 0.0);
    assertEquals(0.5, Nonlinearity.siluDerivative(0.0), 1e-15);
    assertEquals(0.5 * Math.log(2) * 2, Nonlinearity.softplus(0.0), 1e-15);
    assertEquals(25.0, Nonlinearity.softplus(25.0), 0.0);
    assertEquals(1.0, Nonlinearity.softplusDerivative(25.0), 0.0);
    double[] s = {-3, 0.2, 19.9};
    for (double v : s) {
      double fd = (Nonlinearity.softplus(v + 1e-6) - Nonlinearity.softplus(v - 1e-6)) / 2e-6;
      assertEquals(fd, Nonlinearity.softplusDerivative(v), 1e-8);
    }
    // GELU (tanh) against PyTorch's printed values: gelu(1, approximate='tanh') = 0.8411919906082768.
    assertEquals(0.8411919906082768, Nonlinearity.gelu(1.0), 1e-15);
    // GELU's tanh against StrictMath's, in absolute terms (what 1 + tanh and 1 - tanh² see): within
    // 4e-16 (measured 2.2e-16) from 1e-12 to beyond saturation; odd, exact at 0.
    SplittableRandom r = new SplittableRandom(16);
    for (int i = 0; i < 200_000; i++) {
      double z = (r.nextBoolean() ? 1 : -1) * (i % 2 == 0 ? r.nextDouble(0, 25) : Math.pow(10, -r.nextInt(13)) * r.nextDouble());
      assertEquals(StrictMath.tanh(z), Nonlinearity.tanh(z), 4e-16, "tanh(" + z + ")");
      assertEquals(-Nonlinearity.tanh(z), Nonlinearity.tanh(-z), 0.0, "odd at " + z);
    }
    assertEquals(0.0, Nonlinearity.tanh(0.0), 0.0);
    assertEquals(1.0, Nonlinearity.tanh(800.0), 0.0);
    assertTrue(Double.isNaN(Nonlinearity.tanh(Double.NaN)));
  }

  @Test
  void dropoutIsSeededAndScalesKeptUnits() {
    Dropout d = new Dropout(0.25);
    double[] x = new double[10_000];
    java.util.Arrays.fill(x, 1.0);
    double[] y1 = new double[x.length];
    double[] y2 = new double[x.length];
    double[] m1 = new double[x.length];
    double[] m2 = new double[x.length];
    d.forward(42, x, 0, x.length, y1, 0, m1, 0);
    d.forward(42, x, 0, x.length, y2, 0, m2, 0);
    assertArrayEquals(y1, y2, 0.0, "same seed, same mask");
    double[] y3 = new double[x.length];
    d.forward(43, x, 0, x.length, y3, 0, new double[x.length], 0);
    assertTrue(!java.util.Arrays.equals(y1, y3), "another seed, another mask");
    int dropped = 0;
    double mean = 0;
    for (double v : y1) {
      if (v == 0) {
        dropped++;
      } else {
        assertEquals(1 / 0.75, v, 1e-15);
      }
      mean += v / x.length;
    }
    assertEquals(0.25, dropped / 10_000.0, 0.02);
    assertEquals(1.0, mean, 0.03, "inverted dropout keeps the expectation");
    double[] dy = GradientCheck.gaussian(new SplittableRandom(6), x.length, 1);
    double[] dx = new double[x.length];
    Dropout.backward(m1, 0, dy, 0, x.length, dx, 0);
    for (int i = 0; i < x.length; i++) {
      assertEquals(dy[i] * m1[i], dx[i], 0.0);
    }
    assertThrows(IllegalArgumentException.class, () -> new Dropout(1.0));
    assertThrows(IllegalArgumentException.class, () -> new Dropout(-0.1));
  }

  @Test
  void instanceNormRoundTripsAndItsGradientMatchesFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(7);
    InstanceNorm norm = InstanceNorm.standard();
    int L = 9;
    int H = 4;
    int C = 3;
    double[] x = GradientCheck.gaussian(rnd, L * C, 2.0);
    for (int i = 0; i < x.length; i++) {
      x[i] += 5 * (i % C);
    }
    // A toy network between the two ends: f[h, c] = Σ_t M[h, t] xn[t, c] (a fixed linear map).
    double[] m = GradientCheck.gaussian(rnd, H * L, 0.5);
    double[] r = GradientCheck.gaussian(rnd, H * C, 1.0);
    double[] xn = new double[L * C];
    double[] f = new double[H * C];
    double[] y = new double[H * C];
    double[] stats = new double[2 * C];
    java.util.function.DoubleSupplier loss = () -> {
      norm.normalize(x, 0, L, C, xn, 0, stats, 0);
      toyForward(m, xn, f, L, H, C);
      InstanceNorm.denormalize(f, 0, H, C, stats, 0, y, 0);
      return GradientCheck.dot(r, y, 0);
    };
    loss.getAsDouble();
    double[] df = new double[H * C];
    double[] dStats = new double[2 * C];
    InstanceNorm.backwardDenormalize(f, 0, r, 0, H, C, stats, 0, df, 0, dStats, 0);
    double[] dxn = new double[L * C];
    for (int t = 0; t < L; t++) {
      for (int c = 0; c < C; c++) {
        double s = 0;
        for (int h = 0; h < H; h++) {
          s += m[h * L + t] * df[h * C + c];
        }
        dxn[t * C + c] = s;
      }
    }
    double[] dx = new double[L * C];
    InstanceNorm.backwardNormalize(xn, 0, dxn, 0, L, C, stats, 0, dStats, 0, dx, 0);
    GradientCheck.check("instance norm x", x, dx, loss, 100, rnd);
    // Round trip: denormalizing the normalized window gives the window.
    double[] back = new double[L * C];
    norm.normalize(x, 0, L, C, xn, 0, stats, 0);
    InstanceNorm.denormalize(xn, 0, L, C, stats, 0, back, 0);
    Tolerances.assertClose("round trip", x, back, Tolerances.F64);
  }

  private static void toyForward(double[] m, double[] xn, double[] f, int L, int H, int C) {
    for (int h = 0; h < H; h++) {
      for (int c = 0; c < C; c++) {
        double s = 0;
        for (int t = 0; t < L; t++) {
          s += m[h * L + t] * xn[t * C + c];
        }
        f[h * C + c] = s;
      }
    }
  }

  @Test
  void depthwiseConvEqualsTheInferenceKernelAndItsGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(8);
    for (int k : new int[] {1, 2, 4}) {
      for (int len : new int[] {1, 3, 11}) {
        int C = 5;
        int batch = 2;
        ParameterLayout layout = new ParameterLayout();
        DepthwiseConv1d conv = new DepthwiseConv1d(layout, "conv1d", C, k);
        double[] w = GradientCheck.gaussian(rnd, layout.size(), 1.0);
        double[] x = GradientCheck.gaussian(rnd, batch * len * C, 1.0);
        double[] y = new double[x.length];
        conv.forward(w, x, 0, batch, len, y, 0);
        // Each sequence equals the inference kernel from a zero state.
        double[] weight = java.util.Arrays.copyOfRange(w, conv.weightOffset(), conv.weightOffset() + C * k);
        double[] bias = java.util.Arrays.copyOfRange(w, conv.biasOffset(), conv.biasOffset() + C);
        CausalConv1d ref = CausalConv1d.of(C, k, weight, bias);
        for (int b = 0; b < batch; b++) {
          double[] expected = new double[len * C];
          ref.scan(x, b * len * C, expected, 0, len, new double[ref.stateSize()]);
          Tolerances.assertClose("conv sequence " + b, expected, 0, y, b * len * C, len * C, Tolerances.F64);
        }
        double[] r = GradientCheck.gaussian(rnd, x.length, 1.0);
        java.util.function.DoubleSupplier loss = () -> {
          conv.forward(w, x, 0, batch, len, y, 0);
          return GradientCheck.dot(r, y, 0);
        };
        double[] gw = new double[layout.size()];
        double[] dx = new double[x.length];
        conv.backward(w, gw, x, 0, r, 0, batch, len, dx, 0);
        GradientCheck.check("conv params k=" + k + " len=" + len, w, gw, loss, 100, rnd);
        GradientCheck.check("conv x k=" + k + " len=" + len, x, dx, loss, 100, rnd);
      }
    }
  }

  @Test
  void matMulProductsEqualNaiveLoopsOnBothPathsForShapesWithRemainders() {
    SplittableRandom rnd = new SplittableRandom(9);
    int[][] shapes = {{1, 1, 1}, {5, 3, 7}, {4, 16, 16}, {9, 5, 33}, {13, 21, 17}, {2, 40, 3}};
    for (int[] shape : shapes) {
      int rows = shape[0];
      int out = shape[1];
      int in = shape[2];
      String at = java.util.Arrays.toString(shape);
      double[] w = GradientCheck.gaussian(rnd, 2 + out * in, 1);
      double[] dy = GradientCheck.gaussian(rnd, rows * out, 1);
      double[] x = GradientCheck.gaussian(rnd, rows * in, 1);
      double[] start = GradientCheck.gaussian(rnd, 1 + rows * in, 1);
      double[] gStart = GradientCheck.gaussian(rnd, out * in, 1);
      double[] dx = new double[1 + rows * in];
      double[] dxScalar = new double[1 + rows * in];
      MatMul.dyW(dy, 0, rows, out, w, 2, in, dx, 1);
      MatMul.dyWScalar(dy, 0, rows, out, w, 2, in, dxScalar, 1);
      double[] dxAcc = start.clone();
      MatMul.accumulateDyW(dy, 0, rows, out, w, 2, in, dxAcc, 1);
      double[] gw = gStart.clone();
      double[] gwScalar = gStart.clone();
      MatMul.accumulateDyTx(dy, 0, rows, out, x, 0, in, gw, 0);
      MatMul.accumulateDyTxScalar(dy, 0, rows, out, x, 0, in, gwScalar, 0);
      for (int r = 0; r < rows; r++) {
        for (int i = 0; i < in; i++) {
          double e = 0;
          for (int o = 0; o < out; o++) {
            e += dy[r * out + o] * w[2 + o * in + i];
          }
          Tolerances.assertClose("dx " + at, e, dx[1 + r * in + i], Tolerances.F64);
          Tolerances.assertClose("dx scalar " + at, e, dxScalar[1 + r * in + i], Tolerances.F64);
          Tolerances.assertClose("dx += " + at, start[1 + r * in + i] + e, dxAcc[1 + r * in + i], Tolerances.F64);
        }
      }
      for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
          double e = gStart[o * in + i];
          for (int r = 0; r < rows; r++) {
            e += dy[r * out + o] * x[r * in + i];
          }
          Tolerances.assertClose("gW " + at, e, gw[o * in + i], Tolerances.F64);
          Tolerances.assertClose("gW scalar " + at, e, gwScalar[o * in + i], Tolerances.F64);
        }
      }
      // A row's input gradient does not depend on the other rows of the call.
      double[] one = new double[in];
      MatMul.dyW(dy, (rows - 1) * out, 1, out, w, 2, in, one, 0);
      for (int i = 0; i < in; i++) {
        assertEquals(dx[1 + (rows - 1) * in + i], one[i], 0.0, "last row alone " + at);
      }
    }
  }

  @Test
  void cycleQueueRemovesAndRestoresThePatternAtTheWindowsPhase() {
    ParameterLayout layout = new ParameterLayout();
    CycleQueue q = new CycleQueue(layout, "cycle", 5, 2);
    double[] w = GradientCheck.gaussian(new SplittableRandom(12), layout.size(), 1);
    double[] x = new double[7 * 2];
    q.apply(w, 1.0, x, 0, 7, 13); // rows 13..19: phases 3, 4, 0, 1, 2, 3, 4
    int[] phases = {3, 4, 0, 1, 2, 3, 4};
    for (int t = 0; t < 7; t++) {
      for (int c = 0; c < 2; c++) {
        assertEquals(w[phases[t] * 2 + c], x[t * 2 + c], 0.0, "t=" + t + " c=" + c);
      }
    }
    q.apply(w, -1.0, x, 0, 7, 13);
    assertArrayEquals(new double[14], x, 0.0, "subtracting the same phases restores the input");
    double[] g = GradientCheck.gaussian(new SplittableRandom(13), 14, 1);
    double[] r = g.clone();
    double[] y = new double[14];
    java.util.function.DoubleSupplier loss = () -> {
      java.util.Arrays.fill(y, 0);
      q.apply(w, -1.0, y, 0, 7, 13);
      return GradientCheck.dot(r, y, 0);
    };
    double[] gw = new double[layout.size()];
    q.backward(gw, -1.0, r, 0, 7, 13);
    GradientCheck.check("cycle", w, gw, loss, 10, new SplittableRandom(14));
    double[] z = new double[layout.size()];
    q.init(z);
    assertArrayEquals(new double[layout.size()], z, 0.0);
  }

  @Test
  void layoutRejectsDuplicateNamesAndFrozenAdds() {
    ParameterLayout layout = new ParameterLayout();
    layout.add("a.weight", 2, 3);
    IllegalArgumentException dup = assertThrows(IllegalArgumentException.class, () -> layout.add("a.weight", 1));
    assertTrue(dup.getMessage().contains("a.weight"), dup.getMessage());
    IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> layout.add("b", 0));
    assertTrue(zero.getMessage().contains("b dimension"), zero.getMessage());
    layout.freeze();
    assertThrows(IllegalArgumentException.class, () -> layout.add("c", 1));
    assertEquals(6, layout.size());
    assertEquals(0, layout.tensor("a.weight").offset());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> layout.tensor("zz"));
    assertTrue(missing.getMessage().contains("zz"), missing.getMessage());
  }
}
