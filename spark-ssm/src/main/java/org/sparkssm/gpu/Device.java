package org.sparkssm.gpu;

/**
 * What the device twins ({@link GpuDiagonalScan}, {@link GpuSelectiveScanGrad}, {@link GpuMamba})
 * need of a CUDA device: zeroed buffers, copies in and out, and launches of the kernels of
 * {@code src/main/cuda/ssm_kernels.cu} by name. {@link CudaDevice} is the real one (JCuda, the
 * driver API); the tests run the same calls through the kernels compiled for the host.
 *
 * <p>Launch arguments are {@link Integer}, {@link Long}, {@link Float}, a {@link Buffer} (a pointer
 * to its first element) or null (a null pointer), in the order of the kernel's C signature.
 * Operations are ordered: a download sees every launch before it.
 */
interface Device extends AutoCloseable {
  /** Threads per block of the one-thread-per-column kernels. */
  int BLOCK = 128;

  Buffer alloc(Buffer.Type type, long count);

  void free(Buffer buffer);

  /** Sets the first {@code count} elements to zero. */
  void zero(Buffer buffer, long count);

  void upload(Buffer dst, float[] src, int off, int n);

  void upload(Buffer dst, double[] src, int off, int n);

  void upload(Buffer dst, int[] src, int off, int n);

  void download(Buffer src, float[] dst, int off, int n);

  void download(Buffer src, double[] dst, int off, int n);

  void launch(String kernel, int gridX, int gridY, int blockX, Object... args);

  /** For messages: the device's name and ordinal. */
  String describe();

  @Override
  void close();

  /** Blocks of {@link #BLOCK} threads covering {@code threads}. */
  static int blocks(long threads) {
    long b = (threads + BLOCK - 1) / BLOCK;
    if (b > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("launch: " + threads + " threads exceed one grid dimension");
    }
    return (int) Math.max(1, b);
  }
}
