package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.scan.VectorSupport;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link S4dLayer}: the forward against a naive float64 twin that stores every state and writes
 * the complex arithmetic out from the equations; every gradient against central finite
 * differences ({@link GradientCheck}); the chunked backward against itself across chunk sizes;
 * the adjoint piece chunk by chunk against one shot.
 */
class S4dLayerTest {
  /** (H, modes, batch, len, chunk) for the gradient checks: len 1, odd lengths, batch > 1, chunks 1, 3, 64. */
  private static final int[][] GRAD_SHAPES = {
      {1, 1, 1, 1, 1}, {1, 2, 1, 1, 64}, {2, 3, 1, 7, 3}, {3, 2, 2, 7, 64}, {2, 2, 3, 33, 1}, {1, 4, 2, 33, 3},
      {2, 3, 2, 33, 64}, {1, 5, 2, 8, 3}, {1, 8, 2, 7, 3},
  };

  // ---- the naive twin ---------------------------------------------------------------------

  /** A complex number, for the reference only (clarity over speed). */
  private record Cx(double re, double im) {
    Cx plus(Cx o) {
      return new Cx(re + o.re, im + o.im);
    }

    Cx minus(Cx o) {
      return new Cx(re - o.re, im - o.im);
    }

    Cx times(Cx o) {
      return new Cx(re * o.re - im * o.im, re * o.im + im * o.re);
    }

    Cx times(double s) {
      return new Cx(re * s, im * s);
    }

    Cx div(Cx o) {
      double den = o.re * o.re + o.im * o.im;
      return new Cx((re * o.re + im * o.im) / den, (im * o.re - re * o.im) / den);
    }

    static Cx exp(Cx z) {
      double m = Math.exp(z.re);
      return new Cx(m * Math.cos(z.im), m * Math.sin(z.im));
    }
  }

  /** Offsets of the layer's tensors, read from the layout by name. */
  private record Offsets(int logDt, int logAReal, int aImag, int b, int c, int d) {
    static Offsets of(ParameterLayout layout, String name) {
      return new Offsets(layout.tensor(name + ".log_dt").offset(), layout.tensor(name + ".log_A_real").offset(),
          layout.tensor(name + ".A_imag").offset(), layout.tensor(name + ".B").offset(),
          layout.tensor(name + ".C").offset(), layout.tensor(name + ".D").offset());
    }
  }

  /**
   * y straight from the equations: Λ = -exp(log_A_real) + i A_imag, Ā = exp(ΔΛ),
   * B̄ = (Ā - 1)/Λ B, h_t = Ā h_{t-1} + B̄ u_t (all states kept), y_t = 2 Re Σ C h_t + D u_t.
   */
  private static double[] naiveForward(double[] w, Offsets o, int H, int M, double[] u, int batch, int len) {
    double[] y = new double[batch * len * H];
    for (int b = 0; b < batch; b++) {
      Cx[][][] states = new Cx[len + 1][H][M];
      for (int d = 0; d < H; d++) {
        Arrays.fill(states[0][d], new Cx(0, 0));
      }
      for (int t = 0; t < len; t++) {
        for (int d = 0; d < H; d++) {
          double delta = Math.exp(w[o.logDt + d]);
          double ut = u[(b * len + t) * H + d];
          double yt = w[o.d + d] * ut;
          for (int n = 0; n < M; n++) {
            int i = d * M + n;
            Cx lambda = new Cx(-Math.exp(w[o.logAReal + i]), w[o.aImag + i]);
            Cx abar = Cx.exp(lambda.times(delta));
            Cx bbar = abar.minus(new Cx(1, 0)).div(lambda).times(new Cx(w[o.b + 2 * i], w[o.b + 2 * i + 1]));
            Cx h = abar.times(states[t][d][n]).plus(bbar.times(ut));
            states[t + 1][d][n] = h;
            yt += 2 * new Cx(w[o.c + 2 * i], w[o.c + 2 * i + 1]).times(h).re();
          }
          y[(b * len + t) * H + d] = yt;
        }
      }
    }
    return y;
  }

