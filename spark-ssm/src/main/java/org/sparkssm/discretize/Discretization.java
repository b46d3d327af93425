package org.sparkssm.discretize;

/**
 * How a continuous system {@code x' = A x + B u} becomes the recurrence
 * {@code h_t = Ā h_{t-1} + B̄ u_t} for a step Δ.
 */
public enum Discretization {
  /**
   * Zero-order hold (exact for an input held constant over the step): {@code Ā = exp(ΔA)},
   * {@code B̄ = A^{-1}(exp(ΔA) - I) B = ∫_0^Δ exp(sA) ds B}. Used by S4D and S5.
   */
  ZOH,
  /**
   * Bilinear (Tustin, trapezoidal rule): {@code Ā = (I - ΔA/2)^{-1}(I + ΔA/2)},
   * {@code B̄ = (I - ΔA/2)^{-1} Δ B}. Used by S4 and the HiPPO papers.
   */
  BILINEAR,
  /**
   * Mamba's simplified rule: {@code Ā = exp(ΔA)} (as ZOH) but {@code B̄ = Δ B}, the first-order
   * (Euler) approximation of the ZOH input term. Used by Mamba's selective scan.
   */
  MAMBA
}
