package org.sparkssm.state;

/**
 * What a chunk of a linear recurrence does to any incoming state, {@code h_end = A_chunk h_in +
 * end}, as an associative operator: {@link #then} composes consecutive chunks, so the chunks of a
 * sequence cut anywhere, combined left to right (or in any grouping), give the whole sequence's
 * carry, and applied to the zero state its end state. The two-pass scans of long sequences chain
 * their blocks with it: a block's incoming state is the combined carry of the blocks before it
 * applied to zero.
 *
 * <p>Two implementations: {@link ChunkSummary} (element-wise decay products, input-dependent
 * recurrences such as Mamba's) and {@link org.sparkssm.scan.ScanModel#carry} (LTI models, whose
 * chunk operator is {@code Ā^steps}, element-wise or dense).
 */
public interface Carry extends java.io.Serializable {
  /** State values the carry acts on. */
  int stateSize();

  /** {@code h ← A_chunk h + end}: the state after the chunk from {@code h}. */
  void applyTo(double[] h);

  /** This chunk followed by {@code next} (a carry of the same kind and size). */
  Carry then(Carry next);

  /** The end state from the zero state. */
  default double[] endFromZero() {
    double[] h = new double[stateSize()];
    applyTo(h);
    return h;
  }
}