  /**
   * Parameters away from the init so every term matters: Δ spans 1e-3..1, Re Λ in -2..-0.1,
   * Im Λ near π n, B and C complex normal, D normal.
   */
  private static double[] randomWeights(ParameterLayout layout, Offsets o, int H, int M, SplittableRandom rnd) {
    double[] w = new double[layout.size()];
    for (int d = 0; d < H; d++) {
      w[o.logDt + d] = Math.log(1e-3) + (Math.log(1.0) - Math.log(1e-3)) * rnd.nextDouble();
      w[o.d + d] = TestData.gaussian(rnd);
      for (int n = 0; n < M; n++) {
        int i = d * M + n;
        w[o.logAReal + i] = Math.log(0.1) + (Math.log(2.0) - Math.log(0.1)) * rnd.nextDouble();
        w[o.aImag + i] = Math.PI * n + 0.5 * TestData.gaussian(rnd);
        w[o.b + 2 * i] = 0.8 * TestData.gaussian(rnd);
        w[o.b + 2 * i + 1] = 0.8 * TestData.gaussian(rnd);
        w[o.c + 2 * i] = 0.8 * TestData.gaussian(rnd);
        w[o.c + 2 * i + 1] = 0.8 * TestData.gaussian(rnd);
      }
    }
    return w;
  }

  // ---- forward ----------------------------------------------------------------------------

  @Test
  void forwardMatchesNaiveReference() {
    SplittableRandom rnd = new SplittableRandom(11);
    int[][] hm = {{1, 1}, {3, 2}, {2, 4}, {2, 9}}; // modes 4 and 9 also reach the Vector API scan
    for (int[] shape : hm) {
      int H = shape[0];
      int M = shape[1];
      for (int chunk : new int[] {1, 3, 64}) {
        ParameterLayout layout = new ParameterLayout();
        S4dLayer layer = new S4dLayer(layout, "s4d", H, M, chunk);
        layout.freeze();
        Offsets o = Offsets.of(layout, "s4d");
        for (int len : TestData.LENGTHS) {
          for (int batch : new int[] {1, 3}) {
            double[] w = randomWeights(layout, o, H, M, rnd);
            if (len == 7) {
              layer.init(w, rnd); // the S4D-Lin init as well
            }
            double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
            double[] y = new double[batch * len * H + 3];
            layer.forward(w, u, 0, batch, len, y, 3, layer.newCache(batch, len));
            double[] expected = naiveForward(w, o, H, M, u, batch, len);
            Tolerances.assertClose("y (H " + H + ", M " + M + ", chunk " + chunk + ", len " + len + ", batch " + batch
                + ")", expected, 0, y, 3, expected.length, Tolerances.F64);
          }
        }
      }
    }
  }

  @Test
  void forwardCopiesInputSoOutputMayOverwriteIt() {
    SplittableRandom rnd = new SplittableRandom(12);
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", 3, 4, 5);
    layout.freeze();
    Offsets o = Offsets.of(layout, "s4d");
    int batch = 2;
    int len = 13;
    double[] w = randomWeights(layout, o, 3, 4, rnd);
    double[] u = TestData.gaussian(rnd, batch * len * 3, 1.0);
    double[] dy = TestData.gaussian(rnd, batch * len * 3, 1.0);
    S4dLayer.Cache cache = layer.newCache(batch, len);
    double[] y = new double[u.length];
    layer.forward(w, u, 0, batch, len, y, 0, cache);
    double[] gw = new double[layout.size()];
    double[] du = new double[u.length];
    layer.backward(w, gw, dy, 0, batch, len, du, 0, cache);

    double[] inPlace = u.clone();
    S4dLayer.Cache cache2 = layer.newCache(batch, len);
    layer.forward(w, inPlace, 0, batch, len, inPlace, 0, cache2);
    Tolerances.assertClose("y in place", y, inPlace, Tolerances.F64);
    double[] gw2 = new double[layout.size()];
    double[] du2 = new double[u.length];
    layer.backward(w, gw2, dy, 0, batch, len, du2, 0, cache2);
    Tolerances.assertClose("gw after an in-place forward", gw, gw2, Tolerances.F64);
    Tolerances.assertClose("du after an in-place forward", du, du2, Tolerances.F64);
  }

