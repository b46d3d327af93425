package org.sparkssm.nn;

import java.util.Locale;

/**
 * How a network computes: {@link org.sparkssm.mamba.MambaModel} at inference, and the trained layers
 * ({@link MambaBlock} and the networks built on it) in training. Float64 is the default and the path
 * every exactness test (golden files, chunked = one-shot, the PyTorch reference at 1e-13, finite
 * differences) pins down; the float32 modes trade that for twice the vector lanes, with a tested
 * tolerance against float64.
 *
 * <p>In the float32 modes every projection ({@code in_proj}, {@code x_proj}, {@code dt_proj},
 * {@code out_proj}, the LM head: nearly all of a token's multiply-adds) runs on float32 weights
 * with float32 activations; the SiLU of the scan input too at inference. The residual stream, the
 * norms and the causal convolution stay in float64 (mamba_ssm likewise keeps its residual in
 * float32 under bf16: {@code residual_in_fp32}); they are O(d_model) per token. In training the
 * weights, their gradients and the optimizer stay float64 (the master copy, as mixed-precision
 * training keeps float32 masters under bf16); each product rounds its operands to float32.
 */
public enum Precision {
  /** Everything in float64 from the checkpoint's weights. */
  FLOAT64("float64"),
  /** Projections and the SSM scan in float32; the scan's state is float32 (stored widened between calls). */
  FLOAT32("float32"),
  /**
   * Projections in float32, the SSM state in float64: Mamba's selective scan (inference and
   * training) runs wholly in float64; Mamba-2's SSD scan computes its within-block terms in float32
   * and the state's terms (decay, update, contribution to y) in float64.
   */
  FLOAT32_STATE64("float32-state64");

  private final String label;

  Precision(String label) {
    this.label = label;
  }

  /** The name {@link #parse} reads: {@code float64}, {@code float32} or {@code float32-state64}. */
  @Override
  public String toString() {
    return label;
  }

  /** Parses a {@link #toString} name (any case); anything else fails naming {@code what}. */
  public static Precision parse(String what, String value) {
    String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    Precision[] all = values();
    for (int i = 0; i < all.length; i++) {
      if (all[i].label.equals(v)) {
        return all[i];
      }
    }
    throw new IllegalArgumentException(what + ": expected float64, float32 or float32-state64, got '" + value + "'");
  }
}
