package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.SelectiveScan;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * The selective scan's backward against central finite differences ({@link GradientCheck}), its
 * chunked recomputation against the one-shot backward, the carried adjoint over random pieces, and
 * its forward against the inference kernel {@link SelectiveScan}.
 */
class SelectiveScanGradTest {
  /**
   * D, N, G, L, batch, chunk: L = 1 and odd L, chunks shorter than, equal to and longer than L.
   * Groups of at least 8 channels (the last three) run on the Vector API when it is enabled, with
   * scalar tail channels past the last full vector; the others run the scalar path.
   */
  private static final int[][] SHAPES = {
      {1, 1, 1, 1, 1, 1}, {3, 2, 1, 1, 2, 4}, {4, 3, 2, 7, 2, 3}, {6, 4, 3, 13, 2, 5}, {5, 3, 1, 33, 2, 7},
      {4, 2, 1, 8, 1, 8}, {19, 3, 1, 7, 2, 3}, {20, 2, 2, 9, 1, 4}, {16, 2, 1, 1, 2, 2}};

  /** Random inputs and parameters of one scan; A from A_log, as Mamba. */
  private static final class Problem {
    final SelectiveScanGrad scan;
    final SelectiveScanGrad.Tape tape;
    final int batch;
    final int len;
    final double[] aLog;
    final double[] dSkip;
    final double[] bias;
    final double[] p;

    Problem(SplittableRandom rnd, int D, int N, int G, int len, int batch, int chunk) {
      this(rnd, new SelectiveScanGrad(D, N, G, chunk), len, batch);
    }

    Problem(SplittableRandom rnd, SelectiveScanGrad scan, int len, int batch) {
      int D = scan.channels();
      int N = scan.stateSize();
      this.scan = scan;
      this.tape = scan.newTape(batch, len);
      this.batch = batch;
      this.len = len;
      aLog = TestData.uniform(rnd, D * N, Math.log(0.3), Math.log(4.0)); // A in [-4, -0.3]
      dSkip = TestData.gaussian(rnd, D, 1.0);
      bias = TestData.gaussian(rnd, D, 1.0);
      p = new double[scan.paramSize()];
      fillGaussian(rnd, tape.u, 0.7);
      fillGaussian(rnd, tape.z, 1.5);
      fillGaussian(rnd, tape.B, 0.7);
      fillGaussian(rnd, tape.C, 0.7);
      // δ + bias spans Δ from about 0.002 (x = -6) to 24: both sides of softplus's threshold at 20,
      // but never within 1e-3 of it, where torch's softplus jumps by 2e-9 and a difference quotient
      // across the jump would be meaningless.
      for (int i = 0; i < batch * len * D; i++) {
        int d = i % D;
        double x;
        switch (rnd.nextInt(3)) {
          case 0:
            x = -6 + 5 * rnd.nextDouble();
            break;
          case 1:
            x = -1 + 4 * rnd.nextDouble();
            break;
          default:
            do {
              x = 3 + 21 * rnd.nextDouble();
            } while (Math.abs(x - 20) < 1e-3);
            break;
        }
        tape.delta[i] = x - bias[d];
      }
      setParams();
    }

    void setParams() {
      int D = scan.channels();
      SelectiveScanGrad.aFromALog(aLog, 0, aLog.length, p, scan.aOffset());
      System.arraycopy(dSkip, 0, p, scan.dSkipOffset(), D);
      System.arraycopy(bias, 0, p, scan.deltaBiasOffset(), D);
    }

    double loss(double[] r) {
      setParams();
      scan.forward(p, 0, tape, batch, len);
      return GradientCheck.dot(r, tape.y, 0);
    }
  }

  private static void fillGaussian(SplittableRandom rnd, double[] a, double scale) {
    for (int i = 0; i < a.length; i++) {
      a[i] = scale * TestData.gaussian(rnd);
    }
  }

  private static double[] slice(double[] a, int off, int n) {
    return java.util.Arrays.copyOfRange(a, off, off + n);
  }