  // ---- backward ---------------------------------------------------------------------------

  @Test
  void gradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(21);
    for (int[] s : GRAD_SHAPES) {
      for (boolean atInit : new boolean[] {false, true}) {
        checkGradients(s[0], s[1], s[2], s[3], s[4], atInit, rnd);
      }
    }
  }

  private static void checkGradients(int H, int M, int batch, int len, int chunk, boolean atInit,
      SplittableRandom rnd) {
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M, chunk);
    layout.freeze();
    Offsets o = Offsets.of(layout, "s4d");
    double[] w = randomWeights(layout, o, H, M, rnd);
    if (atInit) {
      layer.init(w, rnd);
    }
    double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
    double[] r = TestData.gaussian(rnd, batch * len * H, 1.0);
    double[] y = new double[batch * len * H];
    S4dLayer.Cache lossCache = layer.newCache(batch, len);
    DoubleSupplier loss = () -> {
      layer.forward(w, u, 0, batch, len, y, 0, lossCache);
      return GradientCheck.dot(r, y, 0);
    };
    S4dLayer.Cache cache = layer.newCache(batch, len);
    layer.forward(w, u, 0, batch, len, y, 0, cache);
    double[] gw = new double[layout.size()];
    double[] du = new double[u.length];
    Arrays.fill(du, Double.NaN); // overwritten
    layer.backward(w, gw, r, 0, batch, len, du, 0, cache);
    String what = String.format(java.util.Locale.ROOT, "H %d, M %d, batch %d, len %d, chunk %d%s, tensors %s", H, M,
        batch, len, chunk, atInit ? ", at init" : "", layout.tensors());
    GradientCheck.check("gw (" + what + ")", w, gw, loss, 10_000, rnd);
    GradientCheck.check("du (" + what + ")", u, du, loss, 10_000, rnd);
  }

  @Test
  void parameterGradientsAccumulateAndInputGradientIsOverwritten() {
    SplittableRandom rnd = new SplittableRandom(22);
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", 2, 3, 4);
    layout.freeze();
    Offsets o = Offsets.of(layout, "s4d");
    int batch = 2;
    int len = 9;
    double[] w = randomWeights(layout, o, 2, 3, rnd);
    double[] u = TestData.gaussian(rnd, batch * len * 2, 1.0);
    double[] dy = TestData.gaussian(rnd, batch * len * 2, 1.0);
    S4dLayer.Cache cache = layer.newCache(batch, len);
    double[] y = new double[u.length];
    layer.forward(w, u, 0, batch, len, y, 0, cache);
    double[] once = new double[layout.size()];
    double[] du = new double[u.length];
    layer.backward(w, once, dy, 0, batch, len, du, 0, cache);
    double[] twice = new double[layout.size()];
    double[] du2 = new double[u.length];
    Arrays.fill(du2, 123.0);
    layer.backward(w, twice, dy, 0, batch, len, du2, 0, cache);
    layer.backward(w, twice, dy, 0, batch, len, du2, 0, cache);
    for (int i = 0; i < once.length; i++) {
      Tolerances.assertClose("gw twice [" + i + "]", 2 * once[i], twice[i], Tolerances.F64);
    }
    Tolerances.assertClose("du overwritten", du, du2, Tolerances.F64);
  }

  @Test
  void backwardIsIndependentOfChunkSize() {
    SplittableRandom rnd = new SplittableRandom(31);
    int H = 3;
    int batch = 2;
    for (int len : new int[] {1, 33, 97}) {
      int M = len == 33 ? 8 : 5; // 8 modes also reach the Vector API forward
      double[] refGw = null;
      double[] refDu = null;
      double[] refY = null;
      double[] w = null;
      double[] u = null;
      double[] dy = null;
      for (int chunk : new int[] {len + 50, 1, 2, 3, 7, 64, len}) {
        ParameterLayout layout = new ParameterLayout();
        S4dLayer layer = new S4dLayer(layout, "s4d", H, M, chunk);
        layout.freeze();
        if (w == null) {
          w = randomWeights(layout, Offsets.of(layout, "s4d"), H, M, rnd);
          u = TestData.gaussian(rnd, batch * len * H, 1.0);
          dy = TestData.gaussian(rnd, batch * len * H, 1.0);
        }
        S4dLayer.Cache cache = layer.newCache(batch, len);
        double[] y = new double[u.length];
        layer.forward(w, u, 0, batch, len, y, 0, cache);
        double[] gw = new double[layout.size()];
        double[] du = new double[u.length];
        layer.backward(w, gw, dy, 0, batch, len, du, 0, cache);
        if (refGw == null) {
          refGw = gw;
          refDu = du;
          refY = y;
        } else {
          String what = " (len " + len + ", chunk " + chunk + " vs one chunk)";
          Tolerances.assertClose("y" + what, refY, y, Tolerances.CHUNKED);
          Tolerances.assertClose("gw" + what, refGw, gw, Tolerances.CHUNKED);
          Tolerances.assertClose("du" + what, refDu, du, Tolerances.CHUNKED);
        }
      }
    }
  }

  @Test
  void adjointChunkedEqualsOneShot() {
    SplittableRandom rnd = new SplittableRandom(41);
    int H = 2;
    int M = 3;
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M, 8);
    layout.freeze();
    Offsets o = Offsets.of(layout, "s4d");
    int s2 = 2 * H * M;
    int accSize = 6 * H * M + H;
    for (int len : TestData.LENGTHS) {
      double[] w = randomWeights(layout, o, H, M, rnd);
      double[] u = TestData.gaussian(rnd, len * H, 1.0);
      double[] dy = TestData.gaussian(rnd, len * H, 1.0);
      S4dLayer.Cache cache = layer.newCache(1, len);
      layer.forward(w, u, 0, 1, len, new double[len * H], 0, cache); // discretizes into the cache

      // One shot: every state, then the adjoint over the whole sequence.
      double[] states = new double[(len + 1) * s2];
      layer.chunkStates(cache, new double[s2], 0, u, 0, len, states);
      double[] g = new double[s2];
      double[] acc = new double[accSize];
      double[] du = new double[len * H];
      layer.adjointChunk(cache, states, u, 0, dy, 0, len, du, 0, g, acc);

      // The layer's own backward gives the same du (it chains acc on into gw).
      double[] duLayer = new double[len * H];
      layer.backward(w, new double[layout.size()], dy, 0, 1, len, duLayer, 0, cache);
      Tolerances.assertClose("du one-shot adjoint vs backward (len " + len + ")", duLayer, du, Tolerances.CHUNKED);

      int[][] cutLists = {TestData.randomCuts(rnd, len, 6), TestData.randomCuts(rnd, len, 20),
          TestData.fixedCuts(len, 1), TestData.fixedCuts(len, 5), TestData.fixedCuts(len, len + 3)};
      for (int[] cuts : cutLists) {
        int pieces = cuts.length - 1;
        // Forward over the pieces, keeping only each piece's start state (what the layer saves).
        double[] starts = new double[pieces * s2];
        double[] h = new double[s2];
        double[] work = new double[(len + 1) * s2];
        for (int k = 0; k < pieces; k++) {
          int steps = cuts[k + 1] - cuts[k];
          System.arraycopy(h, 0, starts, k * s2, s2);
          layer.chunkStates(cache, h, 0, u, cuts[k] * H, steps, work);
          System.arraycopy(work, steps * s2, h, 0, s2);
        }
        // Backward over the pieces in reverse, carrying g.
        double[] gc = new double[s2];
        double[] accC = new double[accSize];
        double[] duC = new double[len * H];
        for (int k = pieces - 1; k >= 0; k--) {
          int steps = cuts[k + 1] - cuts[k];
          layer.chunkStates(cache, starts, k * s2, u, cuts[k] * H, steps, work);
          layer.adjointChunk(cache, work, u, cuts[k] * H, dy, cuts[k] * H, steps, duC, cuts[k] * H, gc, accC);
        }
        String what = " (len " + len + ", cuts " + Arrays.toString(cuts) + ")";
        Tolerances.assertClose("du chunked" + what, du, duC, Tolerances.CHUNKED);
        Tolerances.assertClose("discrete gradients chunked" + what, acc, accC, Tolerances.CHUNKED);
        Tolerances.assertClose("carried adjoint chunked" + what, g, gc, Tolerances.CHUNKED);
      }
    }
  }

  @Test
  void carriedAdjointIsTheGradientOfTheInitialState() {
    // g on return from the first chunk is ∂L/∂h_{-1}: a nonzero initial state h0 enters
    // y_t as 2 Re Σ C Ā^{t+1} h0, so perturbing h0 through chunkStates + readout checks it.
    SplittableRandom rnd = new SplittableRandom(42);
    int H = 2;
    int M = 2;
    int len = 7;
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M, 3);
    layout.freeze();
    Offsets o = Offsets.of(layout, "s4d");
    double[] w = randomWeights(layout, o, H, M, rnd);
    double[] u = TestData.gaussian(rnd, len * H, 1.0);
    double[] dy = TestData.gaussian(rnd, len * H, 1.0);
    S4dLayer.Cache cache = layer.newCache(1, len);
    layer.forward(w, u, 0, 1, len, new double[len * H], 0, cache);
    int s2 = 2 * H * M;
    double[] h0 = TestData.gaussian(rnd, s2, 1.0);
    double[] states = new double[(len + 1) * s2];
    double[] g = new double[s2];
    layer.chunkStates(cache, h0, 0, u, 0, len, states);
    layer.adjointChunk(cache, states, u, 0, dy, 0, len, new double[len * H], 0, g, new double[6 * H * M + H]);
    DoubleSupplier loss = () -> {
      layer.chunkStates(cache, h0, 0, u, 0, len, states);
      double l = 0;
      for (int t = 0; t < len; t++) {
        for (int d = 0; d < H; d++) {
          double yt = w[o.d + d] * u[t * H + d];
          for (int n = 0; n < M; n++) {
            int i = d * M + n;
            yt += 2 * (w[o.c + 2 * i] * states[(t + 1) * s2 + i] - w[o.c + 2 * i + 1] * states[(t + 1) * s2 + H * M + i]);
          }
          l += dy[t * H + d] * yt;
        }
      }
      return l;
    };
    GradientCheck.check("dL/dh_{-1}", h0, g, loss, 100, rnd);
  }

  // ---- convolution mode -------------------------------------------------------------------

  /** One forward and backward of a layer: y, du, gw (accumulated into zeros). */
  private record Pass(double[] y, double[] du, double[] gw) {
    static Pass run(S4dLayer layer, int size, double[] w, double[] u, double[] dy, int batch, int len) {
      S4dLayer.Cache cache = layer.newCache(batch, len);
      double[] y = new double[u.length];
      layer.forward(w, u, 0, batch, len, y, 0, cache);
      double[] gw = new double[size];
      double[] du = new double[u.length];
      Arrays.fill(du, Double.NaN); // overwritten
      layer.backward(w, gw, dy, 0, batch, len, du, 0, cache);
      return new Pass(y, du, gw);
    }
  }

  @Test
  void convolutionModeEqualsRecurrentMode() {
    SplittableRandom rnd = new SplittableRandom(71);
    for (int len : new int[] {1, 7, 33, 96}) {
      for (int batch = 1; batch <= 3; batch++) {
        for (int rep = 0; rep < 3; rep++) {
          int H = 1 + rnd.nextInt(3);
          int M = 1 + rnd.nextInt(9);
          int chunk = 1 + rnd.nextInt(40);
          ParameterLayout layout = new ParameterLayout();
          S4dLayer rec = new S4dLayer(layout, "s4d", H, M, chunk);
          ParameterLayout convLayout = new ParameterLayout();
          S4dLayer conv = new S4dLayer(convLayout, "s4d", H, M, chunk, S4dLayer.Mode.CONVOLUTION);
          layout.freeze();
          convLayout.freeze();
          assertEquals(layout.fingerprint(), convLayout.fingerprint(), "same parameters in both modes");
          double[] w = randomWeights(layout, Offsets.of(layout, "s4d"), H, M, rnd); // Δ in 1e-3..1
          if (rep == 2) {
            rec.init(w, rnd);
          }
          double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
          double[] dy = TestData.gaussian(rnd, batch * len * H, 1.0);
          Pass r = Pass.run(rec, layout.size(), w, u, dy, batch, len);
          Pass c = Pass.run(conv, layout.size(), w, u, dy, batch, len);
          String what = String.format(java.util.Locale.ROOT, " (H %d, M %d, batch %d, len %d, chunk %d%s)", H, M,
              batch, len, chunk, rep == 2 ? ", at init" : "");
          Tolerances.assertClose("y convolution vs recurrent" + what, r.y, c.y, Tolerances.F64);
          Tolerances.assertClose("du convolution vs recurrent" + what, r.du, c.du, Tolerances.F64);
          Tolerances.assertClose("gw convolution vs recurrent" + what + " " + layout.tensors(), r.gw, c.gw,
              Tolerances.F64);
        }
      }
    }
  }

  @Test
  void convolutionGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(72);
    int[][] shapes = {{1, 1, 1, 1}, {2, 3, 2, 7}, {3, 2, 2, 33}, {1, 9, 3, 20}}; // H, M, batch, len
    for (int[] s : shapes) {
      for (boolean atInit : new boolean[] {false, true}) {
        int H = s[0];
        int M = s[1];
        int batch = s[2];
        int len = s[3];
        ParameterLayout layout = new ParameterLayout();
        S4dLayer layer = new S4dLayer(layout, "s4d", H, M, 4, S4dLayer.Mode.CONVOLUTION);
        layout.freeze();
        double[] w = randomWeights(layout, Offsets.of(layout, "s4d"), H, M, rnd);
        if (atInit) {
          layer.init(w, rnd);
        }
        double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
        double[] r = TestData.gaussian(rnd, batch * len * H, 1.0);
        double[] y = new double[u.length];
        S4dLayer.Cache lossCache = layer.newCache(batch, len);
        DoubleSupplier loss = () -> {
          layer.forward(w, u, 0, batch, len, y, 0, lossCache);
          return GradientCheck.dot(r, y, 0);
        };
        Pass p = Pass.run(layer, layout.size(), w, u, r, batch, len);
        String what = String.format(java.util.Locale.ROOT, "convolution H %d, M %d, batch %d, len %d%s, tensors %s", H,
            M, batch, len, atInit ? ", at init" : "", layout.tensors());
        GradientCheck.check("gw (" + what + ")", w, p.gw, loss, 10_000, rnd);
        GradientCheck.check("du (" + what + ")", u, p.du, loss, 10_000, rnd);
      }
    }
  }

  @Test
  void convolutionModeMayRunInPlaceAndMatchesTheNaiveTwin() {
    SplittableRandom rnd = new SplittableRandom(73);
    int H = 3;
    int M = 4;
    int batch = 2;
    int len = 13;
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M, S4dLayer.DEFAULT_CHUNK, S4dLayer.Mode.CONVOLUTION);
    layout.freeze();
    assertEquals(S4dLayer.Mode.CONVOLUTION, layer.mode());
    Offsets o = Offsets.of(layout, "s4d");
    double[] w = randomWeights(layout, o, H, M, rnd);
    double[] u = TestData.gaussian(rnd, batch * len * H, 1.0);
    double[] dy = TestData.gaussian(rnd, batch * len * H, 1.0);
    Pass ref = Pass.run(layer, layout.size(), w, u, dy, batch, len);
    Tolerances.assertClose("y vs the naive twin", naiveForward(w, o, H, M, u, batch, len), ref.y, Tolerances.F64);

    S4dLayer.Cache cache = layer.newCache(batch + 1, len); // a larger cache serves fewer sequences
    double[] inPlace = u.clone();
    layer.forward(w, inPlace, 0, batch, len, inPlace, 0, cache);
    Tolerances.assertClose("y in place", ref.y, inPlace, Tolerances.F64);
    double[] gw = new double[layout.size()];
    double[] g = dy.clone();
    layer.backward(w, gw, g, 0, batch, len, g, 0, cache); // du over dy
    Tolerances.assertClose("du in place", ref.du, g, Tolerances.F64);
    Tolerances.assertClose("gw with du in place", ref.gw, gw, Tolerances.F64);
    layer.backward(w, gw, dy, 0, batch, len, new double[u.length], 0, cache);
    for (int i = 0; i < gw.length; i++) {
      Tolerances.assertClose("gw accumulates [" + i + "]", 2 * ref.gw[i], gw[i], Tolerances.F64);
    }
  }

  @Test
  void convolutionKernelsVectorPathMatchesScalarTwin() {
    assumeTrue(VectorSupport.ENABLED, "Vector API not in the boot layer");
    SplittableRandom rnd = new SplittableRandom(74);
    for (int H : new int[] {1, 3, 8, 13, 64}) {
      for (int len : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 13, 33}) {
        int n = len * H;
        double[] kern = TestData.gaussian(rnd, n + 2, 1.0);
        double[] u = TestData.gaussian(rnd, n + 5, 1.0);
        double[] skip = TestData.gaussian(rnd, H, 1.0);
        String what = " (H " + H + ", len " + len + ")";

        double[] expected = new double[n + 1];
        S4dLayer.convolveScalar(kern, 2, u, 5, skip, expected, 1, len, H, 0);
        double[] y = new double[n + 1];
        int d = S4dConvolutionVector.convolve(kern, 2, u, 5, skip, y, 1, len, H);
        S4dLayer.convolveScalar(kern, 2, u, 5, skip, y, 1, len, H, d);
        Tolerances.assertClose("convolve vector vs scalar" + what, expected, y, Tolerances.F64);

        for (boolean withSkip : new boolean[] {false, true}) {
          double[] sk = withSkip ? skip : null;
          for (boolean accumulate : new boolean[] {false, true}) {
            double[] start = TestData.gaussian(rnd, n + 3, 1.0);
            double[] ref = start.clone();
            S4dLayer.correlateScalar(kern, 2, u, 5, sk, ref, 3, len, H, accumulate, 0);
            double[] c = start.clone();
            d = S4dConvolutionVector.correlate(kern, 2, u, 5, sk, c, 3, len, H, accumulate);
            S4dLayer.correlateScalar(kern, 2, u, 5, sk, c, 3, len, H, accumulate, d);
            String how = what + (withSkip ? " skip" : "") + (accumulate ? " +=" : "");
            Tolerances.assertClose("correlate vector vs scalar" + how, ref, c, Tolerances.F64);
          }
          // In place, c over b at the same offset.
          double[] ref = new double[n];
          S4dLayer.correlateScalar(kern, 2, u, 5, sk, ref, 0, len, H, false, 0);
          double[] b = u.clone();
          double[] scalarInPlace = u.clone();
          d = S4dConvolutionVector.correlate(kern, 2, b, 5, sk, b, 5, len, H, false);
          S4dLayer.correlateScalar(kern, 2, b, 5, sk, b, 5, len, H, false, d);
          S4dLayer.correlateScalar(kern, 2, scalarInPlace, 5, sk, scalarInPlace, 5, len, H, false, 0);
          Tolerances.assertClose("correlate in place" + what, ref, 0, b, 5, n, Tolerances.F64);
          Tolerances.assertClose("correlate scalar in place" + what, ref, 0, scalarInPlace, 5, n, Tolerances.F64);
        }
      }
    }
  }

  // ---- init and arguments -----------------------------------------------------------------

  @Test
  void initIsS4dLin() {
    int H = 64;
    int M = 32;
    ParameterLayout layout = new ParameterLayout();
    S4dLayer layer = new S4dLayer(layout, "s4d", H, M);
    layout.freeze();
    assertEquals(S4dLayer.DEFAULT_CHUNK, layer.chunk());
    assertEquals(S4dLayer.Mode.RECURRENT, layer.mode());
    assertEquals(2 * H + 6 * H * M, layout.size());
    Offsets o = Offsets.of(layout, "s4d");
    double[] w = new double[layout.size()];
    layer.init(w, new SplittableRandom(51));
    double[] again = new double[layout.size()];
    layer.init(again, new SplittableRandom(51));
    assertTrue(Arrays.equals(w, again), "init is seeded");
    double cVar = 0;
    double dVar = 0;
    for (int d = 0; d < H; d++) {
      double logDt = w[o.logDt + d];
      assertTrue(logDt >= Math.log(1e-3) && logDt <= Math.log(0.1), "log_dt in [log 0.001, log 0.1], got " + logDt);
      dVar += w[o.d + d] * w[o.d + d];
      for (int n = 0; n < M; n++) {
        int i = d * M + n;
        assertEquals(Math.log(0.5), w[o.logAReal + i], 1e-15, "log_A_real");
        assertEquals(Math.PI * n, w[o.aImag + i], 1e-12, "A_imag");
        assertEquals(1.0, w[o.b + 2 * i], 0.0, "Re B");
        assertEquals(0.0, w[o.b + 2 * i + 1], 0.0, "Im B");
        cVar += w[o.c + 2 * i] * w[o.c + 2 * i] + w[o.c + 2 * i + 1] * w[o.c + 2 * i + 1];
      }
    }
    Tolerances.assertClose("variance per part of C", 0.5, cVar / (2 * H * M), Tolerances.SAMPLE_STATISTIC);
    Tolerances.assertClose("variance of D", 1.0, dVar / H, new Tolerances.Tolerance(0, 0.4)); // 64 draws
  }

  @Test
  void badArgumentsFailNamingTheParameter() {
    ParameterLayout layout = new ParameterLayout();
    assertFails("H", () -> new S4dLayer(layout, "a", 0, 2, 4));
    assertFails("modes", () -> new S4dLayer(layout, "b", 2, 0, 4));
    assertFails("chunk", () -> new S4dLayer(layout, "c", 2, 2, 0));
    assertFails("layout", () -> new S4dLayer(null, "d", 2, 2, 4));
    assertFails("mode", () -> new S4dLayer(layout, "e", 2, 2, 4, null));
    S4dLayer layer = new S4dLayer(layout, "s4d", 2, 3, 4);
    layout.freeze();
    assertFails("batch", () -> layer.newCache(0, 5));
    assertFails("len", () -> layer.newCache(2, 0));
    double[] w = new double[layout.size()];
    layer.init(w, new SplittableRandom(61));
    S4dLayer.Cache cache = layer.newCache(2, 5);
    double[] u = new double[2 * 5 * 2];
    double[] y = new double[u.length];
    assertFails("cache", () -> layer.forward(w, u, 0, 2, 6, y, 0, cache));
    assertFails("cache", () -> layer.backward(w, new double[w.length], u, 0, 2, 5, y, 0, cache)); // no forward yet
    assertFails("u", () -> layer.forward(w, new double[3], 0, 2, 5, y, 0, cache));
    assertFails("y", () -> layer.forward(w, u, 0, 2, 5, y, 1, cache));
    assertFails("w", () -> layer.forward(new double[3], u, 0, 2, 5, y, 0, cache));
    layer.forward(w, u, 0, 2, 5, y, 0, cache);
    assertFails("gw", () -> layer.backward(w, new double[1], u, 0, 2, 5, y, 0, cache));
    assertFails("du", () -> layer.backward(w, new double[w.length], u, 0, 2, 5, new double[4], 0, cache));
    ParameterLayout other = new ParameterLayout();
    S4dLayer twin = new S4dLayer(other, "s4d", 2, 3, 4);
    assertFails("cache", () -> twin.forward(w, u, 0, 2, 5, y, 0, cache));
  }

  private static void assertFails(String name, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, "expected a failure naming " + name);
    assertTrue(e.getMessage().contains(name), "message should name '" + name + "': " + e.getMessage());
  }
}
