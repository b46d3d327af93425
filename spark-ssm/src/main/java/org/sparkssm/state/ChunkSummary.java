package org.sparkssm.state;

import java.util.Arrays;
import org.sparkssm.Checks;

/**
 * What a chunk of an element-wise linear recurrence {@code h_t = a_t ⊙ h_{t-1} + b_t} does to any
 * incoming state: {@code h_end = decay ⊙ h_in + end}, with {@code decay = Π_t a_t} (the decay
 * product) and {@code end} the chunk's end state scanned from zero. Real or complex (split
 * {@code re}/{@code im} arrays, see {@link org.sparkssm}); one element per state component.
 *
 * <p>{@link #combine} is the associative pair operator
 * {@code (a1, b1) ∘ (a2, b2) = (a2 ⊙ a1, a2 ⊙ b1 + b2)}, with {@link #identity} as its unit: the
 * summaries of P consecutive chunks, combined in any grouping, give the summary of their
 * concatenation, and {@code combine(...).apply(h0)} gives the one-shot end state. Instances are
 * immutable.
 */
public final class ChunkSummary implements Carry {
  private static final long serialVersionUID = 1L;

  private final double[] decayRe;
  private final double[] decayIm; // null when real
  private final double[] endRe;
  private final double[] endIm; // null when real
  private final long steps;

  private ChunkSummary(double[] decayRe, double[] decayIm, double[] endRe, double[] endIm, long steps) {
    this.decayRe = decayRe;
    this.decayIm = decayIm;
    this.endRe = endRe;
    this.endIm = endIm;
    this.steps = steps;
  }

  /** A real summary (arrays are copied). */
  public static ChunkSummary real(double[] decay, double[] end, long steps) {
    Checks.notNull("decay", decay);
    Checks.length("end", end, decay.length, "the length of decay");
    checkSteps(steps);
    return new ChunkSummary(decay.clone(), null, end.clone(), null, steps);
  }

  /** A complex summary (arrays are copied). */
  public static ChunkSummary complex(double[] decayRe, double[] decayIm, double[] endRe, double[] endIm, long steps) {
    int size = Checks.notNull("decayRe", decayRe).length;
    Checks.length("decayIm", decayIm, size, "the length of decayRe");
    Checks.length("endRe", endRe, size, "the length of decayRe");
    Checks.length("endIm", endIm, size, "the length of decayRe");
    checkSteps(steps);
    return new ChunkSummary(decayRe.clone(), decayIm.clone(), endRe.clone(), endIm.clone(), steps);
  }

  /** The summary of an empty chunk: decay 1, end 0. */
  public static ChunkSummary identity(int size, boolean complex) {
    Checks.nonNegative("size", size);
    double[] one = new double[size];
    Arrays.fill(one, 1.0);
    return complex
        ? new ChunkSummary(one, new double[size], new double[size], new double[size], 0)
        : new ChunkSummary(one, null, new double[size], null, 0);
  }

  private static void checkSteps(long steps) {
    if (steps < 0) {
      Checks.fail("steps: expected >= 0, got %d", steps);
    }
  }

  /** The summary of {@code first} followed by {@code second}: {@code (a2 ⊙ a1, a2 ⊙ b1 + b2)}. */
  public static ChunkSummary combine(ChunkSummary first, ChunkSummary second) {
    Checks.notNull("first", first);
    Checks.notNull("second", second);
    if (first.size() != second.size() || first.isComplex() != second.isComplex()) {
      Checks.fail("second: expected a %s summary of size %d, got a %s summary of size %d",
          first.kind(), first.size(), second.kind(), second.size());
    }
    int size = first.size();
    double[] aRe = new double[size];
    double[] bRe = new double[size];
    if (!first.isComplex()) {
      for (int i = 0; i < size; i++) {
        aRe[i] = second.decayRe[i] * first.decayRe[i];
        bRe[i] = second.decayRe[i] * first.endRe[i] + second.endRe[i];
      }
      return new ChunkSummary(aRe, null, bRe, null, first.steps + second.steps);
    }
    double[] aIm = new double[size];
    double[] bIm = new double[size];
    for (int i = 0; i < size; i++) {
      double a2r = second.decayRe[i];
      double a2i = second.decayIm[i];
      aRe[i] = a2r * first.decayRe[i] - a2i * first.decayIm[i];
      aIm[i] = a2r * first.decayIm[i] + a2i * first.decayRe[i];
      bRe[i] = a2r * first.endRe[i] - a2i * first.endIm[i] + second.endRe[i];
      bIm[i] = a2r * first.endIm[i] + a2i * first.endRe[i] + second.endIm[i];
    }
    return new ChunkSummary(aRe, aIm, bRe, bIm, first.steps + second.steps);
  }

