package org.sparkssm.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.VectorSupport;

/**
 * {@link GeluVector} (tanh from {@code VectorMath.exp}) against the scalar {@link Nonlinearity#gelu}
 * and {@link Nonlinearity#geluDerivative} ({@code StrictMath.tanh}): GELU within {@value #ABS} of
 * {@code max(1, |x|)}, its derivative times dy within {@value #ABS} of
 * {@code max(1, |x|)² max(1, |dy|)} (tanh's absolute error is a few ulps of 1, scaled by x in
 * {@code 0.5 x (1 + tanh)}; measured at most 2.2e-16 and 4.2e-16: a factor of 5); every element's
 * bits independent of its position, the array's length and in-place use.
 */
class GeluVectorTest {
  private static final double ABS = 2e-15;

  private static double[] inputs(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      int kind = rnd.nextInt(4);
      x[i] = kind == 0 ? rnd.nextGaussian() * Math.pow(10, -rnd.nextInt(12)) // near 0
          : kind == 1 ? rnd.nextGaussian() * 3 : kind == 2 ? rnd.nextDouble(-40, 40) : rnd.nextGaussian();
    }
    x[0] = 0.0;
    x[1] = -0.0;
    return x;
  }

  @Test
  void matchesTheScalarGeluAndItsDerivative() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "the Vector API path");
    int n = 100_003;
    double[] x = inputs(n, 1);
    double[] dy = inputs(n, 2);
    double[] y = new double[n];
    double[] dx = new double[n];
    GeluVector.forward(x, 0, y, 0, n);
    GeluVector.backward(x, 0, dy, 0, dx, 0, n);
    double worst = 0;
    double worstScaled = 0;
    double worstScaledD = 0;
    for (int i = 0; i < n; i++) {
      double e = Nonlinearity.gelu(x[i]);
      double d = Nonlinearity.geluDerivative(x[i]) * dy[i];
      worst = Math.max(worst, Math.max(Math.abs(e - y[i]), Math.abs(d - dx[i])));
      double scale = Math.max(1, Math.abs(x[i]));
      worstScaled = Math.max(worstScaled, Math.abs(e - y[i]) / scale);
      worstScaledD = Math.max(worstScaledD, Math.abs(d - dx[i]) / (scale * scale * Math.max(1, Math.abs(dy[i]))));
      assertTrue(Math.abs(e - y[i]) <= ABS * scale, "gelu(" + x[i] + "): " + e + " vs " + y[i]);
      assertTrue(Math.abs(d - dx[i]) <= ABS * scale * scale * Math.max(1, Math.abs(dy[i])),
          "gelu'(" + x[i] + ") dy " + dy[i] + ": " + d + " vs " + dx[i]);
    }
    System.out.println("GeluVectorTest: worst absolute difference " + worst + ", scaled " + worstScaled + " / "
        + worstScaledD);
  }

  @Test
  void anElementsBitsDoNotDependOnItsPlaceOrTheArraysLength() {
    double[] x = inputs(37, 3);
    double[] dy = inputs(37, 4);
    double[] y = new double[37];
    double[] dx = new double[37];
    Nonlinearity.GELU.forward(x, 0, y, 0, 37);
    Nonlinearity.GELU.backward(x, 0, dy, 0, dx, 0, 37);
    for (int off = 0; off < 5; off++) {
      for (int n = 1; n + off <= 37; n += 3) {
        double[] part = new double[n];
        Nonlinearity.GELU.forward(x, off, part, 0, n);
        assertArrayEquals(java.util.Arrays.copyOfRange(y, off, off + n), part, 0.0, "forward at " + off + ", n " + n);
        double[] inPlace = java.util.Arrays.copyOfRange(dy, off, off + n);
        Nonlinearity.GELU.backward(x, off, inPlace, 0, inPlace, 0, n);
        assertArrayEquals(java.util.Arrays.copyOfRange(dx, off, off + n), inPlace, 0.0, "backward at " + off + ", n " + n);
      }
    }
    double[] same = x.clone();
    Nonlinearity.GELU.forward(same, 0, same, 0, 37);
    assertArrayEquals(y, same, 0.0, "in place");
  }
}
