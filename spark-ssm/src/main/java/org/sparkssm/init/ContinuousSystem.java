package org.sparkssm.init;

import org.sparkssm.Checks;

/**
 * An immutable continuous-time single-input system {@code x' = A x + B u} with n states: A is n×n
 * row-major ({@code A[i * n + j]}), B has n entries. Accessors return copies.
 */
public final class ContinuousSystem {
  private final int n;
  private final double[] a;
  private final double[] b;

  ContinuousSystem(int n, double[] a, double[] b) {
    this.n = n;
    this.a = a;
    this.b = b;
  }

  /**
   * A system from caller arrays (copied).
   *
   * @param n the state size, {@code >= 1}
   * @param a A, n×n row-major, finite
   * @param b B, n entries, finite
   */
  public static ContinuousSystem of(int n, double[] a, double[] b) {
    Checks.positive("n", n);
    Checks.length("a", a, n * n, "n*n = " + n + "*" + n);
    Checks.allFinite("a", a);
    Checks.length("b", b, n, "n = " + n);
    Checks.allFinite("b", b);
    return new ContinuousSystem(n, a.clone(), b.clone());
  }

  /** The state size n. */
  public int n() {
    return n;
  }

  /** A, n×n row-major {@code A[i * n + j]} (a copy). */
  public double[] A() {
    return a.clone();
  }

  /** B, n entries (a copy). */
  public double[] B() {
    return b.clone();
  }
}
