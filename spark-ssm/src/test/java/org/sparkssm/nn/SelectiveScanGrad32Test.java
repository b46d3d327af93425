package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link SelectiveScanGrad}'s float32 mode: forward and backward against the float64 scan of the
 * same inputs within {@link Tolerances#F32_SCAN_GRAD} (and visibly not float64), the Vector API
 * path against its scalar twin {@link SelectiveScanGrad32}, pieces and chunk sizes against the
 * one-shot scan, and the tape's precision check.
 */
class SelectiveScanGrad32Test {
  /**
   * D, N, G, L, batch, chunk: chunks shorter than, equal to and longer than L, L not a multiple of
   * the chunk, groups > 1. Groups of 16 or more channels run on the Vector API when it is enabled
   * (with tail channels past the last full vector: 20, 40 / 2, 33 at 8 lanes), the others the
   * scalar path; the last two are the benchmark's shapes, shortened.
   */
  private static final int[][] SHAPES = {
      {1, 1, 1, 1, 1, 1}, {3, 2, 1, 7, 2, 3}, {6, 4, 3, 13, 2, 5}, {16, 4, 1, 33, 2, 7}, {20, 3, 1, 9, 1, 4},
      {40, 5, 2, 50, 3, 16}, {33, 2, 1, 24, 2, 24}, {128, 16, 1, 7, 8, 64}, {64, 16, 1, 300, 2, 64}};

  /** Inputs and parameters of one problem, in doubles (not float-representable: the scan rounds them). */
  private static final class Problem {
    final int D;
    final int N;
    final int G;
    final int len;
    final int batch;
    final double[] p;
    final double[] u;
    final double[] delta;
    final double[] B;
    final double[] C;
    final double[] z;
    final double[] dy;

    /**
     * {@code mamba}: Δ = softplus(δ + bias) log-uniform in about [1e-3, 0.1] (Mamba's dt_init),
     * modes that remember hundreds of steps; otherwise Δ from about 0.002 to 24, across softplus's
     * threshold at 20 (as SelectiveScanGradTest). A = -exp(A_log) in [-4, -0.3] (or -(1..N) for mamba).
     */
    Problem(SplittableRandom rnd, int D, int N, int G, int len, int batch, boolean mamba) {
      this.D = D;
      this.N = N;
      this.G = G;
      this.len = len;
      this.batch = batch;
      int sd = batch * len * D;
      int sg = batch * len * G * N;
      p = new double[D * N + 2 * D];
      for (int i = 0; i < D * N; i++) {
        p[i] = mamba ? -(i % N + 1.0) : -Math.exp(Math.log(0.3) + (Math.log(4.0) - Math.log(0.3)) * rnd.nextDouble());
      }
      for (int d = 0; d < D; d++) {
        p[D * N + d] = TestData.gaussian(rnd);
        if (mamba) {
          double dt = Math.exp(Math.log(1e-3) + (Math.log(0.1) - Math.log(1e-3)) * rnd.nextDouble());
          p[D * N + D + d] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹
        } else {
          p[D * N + D + d] = TestData.gaussian(rnd);
        }
      }
      u = TestData.gaussian(rnd, sd, 0.7);
      z = TestData.gaussian(rnd, sd, 1.5);
      B = TestData.gaussian(rnd, sg, 0.7);
      C = TestData.gaussian(rnd, sg, 0.7);
      dy = TestData.gaussian(rnd, sd, 1.0);
      delta = new double[sd];
      for (int i = 0; i < sd; i++) {
        double x;
        if (mamba) {
          x = 0.3 * TestData.gaussian(rnd) + p[D * N + D + i % D];
        } else if (rnd.nextInt(3) == 0) {
          x = -6 + 5 * rnd.nextDouble();
        } else if (rnd.nextBoolean()) {
          x = -1 + 4 * rnd.nextDouble();
        } else {
          x = 3 + 21 * rnd.nextDouble();
        }
        delta[i] = x - p[D * N + D + i % D];
      }
    }

    /** A tape of the scan with this problem's inputs and dy. */
    SelectiveScanGrad.Tape tape(SelectiveScanGrad scan) {
      SelectiveScanGrad.Tape t = scan.newTape(batch, len);
      System.arraycopy(u, 0, t.u, 0, u.length);
      System.arraycopy(delta, 0, t.delta, 0, delta.length);
      System.arraycopy(z, 0, t.z, 0, z.length);
      System.arraycopy(B, 0, t.B, 0, B.length);
      System.arraycopy(C, 0, t.C, 0, C.length);
      System.arraycopy(dy, 0, t.dy, 0, dy.length);
      return t;
    }

    /** Every output of one forward and backward: y, du, dδ, dz, dB, dC, gA, gD, gbias. */
    double[][] run(SelectiveScanGrad scan) {
      SelectiveScanGrad.Tape t = tape(scan);
      scan.forward(p, 0, t, batch, len);
      double[] gp = new double[scan.paramSize()];
      scan.backward(p, 0, gp, 0, t, batch, len);
      return outputs(t, gp);
    }

    double[][] outputs(SelectiveScanGrad.Tape t, double[] gp) {
      int dn = D * N;
      return new double[][] {t.y.clone(), t.du.clone(), t.dDelta.clone(), t.dz.clone(), t.dB.clone(), t.dC.clone(),
          Arrays.copyOfRange(gp, 0, dn), Arrays.copyOfRange(gp, dn, dn + D), Arrays.copyOfRange(gp, dn + D, dn + 2 * D)};
    }
  }

  private static final String[] OUTPUTS = {"y", "du", "dDelta", "dz", "dB", "dC", "gA", "gD", "gbias"};

  @Test
  void float32MatchesFloat64WithinTheToleranceAndIsNotFloat64() {
    SplittableRandom rnd = new SplittableRandom(31);
    for (int[] s : SHAPES) {
      for (boolean mamba : new boolean[] {false, true}) {
        Problem pr = new Problem(rnd, s[0], s[1], s[2], s[3], s[4], mamba);
        SelectiveScanGrad f32 = new SelectiveScanGrad(s[0], s[1], s[2], s[5], true);
        assertTrue(f32.float32());
        double[][] expected = pr.run(new SelectiveScanGrad(s[0], s[1], s[2], s[5]));
        double[][] actual = pr.run(f32);
        double[] errors = new double[OUTPUTS.length];
        for (int k = 0; k < OUTPUTS.length; k++) {
          errors[k] = Tolerances.assertCloseToRms(Arrays.toString(s) + (mamba ? " mamba " : " ") + OUTPUTS[k],
              expected[k], actual[k], Tolerances.F32_SCAN_GRAD);
        }
        // Computed in float32, not float64 rounded at the end: the outputs differ from float64
        // well beyond the rounding of the result alone (2^-25 relative).
        assertTrue(errors[0] > 1e-8, Arrays.toString(s) + ": y is float64's");
        assertTrue(errors[1] > 1e-8, Arrays.toString(s) + ": du is float64's");
      }
    }
  }

  /** A long Mamba-like sequence: the parameter gradients sum 4096 steps, in float64 across chunks. */
  @Test
  void longSequencesDoNotDrift() {
    SplittableRandom rnd = new SplittableRandom(32);
    Problem pr = new Problem(rnd, 32, 16, 1, 4096, 1, true);
    double[][] expected = pr.run(new SelectiveScanGrad(32, 16, 1, 64));
    double[][] actual = pr.run(new SelectiveScanGrad(32, 16, 1, 64, true));
    for (int k = 0; k < OUTPUTS.length; k++) {
      Tolerances.assertCloseToRms("L=4096 " + OUTPUTS[k], expected[k], actual[k], Tolerances.F32_SCAN_GRAD);
    }
  }

  @Test
  void vectorPathEqualsScalarTwin() {
    SplittableRandom rnd = new SplittableRandom(33);
    int[][] shapes = {{16, 3, 1}, {19, 4, 1}, {40, 2, 2}, {51, 5, 3}, {128, 16, 1}};
    for (int[] s : shapes) {
      int len = 11;
      SelectiveScanGrad vector = new SelectiveScanGrad(s[0], s[1], s[2], 4, true);
      SelectiveScanGrad scalar = new SelectiveScanGrad(s[0], s[1], s[2], 4, true, false);
      assertEquals(VectorSupport.ENABLED && s[0] / s[2] >= SelectiveScanGradVector32.lanes(), vector.vectorized(),
          "vector path taken when enabled and a group fills a vector");
      assertFalse(scalar.vectorized());
      Problem pr = new Problem(rnd, s[0], s[1], s[2], len, 2, false);
      double[][] v = pr.run(vector);
      double[][] sc = pr.run(scalar);
      for (int k = 0; k < OUTPUTS.length; k++) {
        String what = Arrays.toString(s) + " " + OUTPUTS[k];
        if (OUTPUTS[k].equals("dB") || OUTPUTS[k].equals("dC")) {
          // Sums over a group's channels: lane by lane on the vector path, channel by channel in the twin.
          Tolerances.assertCloseToRms(what, sc[k], v[k], Tolerances.F32_SUM_ORDER);
        } else {
          assertArrayEquals(sc[k], v[k], what + ": the scalar twin's bits");
        }
      }
    }
  }

  /**
   * Pieces of random lengths through forwardSteps / backwardSteps, and scans with other chunk
   * sizes, give the one-shot float32 bits, except gA, gD, gbias: those sum in float32 within a
   * piece and in float64 across pieces, so they differ by where the pieces end.
   */
  @Test
  void piecesAndChunkSizesEqualTheOneShotScan() {
    SplittableRandom rnd = new SplittableRandom(34);
    for (int trial = 0; trial < 12; trial++) {
      int len = 1 + rnd.nextInt(60);
      int G = 1 + rnd.nextInt(2);
      int D = (trial % 2 == 0 ? 3 : 17) * G; // odd trials: groups of 17 channels, the vector path
      int N = 1 + rnd.nextInt(5);
      int batch = 2;
      Problem pr = new Problem(rnd, D, N, G, len, batch, trial % 3 == 0);
      SelectiveScanGrad scan = new SelectiveScanGrad(D, N, G, len, true); // chunk = L: any piece fits
      double[][] oneShot = pr.run(scan);
      SelectiveScanGrad.Tape t = pr.tape(scan);
      double[] gp = new double[scan.paramSize()];
      int dn = D * N;
      for (int b = 0; b < batch; b++) {
        int[] cuts = TestData.randomCuts(rnd, len, 6);
        int pieces = cuts.length - 1;
        double[] before = new double[pieces * dn];
        double[] h = new double[dn];
        for (int k = 0; k < pieces; k++) {
          System.arraycopy(h, 0, before, k * dn, dn);
          scan.forwardSteps(pr.p, 0, t, batch, len, b, cuts[k], cuts[k + 1], h, 0);
        }
        double[] gh = new double[dn];
        for (int k = pieces - 1; k >= 0; k--) {
          scan.backwardSteps(pr.p, 0, gp, 0, t, batch, len, b, cuts[k], cuts[k + 1], before, k * dn, gh, 0);
        }
      }
      assertSameButParameterGradients("trial " + trial + " L=" + len + " pieces", oneShot, pr.outputs(t, gp));
      int chunk = 1 + rnd.nextInt(len);
      assertSameButParameterGradients("trial " + trial + " L=" + len + " chunk " + chunk, oneShot,
          pr.run(new SelectiveScanGrad(D, N, G, chunk, true)));
    }
  }

  private static void assertSameButParameterGradients(String what, double[][] expected, double[][] actual) {
    for (int k = 0; k < OUTPUTS.length; k++) {
      if (k < 6) {
        assertArrayEquals(expected[k], actual[k], what + " " + OUTPUTS[k]);
      } else {
        Tolerances.assertCloseToRms(what + " " + OUTPUTS[k], expected[k], actual[k], Tolerances.F32_SUM_ORDER);
      }
    }
  }

  @Test
  void aTapeWorksOnlyWithAScanOfItsPrecision() {
    SelectiveScanGrad f64 = new SelectiveScanGrad(4, 2, 1, 3);
    SelectiveScanGrad f32 = new SelectiveScanGrad(4, 2, 1, 3, true);
    assertFalse(f64.float32());
    assertTrue(f32.float32());
    SelectiveScanGrad.Tape tape64 = f64.newTape(2, 10);
    SelectiveScanGrad.Tape tape32 = f32.newTape(2, 10);
    assertFalse(tape64.float32());
    assertTrue(tape32.float32());
    double[] p = new double[f32.paramSize()];
    double[] gp = new double[f32.paramSize()];
    double[] h = new double[8];
    SelectiveScanGradTest.assertMessage("tape", () -> f32.forward(p, 0, tape64, 2, 10));
    SelectiveScanGradTest.assertMessage("tape", () -> f32.backward(p, 0, gp, 0, tape64, 2, 10));
    SelectiveScanGradTest.assertMessage("tape", () -> f64.forward(p, 0, tape32, 2, 10));
    SelectiveScanGradTest.assertMessage("tape", () -> f64.forwardSteps(p, 0, tape32, 2, 10, 0, 0, 3, h, 0));
    SelectiveScanGradTest.assertMessage("tape",
        () -> f32.backwardSteps(p, 0, gp, 0, tape64, 2, 10, 0, 0, 3, h, 0, h, 0));
  }
}
