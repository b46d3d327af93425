package org.sparkssm.state;

import org.sparkssm.Checks;

/**
 * The {@link ChunkSummary} of a dense recurrence {@code h_t = Ā h_{t-1} + b_t}: the chunk maps an
 * incoming state to {@code decay · h + end}, with {@code decay = Ā^L} (N, N), row-major, and
 * {@code end} the end state from zero. {@link #combine} is the same associative operator with a
 * matrix product: {@code (A1, b1) ∘ (A2, b2) = (A2 A1, A2 b1 + b2)}. Immutable.
 */
public final class DenseChunkSummary implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  private final int n;
  private final double[] decay;
  private final double[] end;
  private final long steps;

  private DenseChunkSummary(int n, double[] decay, double[] end, long steps) {
    this.n = n;
    this.decay = decay;
    this.end = end;
    this.steps = steps;
  }

  public static DenseChunkSummary of(int n, double[] decay, double[] end, long steps) {
    Checks.positive("n", n);
    Checks.length("decay", decay, n * n, "N*N");
    Checks.length("end", end, n, "N");
    if (steps < 0) {
      Checks.fail("steps: expected >= 0, got %d", steps);
    }
    return new DenseChunkSummary(n, decay.clone(), end.clone(), steps);
  }

  public static DenseChunkSummary identity(int n) {
    Checks.positive("n", n);
    double[] eye = new double[n * n];
    for (int i = 0; i < n; i++) {
      eye[i * n + i] = 1.0;
    }
    return new DenseChunkSummary(n, eye, new double[n], 0);
  }

  /** {@code first} followed by {@code second}. */
  public static DenseChunkSummary combine(DenseChunkSummary first, DenseChunkSummary second) {
    Checks.notNull("first", first);
    Checks.notNull("second", second);
    if (first.n != second.n) {
      Checks.fail("second: expected a summary of size %d, got %d", first.n, second.n);
    }
    int n = first.n;
    double[] decay = new double[n * n];
    double[] end = new double[n];
    for (int i = 0; i < n; i++) {
      double acc = second.end[i];
      for (int k = 0; k < n; k++) {
        double a2 = second.decay[i * n + k];
        acc += a2 * first.end[k];
        for (int j = 0; j < n; j++) {
          decay[i * n + j] += a2 * first.decay[k * n + j];
        }
      }
      end[i] = acc;
    }
    return new DenseChunkSummary(n, decay, end, first.steps + second.steps);
  }

  /** {@code h ← decay · h + end}. */
  public void applyTo(double[] h) {
    Checks.length("h", h, n, "N");
    double[] in = h.clone();
    for (int i = 0; i < n; i++) {
      double acc = end[i];
      for (int j = 0; j < n; j++) {
        acc += decay[i * n + j] * in[j];
      }
      h[i] = acc;
    }
  }

  public int size() {
    return n;
  }

  public long steps() {
    return steps;
  }

  public double[] decay() {
    return decay.clone();
  }

  public double[] end() {
    return end.clone();
  }
}
