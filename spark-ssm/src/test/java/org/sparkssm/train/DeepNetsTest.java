package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.nn.GradientCheck;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.ParameterLayout;

/**
 * The forecasting networks end to end: every tensor's gradient (dropout on, masks fixed by the
 * seeds) against central differences of the batch loss, evaluation mode without dropout, batch
 * independence, and training that beats the untrained network.
 */
class DeepNetsTest {
  private static WindowModel[] small(int L, int H, int C, double dropout) {
    return new WindowModel[] {
        new SMambaNet(L, H, C, 6, 2, 3, 5, dropout, 0, null),
        new SMambaNet(L, H, C, 6, 1, 3, 5, dropout, 5, null),
        new S4dNet(L, H, C, 4, 2, 3, 5, dropout, 0, null),
        new S4dNet(L, H, C, 4, 1, 3, 5, dropout, 5, null),
        new LinearNet(L, H, C, 0, null),
        new LinearNet(L, H, C, 4, null),
        new SMambaNet(L, H, C, 6, 1, 3, 5, dropout, 4, ridge(L, H)),
        new LinearNet(L, H, C, 0, ridge(L, H))};
  }

  /** An nlinear forecaster with seeded weights, standing in for a fitted ridge skip. */
  static org.sparkssm.forecast.LinearForecaster ridge(int L, int H) {
    org.sparkssm.forecast.WindowFeatures f = org.sparkssm.forecast.ForecastModels.features("nlinear", L);
    SplittableRandom rnd = new SplittableRandom(L * 31L + H);
    return org.sparkssm.forecast.LinearForecaster.of(f, org.sparkssm.forecast.RidgeSolution.of(f.featureCount(), H,
        GradientCheck.gaussian(rnd, f.featureCount() * H, 0.3), GradientCheck.gaussian(rnd, H, 0.1), 1e-3));
  }

  @Test
  void everyTensorsGradientMatchesFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(11);
    int L = 7;
    int H = 3;
    int C = 3;
    int batch = 2;
    double[][] s = TrainerTest.sines(60, 5);
    Windows win = Windows.of(s, 0, 60, L, H);
    for (WindowModel net : small(L, H, C, 0.2)) {
      double[] w = new double[net.layout().size()];
      net.init(w, 5);
      for (int i = 0; i < w.length; i++) { // also moves the zero-initialized cycle
        w[i] += 0.05 * GradientCheck.gaussian(rnd, 1, 1)[0]; // off the init's symmetric points
      }
      Trainer.ShardGradient sg = new Trainer.ShardGradient(net, win);
      int[] order = {3, 30};
      int[] positions = {0, 1};
      double scale = 1.0 / (batch * H * C);
      double[] g = new double[w.length];
      sg.compute(w, order, positions, 0, batch, Loss.mse(), scale, 77, g);
      double[] scratch = new double[w.length];
      // Check a sample of indices in every tensor, so no tensor goes unchecked.
      for (ParameterLayout.Tensor t : net.layout().tensors()) {
        double[] view = w;
        int n = Math.min(t.size(), 6);
        for (int k = 0; k < n; k++) {
          int i = t.offset() + (int) ((long) k * t.size() / n);
          double saved = view[i];
          view[i] = saved + GradientCheck.H;
          double plus = scale * sg.compute(w, order, positions, 0, batch, Loss.mse(), scale, 77, scratch);
          view[i] = saved - GradientCheck.H;
          double minus = scale * sg.compute(w, order, positions, 0, batch, Loss.mse(), scale, 77, scratch);
          view[i] = saved;
          double fd = (plus - minus) / (2 * GradientCheck.H);
          double tol = GradientCheck.ABS + GradientCheck.REL * Math.max(Math.abs(fd), Math.abs(g[i]));
          assertEquals(fd, g[i], tol, net.describe() + " d/d " + t.name() + "[" + (i - t.offset()) + "]");
        }
      }
    }
  }

  @Test
  void evaluationIsDeterministicAndEachWindowIndependentOfItsBatch() {
    int L = 9;
    int H = 4;
    int C = 3;
    double[][] s = TrainerTest.sines(80, 6);
    Windows win = Windows.of(s, 0, 80, L, H);
    for (WindowModel net : small(L, H, C, 0.3)) {
      double[] w = new double[net.layout().size()];
      net.init(w, 9);
      double[] x = new double[3 * L * C];
      long[] rows = new long[3];
      for (int i = 0; i < 3; i++) {
        win.copy(10 * i, x, i * L * C, null, 0);
        rows[i] = win.start(10 * i);
      }
      double[] all = new double[3 * H * C];
      net.forward(w, x, rows, 3, all, net.workspace(3), null);
      double[] again = new double[3 * H * C];
      net.forward(w, x, rows, 3, again, net.workspace(4), null);
      assertArrayEquals(all, again, 0.0, net.describe());
      for (int i = 0; i < 3; i++) {
        double[] one = new double[H * C];
        net.forward(w, java.util.Arrays.copyOfRange(x, i * L * C, (i + 1) * L * C), new long[] {rows[i]}, 1, one, net.workspace(1), null);
        for (int k = 0; k < H * C; k++) {
          assertEquals(all[i * H * C + k], one[k], 1e-12 * (1 + Math.abs(one[k])), net.describe() + " window " + i);
        }
      }
    }
  }

  @Test
  void trainingBeatsTheUntrainedNetwork() {
    double[][] s = TrainerTest.sines(700, 7);
    int L = 24;
    int H = 6;
    Windows train = Windows.of(s, 0, 500, L, H);
    Windows val = Windows.of(s, 500 - L, 700, L, H);
    for (WindowModel net : new WindowModel[] {new SMambaNet(L, H, 3, 16, 1, 4, 16, 0.0, 0, null),
        new S4dNet(L, H, 3, 8, 1, 4, 8, 0.0, 0, null)}) {
      double[] w0 = new double[net.layout().size()];
      net.init(w0, 1);
      double before = Trainer.score(net, w0, val, 2)[0];
      Trainer.Result r = Trainer.train(net, train, val,
          TrainingConfig.defaults().withEpochs(3).withBatchSize(16).withLearningRate(3e-3).withSeed(1).withThreads(2));
      assertTrue(r.bestValidationMse() < 0.5 * before, net.describe() + ": " + before + " -> " + r.bestValidationMse());
    }
  }

  @Test
  void namesAndSettingsAreCheckedBeforeAnyWork() {
    assertEquals("smamba", DeepModels.named("SMamba").name());
    assertEquals(128, DeepModels.named("smamba").dModel());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeepModels.named("mamba9"));
    assertTrue(e.getMessage().contains("'mamba9'") && e.getMessage().contains("smamba"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new DeepModels("smamba", 0, 2, 16, 128, 0.1, 0, false));
    assertTrue(e.getMessage().contains("d_model"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new DeepModels("s4dnet", 8, 2, 16, 128, 1.5, 0, false));
    assertTrue(e.getMessage().contains("dropout"), e.getMessage());
  }
}
