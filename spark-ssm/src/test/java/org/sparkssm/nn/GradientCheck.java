package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Central finite differences in float64, the independent reference of every backward pass.
 * {@code f} recomputes a scalar loss from the current contents of the arrays it closes over;
 * {@link #check} perturbs {@code x[i]} by {@code ±h}, restores it, and compares
 * {@code (f(x + h) - f(x - h)) / 2h} with the analytic gradient.
 *
 * <p>Tolerance: {@code |fd - analytic| <= ABS + REL · max(|fd|, |analytic|)} with REL = 1e-6 and
 * ABS = 1e-8: the truncation error of a central difference at h = 1e-5 is O(h² f''') ≈ 1e-10 and
 * its rounding error about {@code 1e-16 |f| / h} ≈ 1e-11 |f| for the losses of the tests (|f| of
 * order 1–100), both far below the tolerance, while a wrong term in a backward pass is off by
 * orders of magnitude more.
 */
public final class GradientCheck {
  private GradientCheck() {}

  public static final double H = 1e-5;
  public static final double REL = 1e-6;
  public static final double ABS = 1e-8;

  /**
   * Checks {@code analytic[i]} against the central difference for every index of x, or for
   * {@code maxChecks} indices drawn from {@code rnd} when x is larger.
   */
  public static void check(String what, double[] x, double[] analytic, DoubleSupplier f, int maxChecks,
      SplittableRandom rnd) {
    if (x.length != analytic.length) {
      fail(what + ": gradient length " + analytic.length + " for " + x.length + " values");
    }
    int n = x.length;
    int checks = Math.min(n, maxChecks);
    for (int k = 0; k < checks; k++) {
      int i = checks == n ? k : rnd.nextInt(n);
      double saved = x[i];
      x[i] = saved + H;
      double plus = f.getAsDouble();
      x[i] = saved - H;
      double minus = f.getAsDouble();
      x[i] = saved;
      double fd = (plus - minus) / (2 * H);
      double an = analytic[i];
      if (!(Math.abs(fd - an) <= ABS + REL * Math.max(Math.abs(fd), Math.abs(an)))) {
        fail(String.format(Locale.ROOT, "%s: d/dx[%d]: finite difference %.12g, analytic %.12g (diff %.3g)", what, i, fd,
            an, Math.abs(fd - an)));
      }
    }
  }

  /** {@code Σ_i r[i] y[yOff + i]}: a loss whose gradient with respect to y is r. */
  public static double dot(double[] r, double[] y, int yOff) {
    double s = 0;
    for (int i = 0; i < r.length; i++) {
      s += r[i] * y[yOff + i];
    }
    return s;
  }

  public static double[] gaussian(SplittableRandom rnd, int n, double scale) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = scale * Init.gaussian(rnd);
    }
    return a;
  }
}
