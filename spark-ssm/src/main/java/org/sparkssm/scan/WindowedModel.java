package org.sparkssm.scan;

/**
 * A model whose state is a function of its last {@link #window()} present inputs alone (a causal
 * convolution keeps them verbatim; a pointwise map keeps nothing). Scanning any {@code window()}
 * consecutive inputs, from any state, leaves the state that the full history would have left; so
 * a series cut into pieces can give each piece its incoming state from the previous piece's last
 * rows (its halo) instead of from a carry across all pieces.
 */
public interface WindowedModel extends ScanModel {
  /** Inputs the state depends on (k − 1 for a convolution of width k, 0 for a pointwise map). */
  int window();
}