  @Test
  void everyGradientMatchesFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (int[] s : SHAPES) {
      int D = s[0];
      int N = s[1];
      int len = s[3];
      int batch = s[4];
      Problem pr = new Problem(rnd, D, N, s[2], len, batch, s[5]);
      SelectiveScanGrad.Tape tape = pr.tape;
      int steps = batch * len;
      double[] r = GradientCheck.gaussian(rnd, steps * D, 1.0);
      pr.loss(r);
      System.arraycopy(r, 0, tape.dy, 0, r.length);
      double[] gp = new double[pr.scan.paramSize()];
      pr.scan.backward(pr.p, 0, gp, 0, tape, batch, len);
      double[] gALog = new double[D * N];
      SelectiveScanGrad.accumulateALogGradient(gp, pr.scan.aOffset(), pr.p, pr.scan.aOffset(), D * N, gALog, 0);
      int n = steps * D;
      int nbc = steps * s[2] * N;
      double[] du = slice(tape.du, 0, n);
      double[] dDelta = slice(tape.dDelta, 0, n);
      double[] dz = slice(tape.dz, 0, n);
      double[] dB = slice(tape.dB, 0, nbc);
      double[] dC = slice(tape.dC, 0, nbc);
      DoubleSupplier f = () -> pr.loss(r);
      String what = java.util.Arrays.toString(s) + " ";
      GradientCheck.check(what + "u", tape.u, du, f, 400, rnd);
      GradientCheck.check(what + "delta", tape.delta, dDelta, f, 400, rnd);
      GradientCheck.check(what + "z", tape.z, dz, f, 400, rnd);
      GradientCheck.check(what + "B", tape.B, dB, f, 400, rnd);
      GradientCheck.check(what + "C", tape.C, dC, f, 400, rnd);
      GradientCheck.check(what + "A_log", pr.aLog, gALog, f, 400, rnd);
      GradientCheck.check(what + "D", pr.dSkip, slice(gp, pr.scan.dSkipOffset(), D), f, 400, rnd);
      GradientCheck.check(what + "delta bias", pr.bias, slice(gp, pr.scan.deltaBiasOffset(), D), f, 400, rnd);
    }
  }

  @Test
  void parameterGradientsAccumulateAndInputGradientsOverwrite() {
    SplittableRandom rnd = new SplittableRandom(12);
    Problem pr = new Problem(rnd, 4, 3, 2, 9, 2, 4);
    pr.loss(GradientCheck.gaussian(rnd, 1, 1.0)); // any forward
    fillGaussian(rnd, pr.tape.dy, 1.0);
    double[] once = new double[pr.scan.paramSize()];
    pr.scan.backward(pr.p, 0, once, 0, pr.tape, 2, 9);
    double[] du = pr.tape.du.clone();
    double[] dB = pr.tape.dB.clone();
    double[] twice = once.clone();
    pr.scan.backward(pr.p, 0, twice, 0, pr.tape, 2, 9);
    for (int i = 0; i < once.length; i++) {
      Tolerances.assertClose("gp[" + i + "] accumulates", 2 * once[i], twice[i], Tolerances.F64);
    }
    Tolerances.assertClose("du overwritten", du, pr.tape.du, Tolerances.F64);
    Tolerances.assertClose("dB overwritten", dB, pr.tape.dB, Tolerances.F64);
  }

  /** Every output of one forward and backward, for comparing runs. */
  private static double[][] run(SelectiveScanGrad scan, Problem pr, double[] dy) {
    SelectiveScanGrad.Tape t = scan.newTape(pr.batch, pr.len);
    copyInputs(pr.tape, t);
    scan.forward(pr.p, 0, t, pr.batch, pr.len);
    System.arraycopy(dy, 0, t.dy, 0, dy.length);
    double[] gp = new double[scan.paramSize()];
    scan.backward(pr.p, 0, gp, 0, t, pr.batch, pr.len);
    return new double[][] {t.y, t.du, t.dDelta, t.dz, t.dB, t.dC, gp};
  }

  private static void copyInputs(SelectiveScanGrad.Tape from, SelectiveScanGrad.Tape to) {
    System.arraycopy(from.u, 0, to.u, 0, from.u.length);
    System.arraycopy(from.delta, 0, to.delta, 0, from.delta.length);
    System.arraycopy(from.z, 0, to.z, 0, from.z.length);
    System.arraycopy(from.B, 0, to.B, 0, from.B.length);
    System.arraycopy(from.C, 0, to.C, 0, from.C.length);
  }

  private static final String[] OUTPUTS = {"y", "du", "dDelta", "dz", "dB", "dC", "gp"};

  @Test
  void chunkSizeDoesNotChangeTheResult() {
    SplittableRandom rnd = new SplittableRandom(13);
    for (int D : new int[] {5, 17}) { // the scalar path; the vector path with one tail channel
      for (int len : new int[] {1, 2, 17, 40}) {
        Problem pr = new Problem(rnd, D, 4, 1, len, 2, len);
        double[] dy = GradientCheck.gaussian(rnd, 2 * len * D, 1.0);
        double[][] oneShot = run(new SelectiveScanGrad(D, 4, 1, len + 5), pr, dy);
        for (int chunk : new int[] {1, 2, 7, len}) {
          double[][] chunked = run(new SelectiveScanGrad(D, 4, 1, chunk), pr, dy);
          for (int k = 0; k < OUTPUTS.length; k++) {
            Tolerances.assertClose("D=" + D + " L=" + len + " chunk=" + chunk + " " + OUTPUTS[k], oneShot[k],
                chunked[k], Tolerances.CHUNKED);
          }
        }
      }
    }
  }

  @Test
  void vectorPathEqualsScalarPath() {
    SplittableRandom rnd = new SplittableRandom(17);
    int[][] shapes = {{8, 3, 1}, {19, 4, 1}, {20, 2, 2}, {33, 5, 3}};
    for (int[] s : shapes) {
      int len = 11;
      SelectiveScanGrad vector = new SelectiveScanGrad(s[0], s[1], s[2], 4);
      SelectiveScanGrad scalar = new SelectiveScanGrad(s[0], s[1], s[2], 4, false, false);
      assertEquals(org.sparkssm.scan.VectorSupport.ENABLED, vector.vectorized(), "vector path taken when enabled");
      assertTrue(!scalar.vectorized());
      Problem pr = new Problem(rnd, vector, len, 2);
      double[] dy = GradientCheck.gaussian(rnd, 2 * len * s[0], 1.0);
      double[][] v = run(vector, pr, dy);
      double[][] sc = run(scalar, pr, dy);
      for (int k = 0; k < OUTPUTS.length; k++) {
        Tolerances.assertClose(java.util.Arrays.toString(s) + " " + OUTPUTS[k], sc[k], v[k], Tolerances.F64);
      }
    }
  }

  @Test
  void piecesWithACarriedAdjointEqualTheOneShotBackward() {
    SplittableRandom rnd = new SplittableRandom(14);
    for (int trial = 0; trial < 12; trial++) {
      int len = 1 + rnd.nextInt(40);
      int G = 1 + rnd.nextInt(2);
      int D = (trial % 2 == 0 ? 2 : 9) * G; // odd trials: groups of 9 channels, the vector path
      int N = 1 + rnd.nextInt(4);
      int batch = 2;
      Problem pr = new Problem(rnd, D, N, G, len, batch, len); // chunk = L: any piece fits the workspace
      double[] dy = GradientCheck.gaussian(rnd, batch * len * D, 1.0);
      double[][] oneShot = run(pr.scan, pr, dy);
      SelectiveScanGrad.Tape t = pr.tape;
      System.arraycopy(dy, 0, t.dy, 0, dy.length);
      double[] gp = new double[pr.scan.paramSize()];
      int dn = D * N;
      for (int b = 0; b < batch; b++) {
        int[] cuts = TestData.randomCuts(rnd, len, 6);
        int pieces = cuts.length - 1;
        // The forward piece by piece, keeping the state before each piece.
        double[] before = new double[pieces * dn];
        double[] h = new double[dn];
        for (int k = 0; k < pieces; k++) {
          System.arraycopy(h, 0, before, k * dn, dn);
          pr.scan.forwardSteps(pr.p, 0, t, batch, len, b, cuts[k], cuts[k + 1], h, 0);
        }
        double[] gh = new double[dn];
        for (int k = pieces - 1; k >= 0; k--) {
          pr.scan.backwardSteps(pr.p, 0, gp, 0, t, batch, len, b, cuts[k], cuts[k + 1], before, k * dn, gh, 0);
        }
      }
      double[][] pieced = {t.y, t.du, t.dDelta, t.dz, t.dB, t.dC, gp};
      for (int k = 0; k < OUTPUTS.length; k++) {
        Tolerances.assertClose("trial " + trial + " L=" + len + " " + OUTPUTS[k], oneShot[k], pieced[k],
            Tolerances.CHUNKED);
      }
    }
  }

  /**
   * With a nonzero initial state and a loss on the final state too, the adjoint carried in is
   * {@code ∂L/∂h_L} and the one carried out is the gradient of the initial state.
   */
  @Test
  void carriedAdjointIsTheGradientOfTheBoundaryStates() {
    SplittableRandom rnd = new SplittableRandom(15);
    for (int len : new int[] {1, 6, 5}) {
      int D = len == 5 ? 10 : 3;
      int N = 2;
      Problem pr = new Problem(rnd, D, N, 1, len, 1, len);
      double[] h0 = GradientCheck.gaussian(rnd, D * N, 1.0);
      double[] r = GradientCheck.gaussian(rnd, len * D, 1.0);
      double[] s = GradientCheck.gaussian(rnd, D * N, 1.0);
      double[] h = new double[D * N];
      DoubleSupplier f = () -> {
        pr.setParams();
        System.arraycopy(h0, 0, h, 0, D * N);
        pr.scan.forwardSteps(pr.p, 0, pr.tape, 1, len, 0, 0, len, h, 0);
        return GradientCheck.dot(r, pr.tape.y, 0) + GradientCheck.dot(s, h, 0);
      };
      f.getAsDouble();
      System.arraycopy(r, 0, pr.tape.dy, 0, r.length);
      double[] gh = s.clone();
      double[] gp = new double[pr.scan.paramSize()];
      pr.scan.backwardSteps(pr.p, 0, gp, 0, pr.tape, 1, len, 0, 0, len, h0, 0, gh, 0);
      double[] du = pr.tape.du.clone();
      double[] gBias = slice(gp, pr.scan.deltaBiasOffset(), D);
      GradientCheck.check("L=" + len + " h0", h0, gh, f, 100, rnd);
      GradientCheck.check("L=" + len + " u", pr.tape.u, du, f, 100, rnd);
      GradientCheck.check("L=" + len + " delta bias", pr.bias, gBias, f, 100, rnd);
    }
  }

  @Test
  void forwardEqualsTheInferenceScan() {
    SplittableRandom rnd = new SplittableRandom(16);
    // D = 16 fills a vector of any width: the inference kernel takes its Vector API path when enabled.
    int[][] shapes = {{3, 2, 1}, {6, 4, 3}, {16, 5, 1}, {16, 3, 2}};
    for (int[] s : shapes) {
      int D = s[0];
      int N = s[1];
      int G = s[2];
      int len = 23;
      Problem pr = new Problem(rnd, D, N, G, len, 2, 5);
      pr.scan.forward(pr.p, 0, pr.tape, 2, len);
      SelectiveScan.Params params = SelectiveScan.Params.fromALog(D, N, G, pr.aLog, pr.dSkip, pr.bias, true);
      double[] y = new double[2 * len * D];
      for (int b = 0; b < 2; b++) {
        SelectiveScan.scan(params, pr.tape.u, b * len * D, pr.tape.delta, b * len * D, pr.tape.B, b * len * G * N,
            pr.tape.C, b * len * G * N, pr.tape.z, b * len * D, y, b * len * D, len, new double[D * N]);
      }
      Tolerances.assertClose(java.util.Arrays.toString(s) + " y", y, pr.tape.y, Tolerances.F64);
    }
  }

  @Test
  void argumentsAreValidated() {
    SelectiveScanGrad scan = new SelectiveScanGrad(4, 2, 1, 3);
    SelectiveScanGrad.Tape tape = scan.newTape(2, 10);
    double[] p = new double[scan.paramSize()];
    double[] gp = new double[scan.paramSize()];
    double[] h = new double[8];
    assertMessage("G", () -> new SelectiveScanGrad(4, 2, 3, 3));
    assertMessage("chunk", () -> new SelectiveScanGrad(4, 2, 1, 0));
    assertMessage("tape", () -> new SelectiveScanGrad(4, 2, 1, 4).forward(p, 0, tape, 2, 10));
    assertMessage("tape", () -> scan.forward(p, 0, tape, 3, 10));
    assertMessage("tape", () -> scan.forward(p, 0, tape, 2, 11));
    assertMessage("p", () -> scan.forward(new double[3], 0, tape, 2, 10));
    assertMessage("gp", () -> scan.backward(p, 0, new double[3], 0, tape, 2, 10));
    assertMessage("t1 - t0", () -> scan.backwardSteps(p, 0, gp, 0, tape, 2, 10, 0, 0, 4, h, 0, h, 0));
    assertMessage("t0, t1", () -> scan.forwardSteps(p, 0, tape, 2, 10, 0, 5, 4, h, 0));
    assertMessage("b", () -> scan.forwardSteps(p, 0, tape, 2, 10, 2, 0, 4, h, 0));
    assertMessage("h0", () -> scan.backwardSteps(p, 0, gp, 0, tape, 2, 10, 0, 0, 3, new double[2], 0, h, 0));
  }

  static void assertMessage(String name, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(name), "expected a message naming '" + name + "', got: " + e.getMessage());
  }
}
