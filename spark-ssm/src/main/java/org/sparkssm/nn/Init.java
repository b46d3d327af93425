package org.sparkssm.nn;

import java.util.SplittableRandom;

/** Seeded initializers writing into a slice of the flat parameter array. */
public final class Init {
  private Init() {}

  /** {@code w[off .. off+n)} uniform in {@code [-bound, bound)}. */
  public static void uniform(double[] w, int off, int n, double bound, SplittableRandom rnd) {
    for (int i = 0; i < n; i++) {
      w[off + i] = (2 * rnd.nextDouble() - 1) * bound;
    }
  }

  /** {@code w[off .. off+n) = value}. */
  public static void fill(double[] w, int off, int n, double value) {
    for (int i = 0; i < n; i++) {
      w[off + i] = value;
    }
  }

  /** A standard normal draw (Box-Muller; SplittableRandom has none on Java 17). */
  public static double gaussian(SplittableRandom rnd) {
    double u1 = 1.0 - rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
