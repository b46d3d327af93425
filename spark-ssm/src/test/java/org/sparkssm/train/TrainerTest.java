package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.nn.GradientCheck;
import org.sparkssm.nn.Loss;

/** The training loop on the smallest model: gradients, determinism, early stopping, bad input. */
class TrainerTest {
  /** Three channels of noisy sines with different periods and levels. */
  static double[][] sines(int rows, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[][] s = new double[3][rows];
    for (int t = 0; t < rows; t++) {
      s[0][t] = Math.sin(2 * Math.PI * t / 24) + 0.1 * GradientCheck.gaussian(rnd, 1, 1)[0];
      s[1][t] = 2 + 0.5 * Math.cos(2 * Math.PI * t / 12) + 0.1 * GradientCheck.gaussian(rnd, 1, 1)[0];
      s[2][t] = -1 + Math.sin(2 * Math.PI * t / 7) + 0.1 * GradientCheck.gaussian(rnd, 1, 1)[0];
    }
    return s;
  }

  private static TrainingConfig quick() {
    return TrainingConfig.defaults().withEpochs(3).withBatchSize(20).withThreads(1).withLearningRate(0.01)
        .withSeed(7);
  }

  @Test
  void shardGradientMatchesFiniteDifferencesOfTheBatchLoss() {
    double[][] s = sines(200, 1);
    LinearNet net = new LinearNet(16, 4, 3, 0, null);
    Windows win = Windows.of(s, 0, 200, 16, 4);
    double[] w = new double[net.layout().size()];
    net.init(w, 3);
    int[] order = {5, 17, 40, 99, 3};
    int[] positions = {0, 1, 2, 3, 4};
    Trainer.ShardGradient sg = new Trainer.ShardGradient(net, win);
    double[] g = new double[w.length];
    for (Loss loss : new Loss[] {Loss.mse(), Loss.huber(0.3)}) {
      java.util.Arrays.fill(g, 0);
      double scale = 1.0 / (5 * 4 * 3);
      sg.compute(w, order, positions, 0, 5, loss, scale, 1, g);
      double[] scratch = new double[w.length];
      GradientCheck.check("linear net " + loss, w, g,
          () -> scale * sg.compute(w, order, positions, 0, 5, loss, scale, 1, scratch), 60, new SplittableRandom(2));
    }
  }

  @Test
  void sameSeedGivesBitIdenticalWeightsWhateverTheThreads() {
    double[][] s = sines(400, 2);
    Windows train = Windows.of(s, 0, 300, 24, 6);
    Windows val = Windows.of(s, 300 - 24, 400, 24, 6);
    LinearNet net = new LinearNet(24, 6, 3, 0, null);
    Trainer.Result one = Trainer.train(net, train, val, quick().withThreads(1));
    Trainer.Result two = Trainer.train(net, train, val, quick().withThreads(2));
    Trainer.Result again = Trainer.train(net, train, val, quick().withThreads(3));
    assertArrayEquals(one.weights(), two.weights(), 0.0, "1 vs 2 threads");
    assertArrayEquals(one.weights(), again.weights(), 0.0, "1 vs 3 threads");
    Trainer.Result other = Trainer.train(net, train, val, quick().withSeed(8));
    assertTrue(!java.util.Arrays.equals(one.weights(), other.weights()), "another seed, other weights");
  }

  @Test
  void trainingLearnsAndKeepsTheBestValidationWeights() {
    double[][] s = sines(1200, 3);
    Windows train = Windows.of(s, 0, 800, 48, 12);
    Windows val = Windows.of(s, 800 - 48, 1000, 48, 12);
    LinearNet net = new LinearNet(48, 12, 3, 0, null);
    double[] w0 = new double[net.layout().size()];
    net.init(w0, 7);
    double before = Trainer.score(net, w0, val, 1)[0];
    Trainer.Result r = Trainer.train(net, train, val, quick().withEpochs(6).withPatience(0));
    double after = Trainer.score(net, r.weights(), val, 2)[0];
    assertTrue(after < 0.1 * before, "validation MSE " + before + " -> " + after);
    assertEquals(r.bestValidationMse(), after, 0.0, "the returned weights are the best epoch's");
    double min = Double.POSITIVE_INFINITY;
    for (Trainer.Epoch e : r.history()) {
      min = Math.min(min, e.validationMse());
    }
    assertEquals(min, r.bestValidationMse(), 0.0);
    assertEquals(7, r.history().size(), "epoch 0 (the starting weights) and 6 epochs");
    assertEquals(6, r.epochsTrained());
    assertEquals(before, r.history().get(0).validationMse(), 0.0);
    assertTrue(r.history().get(6).trainLoss() < r.history().get(1).trainLoss());
  }

