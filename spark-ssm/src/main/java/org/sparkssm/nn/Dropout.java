package org.sparkssm.nn;

import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * Inverted dropout with a seeded mask: {@code y = x · m}, {@code m = 0} with probability p, else
 * {@code 1 / (1 - p)}. The mask of a call is a function of its seed alone (the training loop
 * derives the seed from the run's seed, the step and the sample), so a rerun or a retried Spark
 * task drops the same units. The caller keeps the mask for the backward, {@code dx = dy · m}.
 */
public final class Dropout {
  private final double p;

  public Dropout(double p) {
    if (!(p >= 0 && p < 1)) {
      Checks.fail("dropout: expected a probability in [0, 1), got %s", p);
    }
    this.p = p;
  }

  public double p() {
    return p;
  }

  /** Whether the layer does anything: false when p = 0, then callers may skip it. */
  public boolean active() {
    return p > 0;
  }

  /** Writes the mask ({@code n} values) and {@code y = x · mask}; y may be x. */
  public void forward(long seed, double[] x, int xOff, int n, double[] y, int yOff, double[] mask, int maskOff) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double keep = 1.0 / (1.0 - p);
    for (int i = 0; i < n; i++) {
      double m = rnd.nextDouble() < p ? 0.0 : keep;
      mask[maskOff + i] = m;
      y[yOff + i] = x[xOff + i] * m;
    }
  }

  /** {@code dx = dy · mask}; dx may be dy. */
  public static void backward(double[] mask, int maskOff, double[] dy, int dyOff, int n, double[] dx, int dxOff) {
    for (int i = 0; i < n; i++) {
      dx[dxOff + i] = dy[dyOff + i] * mask[maskOff + i];
    }
  }
}