  /** Combines consecutive summaries left to right; the identity for none. */
  public static ChunkSummary combineAll(int size, boolean complex, Iterable<ChunkSummary> inOrder) {
    ChunkSummary acc = identity(size, complex);
    for (ChunkSummary s : inOrder) {
      acc = combine(acc, s);
    }
    return acc;
  }

  /**
   * The end state of this chunk given the incoming state, written over it:
   * {@code h ← decay ⊙ h + end}. Pass {@code hIm = null} for a real summary.
   */
  public void applyTo(double[] hRe, double[] hIm) {
    Checks.length("hRe", hRe, size(), "the summary size");
    if (!isComplex()) {
      if (hIm != null) {
        Checks.fail("hIm: expected null for a real summary, got an array of length %d", hIm.length);
      }
      for (int i = 0; i < hRe.length; i++) {
        hRe[i] = decayRe[i] * hRe[i] + endRe[i];
      }
      return;
    }
    Checks.length("hIm", hIm, size(), "the summary size");
    for (int i = 0; i < hRe.length; i++) {
      double r = hRe[i];
      double m = hIm[i];
      hRe[i] = decayRe[i] * r - decayIm[i] * m + endRe[i];
      hIm[i] = decayRe[i] * m + decayIm[i] * r + endIm[i];
    }
  }

  public int size() {
    return decayRe.length;
  }

  /** State values it acts on as a {@link Carry}: {@link #size()}, twice that when complex (re, then im). */
  @Override
  public int stateSize() {
    return isComplex() ? 2 * size() : size();
  }

  /**
   * {@link #applyTo(double[], double[])} on one array: the real state, or for a complex summary
   * the real parts followed by the imaginary parts.
   */
  @Override
  public void applyTo(double[] h) {
    if (!isComplex()) {
      applyTo(h, null);
      return;
    }
    int n = size();
    Checks.length("h", h, 2 * n, "twice the summary size (re, then im)");
    double[] re = java.util.Arrays.copyOfRange(h, 0, n);
    double[] im = java.util.Arrays.copyOfRange(h, n, 2 * n);
    applyTo(re, im);
    System.arraycopy(re, 0, h, 0, n);
    System.arraycopy(im, 0, h, n, n);
  }

  /** The end state as it is (real, or re then im), without applying the decay to zeros. */
  @Override
  public double[] endFromZero() {
    if (!isComplex()) {
      return endRe.clone();
    }
    double[] h = java.util.Arrays.copyOf(endRe, 2 * size());
    System.arraycopy(endIm, 0, h, size(), size());
    return h;
  }

  @Override
  public Carry then(Carry next) {
    if (!(next instanceof ChunkSummary)) {
      Checks.fail("next: expected a ChunkSummary, got %s", next == null ? "null" : next.getClass().getSimpleName());
    }
    return combine(this, (ChunkSummary) next);
  }

  public boolean isComplex() {
    return decayIm != null;
  }

  /** Number of time steps summarized. */
  public long steps() {
    return steps;
  }

  public double[] decayRe() {
    return decayRe.clone();
  }

  /** Imaginary part of the decay product; null for a real summary. */
  public double[] decayIm() {
    return decayIm == null ? null : decayIm.clone();
  }

  public double[] endRe() {
    return endRe.clone();
  }

  /** Imaginary part of the end state; null for a real summary. */
  public double[] endIm() {
    return endIm == null ? null : endIm.clone();
  }

  private String kind() {
    return isComplex() ? "complex" : "real";
  }

  @Override
  public String toString() {
    return "ChunkSummary(" + kind() + ", size=" + size() + ", steps=" + steps + ")";
  }
}
