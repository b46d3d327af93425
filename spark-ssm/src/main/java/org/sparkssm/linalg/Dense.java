package org.sparkssm.linalg;

/** Package-private row-major dense helpers shared by the linalg routines. No validation. */
final class Dense {
  private Dense() {}

  /** {@code C = A B} for A p×q, B q×r, all row-major; C is freshly allocated. */
  static double[] mul(double[] a, double[] b, int p, int q, int r) {
    double[] c = new double[p * r];
    for (int i = 0; i < p; i++) {
      for (int k = 0; k < q; k++) {
        double aik = a[i * q + k];
        if (aik == 0) {
          continue;
        }
        for (int j = 0; j < r; j++) {
          c[i * r + j] += aik * b[k * r + j];
        }
      }
    }
    return c;
  }

  /** Maximum absolute column sum, the induced 1-norm. */
  static double norm1(double[] a, int n) {
    double best = 0;
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += Math.abs(a[i * n + j]);
      }
      best = Math.max(best, s);
    }
    return best;
  }
}
