package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.Tolerances;

/** AdamW against the paper's update written out naively, clipping, schedules and losses. */
class OptimizerTest {
  @Test
  void adamWMatchesTheDecoupledUpdateStepByStep() {
    ParameterLayout layout = new ParameterLayout();
    layout.add("w", 2, 3); // a matrix: decayed
    layout.add("b", 3); // a vector: not decayed
    layout.freeze();
    SplittableRandom rnd = new SplittableRandom(1);
    double[] theta = GradientCheck.gaussian(rnd, 9, 1);
    double[] ref = theta.clone();
    double[] m = new double[9];
    double[] v = new double[9];
    double b1 = 0.9;
    double b2 = 0.999;
    double eps = 1e-8;
    double wd = 0.05;
    AdamW adam = AdamW.standard(layout, wd);
    for (int t = 1; t <= 5; t++) {
      double lr = 0.01 * t;
      double[] g = GradientCheck.gaussian(rnd, 9, 1);
      adam.step(theta, g, lr);
      for (int i = 0; i < 9; i++) {
        if (i < 6) {
          ref[i] -= lr * wd * ref[i];
        }
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        double mhat = m[i] / (1 - Math.pow(b1, t));
        double vhat = v[i] / (1 - Math.pow(b2, t));
        ref[i] -= lr * mhat / (Math.sqrt(vhat) + eps);
      }
      Tolerances.assertClose("theta after step " + t, ref, theta, Tolerances.F64);
    }
    // State round trip: a restored optimizer continues identically.
    AdamW copy = AdamW.standard(layout, wd);
    copy.restore(adam.state());
    double[] g = GradientCheck.gaussian(rnd, 9, 1);
    double[] a = theta.clone();
    double[] b = theta.clone();
    adam.step(a, g, 0.01);
    copy.step(b, g, 0.01);
    assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(b));
    assertEquals(6, copy.steps());
  }

  @Test
  void adamWMinimizesAQuadratic() {
    ParameterLayout layout = new ParameterLayout();
    layout.add("x", 4);
    double[] x = {5, -3, 2, 8};
    double[] target = {1, 2, 3, 4};
    AdamW adam = AdamW.standard(layout, 0);
    double[] g = new double[4];
    for (int s = 0; s < 3000; s++) {
      for (int i = 0; i < 4; i++) {
        g[i] = 2 * (x[i] - target[i]);
      }
      adam.step(x, g, 0.05 * (1 - s / 3000.0));
    }
    Tolerances.assertClose("argmin", target, x, new Tolerances.Tolerance(1e-3, 0));
  }

  @Test
  void clippingScalesToTheMaximumNorm() {
    double[] g = {3, 4};
    assertEquals(5.0, AdamW.clipGlobalNorm(g, 1.0), 0.0);
    assertEquals(1.0, Math.hypot(g[0], g[1]), 1e-6);
    assertEquals(0.6, g[0] / Math.hypot(g[0], g[1]), 1e-12, "direction kept");
    double[] small = {0.3, 0.4};
    AdamW.clipGlobalNorm(small, 1.0);
    assertEquals(0.3, small[0], 0.0, "below the maximum: unchanged");
    double[] none = {30, 40};
    assertEquals(50.0, AdamW.clipGlobalNorm(none, 0), 0.0);
    assertEquals(30.0, none[0], 0.0, "0: measure only");
  }

  @Test
  void schedulesFollowTheirFormulas() {
    LearningRate cos = new LearningRate(LearningRate.Kind.COSINE, 1.0, 10, 110, 20, 0.0);
    assertEquals(0.1, cos.at(0), 1e-15);
    assertEquals(1.0, cos.at(9), 1e-15);
    assertEquals(1.0, cos.at(10), 1e-15);
    assertEquals(0.5, cos.at(60), 1e-12);
    assertEquals(0.0, cos.at(110), 1e-15);
    LearningRate step = new LearningRate(LearningRate.Kind.STEP, 1e-3, 0, 0, 100, 0);
    assertEquals(1e-3, step.at(99), 0.0);
    assertEquals(5e-4, step.at(100), 0.0);
    assertEquals(2.5e-4, step.at(250), 0.0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LearningRate(LearningRate.Kind.COSINE, -1, 0, 1, 1, 0));
    assertTrue(e.getMessage().contains("learning rate"), e.getMessage());
  }

  @Test
  void lossGradientsMatchFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (Loss loss : new Loss[] {Loss.mse(), Loss.mae(), Loss.huber(0.5)}) {
      double[] p = GradientCheck.gaussian(rnd, 30, 1);
      double[] y = GradientCheck.gaussian(rnd, 30, 1);
      for (int i = 0; i < 30; i++) {
        if (Math.abs(p[i] - y[i]) < 1e-3 || Math.abs(Math.abs(p[i] - y[i]) - 0.5) < 1e-3) {
          p[i] += 0.01; // away from the kinks
        }
      }
      double[] g = new double[30];
      loss.sum(p, 0, y, 0, 30, 0.5, g, 0);
      GradientCheck.check(loss.toString(), p, g, () -> 0.5 * loss.sum(p, 0, y, 0, 30, 1, null, 0), 30, rnd);
    }
    assertEquals(4.0 + 1.0, Loss.mse().sum(new double[] {2, 1}, 0, new double[] {0, 0}, 0, 2, 1, null, 0), 0.0);
    assertEquals(0.5 * 0.25 + 0.5 * (3 - 0.25), Loss.huber(0.5).sum(new double[] {0.5, 3}, 0, new double[2], 0, 2, 1,
        null, 0), 1e-15);
    assertEquals("huber:0.5", Loss.parse("Huber:0.5").toString());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Loss.parse("l3"));
    assertTrue(e.getMessage().contains("'l3'"), e.getMessage());
  }
}
