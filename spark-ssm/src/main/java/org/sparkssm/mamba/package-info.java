/**
 * Mamba and Mamba-2 language models from {@code mamba_ssm} checkpoints
 * ({@link org.sparkssm.mamba.MambaModel}, {@link org.sparkssm.mamba.MambaConfig}): float64
 * recurrent inference with a carried per-layer state, on the engine's selective scan and SSD.
 */
package org.sparkssm.mamba;
