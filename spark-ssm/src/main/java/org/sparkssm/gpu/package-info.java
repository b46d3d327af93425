/**
 * The CUDA twins of the engine's kernels and where they run. {@link org.sparkssm.gpu.Gpu#choose}
 * applies {@code spark.ssm.gpu.enabled} ({@link org.sparkssm.gpu.GpuMode}) to the GPU a task was
 * granted and to a driver probe made once, lazily (no driver: everything runs on the CPU, nothing
 * fails at class loading). The twins, each tested against its CPU kernel through the kernels
 * compiled for the host: {@link org.sparkssm.gpu.GpuDiagonalScan} (diagonal scan and its backward),
 * {@link org.sparkssm.gpu.GpuSelectiveScanGrad} (selective scan forward and backward on a
 * {@link org.sparkssm.nn.SelectiveScanGrad.Tape}), {@link org.sparkssm.gpu.GpuMamba} (the Mamba and
 * Mamba-2 forward), {@link org.sparkssm.gpu.GpuS4dConvolution} (an S4D layer's convolution mode);
 * {@link org.sparkssm.gpu.GpuLayers} hands the training twins to a network's layers. The kernels are
 * {@code src/main/cuda/ssm_kernels.cu}, shipped as PTX.
 */
package org.sparkssm.gpu;
