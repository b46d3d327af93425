package org.sparkssm.scan;

import java.io.Serializable;

/**
 * An LTI or fixed-weight sequence model that a chunked runner (a Spark task, a stream) can drive
 * without knowing which kernel is behind it: per time step it reads {@link #inputs()} values,
 * writes {@link #outputs()} values, and carries a state of {@link #stateSize()} doubles.
 *
 * <p>The contract every implementation keeps: {@code h} holds the initial state on entry and the
 * final state on return, so consecutive calls over consecutive chunks equal one call over their
 * concatenation. Sequences are time-major ({@code u[uOff + t * inputs() + j]}). Implementations
 * are immutable and serializable, so they ship to executors as they are.
 */
public interface ScanModel extends Serializable {
  /** Values read per time step (channels). */
  int inputs();

  /** Values written per time step. */
  int outputs();

  /** Length of the state array {@code h}. */
  int stateSize();

  /** Fingerprint of shape and parameters, stored with saved states. */
  long fingerprint();

  /** Scans {@code length} steps from the state in {@code h}, leaving the final state there. */
  void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h);

  /**
   * Evolves {@code h} over {@code steps} steps of zero input: {@code h ← Ā^steps h}. By linearity
   * the end state of a chunk from any incoming state is {@code decay(h_in, L) + (end state from
   * zero)}, which is how a series split across tasks gets each piece's incoming state from the
   * pieces' end states alone (two-pass scan).
   */
  void decay(double[] h, long steps);

  /**
   * The carry of a chunk of {@code steps} steps whose end state from zero is {@code endFromZero}:
   * {@code h ← decay(h, steps) + endFromZero}, composed by {@link org.sparkssm.state.Carry#then}
   * as {@code (n1, e1) then (n2, e2) = (n1 + n2, decay(e1, n2) + e2)}.
   */
  default org.sparkssm.state.Carry carry(long steps, double[] endFromZero) {
    return new DecayCarry(this, steps, endFromZero);
  }
}