  @Test
  void aNetworkStartingAsItsLinearSkipIsKeptWhenTrainingDoesNotHelp() {
    double[][] s = sines(400, 8);
    Windows train = Windows.of(s, 0, 300, 24, 6);
    Windows val = Windows.of(s, 300 - 24, 400, 24, 6);
    LinearNet net = new LinearNet(24, 6, 3, 0, DeepNetsTest.ridge(24, 6));
    double[] w0 = new double[net.layout().size()];
    net.init(w0, 7);
    double[] skipAlone = Trainer.score(net, w0, val, 1);
    // A learning rate far too large: every epoch is worse than the start, so epoch 0 is kept.
    Trainer.Result r = Trainer.train(net, train, val, quick().withLearningRate(5.0).withClipNorm(0));
    assertEquals(0, r.bestEpoch());
    assertArrayEquals(w0, r.weights(), 0.0);
    assertEquals(skipAlone[0], r.bestValidationMse(), 0.0);
  }

  @Test
  void patienceStopsEarly() {
    double[][] s = sines(600, 4);
    Windows train = Windows.of(s, 0, 400, 24, 6);
    // Validation on other data: once fitted, further epochs cannot keep improving it for long.
    double[][] other = sines(300, 99);
    for (double[] c : other) {
      for (int i = 0; i < c.length; i++) {
        c[i] = -c[i] * 3 + 1;
      }
    }
    Windows val = Windows.of(other, 0, 300, 24, 6);
    LinearNet net = new LinearNet(24, 6, 3, 0, null);
    Trainer.Result r = Trainer.train(net, train, val, quick().withEpochs(40).withPatience(1).withLearningRate(0.05));
    assertTrue(r.history().size() < 40, "stopped after " + r.history().size() + " epochs");
    assertTrue(r.history().size() >= r.bestEpoch() + 1);
  }

  @Test
  void windowsWithMissingValuesAreSkippedAndCounted() {
    double[][] s = sines(100, 5);
    s[1][50] = Double.NaN;
    s[2][10] = Double.POSITIVE_INFINITY;
    Windows w = Windows.of(s, 0, 100, 8, 2);
    // Windows covering row 50: starts 41..50 (10); row 10: starts 1..10 (10).
    assertEquals(20, w.skipped());
    assertEquals(91 - 20, w.size());
    Trainer.Result r = Trainer.train(new LinearNet(8, 2, 3, 0, null), w, w, quick());
    for (double v : r.weights()) {
      assertTrue(Double.isFinite(v));
    }
  }

  @Test
  void divergenceStopsNamingEpochAndStep() {
    double[][] s = sines(300, 6);
    for (double[] c : s) {
      for (int i = 0; i < c.length; i++) {
        c[i] *= 1e150; // squares overflow: the loss is infinite at the first step
      }
    }
    Windows w = Windows.of(s, 0, 300, 8, 2);
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> Trainer.train(new LinearNet(8, 2, 3, 0, null), w, w, quick()));
    assertTrue(e.getMessage().contains("epoch 1, step 1"), e.getMessage());
  }

  @Test
  void badSettingsFailBeforeAnyWorkNamingTheParameter() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> quick().withBatchSize(0));
    assertTrue(e.getMessage().contains("batch size"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> quick().withLearningRate(Double.NaN));
    assertTrue(e.getMessage().contains("learning rate"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> quick().withWeightDecay(-1));
    assertTrue(e.getMessage().contains("weight decay"), e.getMessage());
    double[][] s = sines(100, 7);
    Windows w = Windows.of(s, 0, 100, 8, 2);
    e = assertThrows(IllegalArgumentException.class, () -> Trainer.train(new LinearNet(9, 2, 3, 0, null), w, w, quick()));
    assertTrue(e.getMessage().contains("training windows: expected L=9"), e.getMessage());
    double[][] allNan = {new double[50]};
    java.util.Arrays.fill(allNan[0], Double.NaN);
    Windows none = Windows.of(allNan, 0, 50, 8, 2);
    e = assertThrows(IllegalArgumentException.class, () -> Trainer.train(new LinearNet(8, 2, 1, 0, null), none, none, quick()));
    assertTrue(e.getMessage().contains("skipped"), e.getMessage());
  }
}
