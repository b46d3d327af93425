package org.sparkssm.nn;

/**
 * Where a network's heaviest layer operations run when not in this package's CPU loops: a device
 * ({@code org.sparkssm.gpu.GpuLayers}) gives a layer's cache its twin, and null leaves that layer
 * on the CPU. Layers keep their parameters, the cheap parts of their forward and backward and
 * every gradient's chain on the CPU; the twins take the O(len²) convolution of an S4D layer and
 * the selective scan of a Mamba block.
 */
public interface LayerDevice {
  /** The device convolution for an S4D layer's cache (convolution mode), or null for the CPU. */
  S4dLayer.Convolution convolution(S4dLayer.Cache cache);

  /** The device selective scan for a Mamba block's scan (its tapes as they come), or null for the CPU. */
  TapeScan selectiveScan(SelectiveScanGrad scan);
}
