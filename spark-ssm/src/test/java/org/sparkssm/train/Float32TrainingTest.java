package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.nn.GradientCheck;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.Precision;

/**
 * The networks computing in float32 ({@link WindowModel#computeIn}) against the same networks in
 * float64: the batch loss and every tensor's gradient within a stated bound, really different bits
 * (the mode is not ignored), training that is as deterministic as float64's and learns as well.
 */
class Float32TrainingTest {
  /**
   * Bound on {@code ‖g32 − g64‖ / ‖g64‖} per tensor. Every product rounds its operands to float32
   * and sums in float32 ({@code (k+2)·2⁻²⁴} relative per product, k ≤ 24 here), and the Mamba
   * blocks' scans run in float32 (Tolerances.F32_SCAN_GRAD) and so do the S4D layers' convolutions
   * and correlations (Tolerances.F32_S4D_CONV), a few layers deep: measured at most 1.2e-6 (a Mamba
   * block's dt_proj bias, whose gradient sums over every step; S4dNet at most 1.9e-7, an out
   * weight); the bound leaves a factor of 8.
   */
  private static final double GRADIENT_REL = 1e-5;

  /** Bound on the batch loss's relative difference: measured at most 1.9e-8, a factor of 10. */
  private static final double LOSS_REL = 2e-7;

  @Test
  void lossAndEveryTensorsGradientAreCloseToFloat64ButNotItsBits() {
    SplittableRandom rnd = new SplittableRandom(12);
    int L = 16;
    int H = 4;
    int C = 3;
    int batch = 3;
    double[][] s = TrainerTest.sines(90, 5);
    Windows win = Windows.of(s, 0, 90, L, H);
    WindowModel[] nets = {new SMambaNet(L, H, C, 8, 2, 4, 12, 0.2, 0, null),
        new SMambaNet(L, H, C, 8, 1, 4, 12, 0.0, 6, DeepNetsTest.ridge(L, H)),
        new S4dNet(L, H, C, 6, 2, 3, 8, 0.2, 0, null), new LinearNet(L, H, C, 4, null)};
    Precision[] modes = {Precision.FLOAT32, Precision.FLOAT32_STATE64};
    int[] order = {3, 30, 50};
    int[] positions = {0, 1, 2};
    double scale = 1.0 / (batch * H * C);
    for (WindowModel net : nets) {
      double[][] byMode = new double[modes.length][];
      double[] w = new double[net.layout().size()];
      net.init(w, 5);
      for (int i = 0; i < w.length; i++) {
        w[i] += 0.05 * GradientCheck.gaussian(rnd, 1, 1)[0]; // also moves the zero-initialized cycle
      }
      double[] g64 = new double[w.length];
      double loss64 = new Trainer.ShardGradient(net, win).compute(w, order, positions, 0, batch, Loss.mse(), scale,
          77, g64);
      for (Precision mode : modes) {
        Trainer.ShardGradient sg = new Trainer.ShardGradient(net, win);
        sg.computeIn(mode);
        double[] g32 = new double[w.length];
        double loss32 = sg.compute(w, order, positions, 0, batch, Loss.mse(), scale, 77, g32);
        byMode[mode.ordinal() - 1] = g32;
        String what = net.describe() + " in " + mode;
        assertEquals(loss64, loss32, LOSS_REL * Math.abs(loss64), what + ": loss");
        assertFalse(Arrays.equals(g64, g32), what + ": the gradient has float64's bits, so float32 was not used");
        for (org.sparkssm.nn.ParameterLayout.Tensor t : net.layout().tensors()) {
          double diff = 0;
          double norm = 0;
          for (int i = t.offset(); i < t.offset() + t.size(); i++) {
            diff += (g32[i] - g64[i]) * (g32[i] - g64[i]);
            norm += g64[i] * g64[i];
          }
          assertTrue(Math.sqrt(diff) <= GRADIENT_REL * Math.sqrt(norm) + 1e-12,
              what + " d/d " + t.name() + ": relative difference " + Math.sqrt(diff / norm));
        }
        // The same call again gives the same bits: the float32 scratch carries nothing over.
        double[] again = new double[w.length];
        sg.compute(w, order, positions, 0, batch, Loss.mse(), scale, 77, again);
        assertArrayEquals(g32, again, 0.0, what + ": a second call");
      }
      if (net instanceof SMambaNet) {
        assertFalse(Arrays.equals(byMode[0], byMode[1]), net.describe() + ": float32 and float32-state64 give the "
            + "same bits, so the scan's precision was not used");
      }
      if (net instanceof S4dNet) { // its S4D layers keep no state: the two float32 modes are one
        assertArrayEquals(byMode[0], byMode[1], 0.0, net.describe() + ": float32 vs float32-state64");
      }
    }
  }

  @Test
  void float32TrainingIsDeterministicWhateverTheThreadsAndLearnsAsFloat64Does() {
    double[][] s = TrainerTest.sines(700, 7);
    int L = 24;
    int H = 6;
    Windows train = Windows.of(s, 0, 500, L, H);
    Windows val = Windows.of(s, 500 - L, 700, L, H);
    SMambaNet net = new SMambaNet(L, H, 3, 16, 1, 4, 16, 0.0, 0, null);
    TrainingConfig cfg = TrainingConfig.defaults().withEpochs(3).withBatchSize(16).withLearningRate(3e-3)
        .withSeed(1);
    Trainer.Result f64 = Trainer.train(net, train, val, cfg.withThreads(2));
    Trainer.Result one = Trainer.train(net, train, val, cfg.withThreads(1).withPrecision(Precision.FLOAT32));
    Trainer.Result two = Trainer.train(net, train, val, cfg.withThreads(2).withPrecision(Precision.FLOAT32));
    assertArrayEquals(one.weights(), two.weights(), 0.0, "float32: 1 vs 2 threads");
    assertFalse(Arrays.equals(one.weights(), f64.weights()), "float32 trains other bits than float64");
    double[] w0 = new double[net.layout().size()];
    net.init(w0, 1);
    double before = Trainer.score(net, w0, val, 2)[0];
    assertTrue(one.bestValidationMse() < 0.5 * before, "float32 learns: " + before + " -> " + one.bestValidationMse());
    // Three epochs of AdamW amplify rounding differences, so only the outcome is compared.
    assertEquals(f64.bestValidationMse(), one.bestValidationMse(), 0.1 * f64.bestValidationMse(),
        "float32 vs float64 validation MSE");
  }

  @Test
  void precisionIsParsedNamingTheParameterAndDefaultsToFloat64() {
    assertEquals(Precision.FLOAT64, TrainingConfig.defaults().precision());
    assertEquals(Precision.FLOAT32_STATE64, Precision.parse("--precision", " Float32-State64 "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Precision.parse("--precision", "half"));
    assertEquals("--precision: expected float64, float32 or float32-state64, got 'half'", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TrainingConfig.defaults().withPrecision(null));
  }
}
