package org.sparkssm.testing;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Seeded random inputs for kernel tests. Every test names its seed so a failure reproduces. */
public final class TestData {
  private TestData() {}

  /** Sequence lengths every kernel is tested on: 1, primes, non-powers of two, a power of two. */
  public static final int[] LENGTHS = {1, 2, 7, 64, 97, 250};

  public static double[] gaussian(SplittableRandom rnd, int n, double scale) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = scale * gaussian(rnd);
    }
    return a;
  }

  public static double[] uniform(SplittableRandom rnd, int n, double lo, double hi) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = lo + (hi - lo) * rnd.nextDouble();
    }
    return a;
  }

  public static double gaussian(SplittableRandom rnd) {
    // Box-Muller; SplittableRandom has no nextGaussian on Java 17.
    double u1 = 1.0 - rnd.nextDouble();
    double u2 = rnd.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /**
   * Random cut points splitting {@code [0, length)} into consecutive pieces: returns the piece
   * boundaries {@code 0 = c_0 < c_1 < ... < c_k = length} (for length 0, just {0, 0}).
   */
  public static int[] randomCuts(SplittableRandom rnd, int length, int maxPieces) {
    if (length == 0) {
      return new int[] {0, 0};
    }
    int pieces = 1 + rnd.nextInt(Math.max(1, Math.min(maxPieces, length)));
    int[] inner = rnd.ints(0, length).distinct().limit(pieces - 1L).filter(c -> c > 0).toArray();
    Arrays.sort(inner);
    int[] cuts = new int[inner.length + 2];
    System.arraycopy(inner, 0, cuts, 1, inner.length);
    cuts[cuts.length - 1] = length;
    return cuts;
  }

  /** Fixed-size cuts: {@code 0, chunk, 2 chunk, ..., length}. */
  public static int[] fixedCuts(int length, int chunk) {
    int pieces = Math.max(1, (length + chunk - 1) / chunk);
    int[] cuts = new int[pieces + 1];
    for (int i = 1; i <= pieces; i++) {
      cuts[i] = Math.min(length, i * chunk);
    }
    return cuts;
  }
}
