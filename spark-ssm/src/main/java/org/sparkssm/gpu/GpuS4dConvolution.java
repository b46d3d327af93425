package org.sparkssm.gpu;

import org.sparkssm.Checks;
import org.sparkssm.nn.S4dLayer;

/**
 * The device twin of {@link S4dLayer}'s convolution mode (kernels {@code kconv_fwd},
 * {@code kconv_bwd_input}, {@code kconv_bwd_kernel}): the O(len² · H) part of a trained S4D
 * layer's forward and backward, per call of a training step. K and D go up as float32, the
 * sequences as float32, y and du come back, and dK comes back summed in float64 in a fixed order
 * (so a step is deterministic); the forward's u stays on the device for the backward. The
 * discretization, K from it and the chain from dK to the parameters stay on the CPU (O(H · M · len)).
 * Set on a layer's cache with {@link S4dLayer.Cache#convolveOn} (or made by {@link GpuLayers}); one
 * per cache (its buffers are sized for the cache's batch and len). Tested against the CPU loops.
 */
public final class GpuS4dConvolution implements S4dLayer.Convolution, AutoCloseable {
  private final Device device;
  private final DeviceArrays arrays;
  private final Buffer u;
  private final Buffer y; // also dy in the backward
  private final Buffer du;
  private final Buffer kernel;
  private final Buffer skip;
  private final Buffer dKernel;
  private final int capacity; // rows × H
  private final int maxLen;
  private int channels;

  public GpuS4dConvolution(Gpu gpu, S4dLayer.Cache cache) {
    this(gpu.device, cache.batch(), cache.len(), cache.channels());
  }

  GpuS4dConvolution(Device device, int batch, int len, int channels) {
    this.device = device;
    this.arrays = new DeviceArrays(device);
    this.capacity = Checks.positive("batch", batch) * Checks.positive("len", len) * Checks.positive("H", channels);
    this.maxLen = len;
    this.channels = channels;
    u = device.alloc(Buffer.Type.F32, capacity);
    y = device.alloc(Buffer.Type.F32, capacity);
    du = device.alloc(Buffer.Type.F32, capacity);
    kernel = device.alloc(Buffer.Type.F32, (long) len * channels);
    skip = device.alloc(Buffer.Type.F32, channels);
    dKernel = device.alloc(Buffer.Type.F64, (long) len * channels);
  }

  private int rows(int batch, int len, int H) {
    long n = (long) batch * len * H;
    if (n > capacity || len > maxLen || H != channels) {
      Checks.fail("device convolution: expected at most %d values of H = %d, len <= %d, got batch %d × len %d × H %d",
          capacity, channels, maxLen, batch, len, H);
    }
    return (int) n;
  }

  @Override
  public void forward(double[] k, double[] dSkip, double[] in, int batch, int len, int H, double[] out, int outOff) {
    int n = rows(batch, len, H);
    arrays.put(kernel, k, 0, len * H);
    arrays.put(skip, dSkip, 0, H);
    arrays.put(u, in, 0, n);
    device.launch("kconv_fwd", Device.blocks(n), 1, Device.BLOCK, batch, len, H, kernel, skip, u, y);
    arrays.get(y, out, outOff, n);
  }

  @Override
  public void backward(double[] k, double[] dSkip, double[] dy, int dyOff, int batch, int len, int H, double[] dK,
      double[] gD, int gdOff, double[] dIn, int dInOff) {
    int n = rows(batch, len, H);
    arrays.put(y, dy, dyOff, n); // the forward's kernel and skip are still on the device
    device.launch("kconv_bwd_kernel", Device.blocks((long) len * H), 1, Device.BLOCK, batch, len, H, u, y, dKernel);
    device.launch("kconv_bwd_input", Device.blocks(n), 1, Device.BLOCK, batch, len, H, kernel, skip, y, du);
    double[] sums = arrays.doubles(len * H);
    device.download(dKernel, sums, 0, len * H);
    for (int i = 0; i < len * H; i++) {
      dK[i] += sums[i];
    }
    for (int h = 0; h < H; h++) {
      gD[gdOff + h] += sums[h]; // Σ dy u is dK_0
    }
    arrays.get(du, dIn, dInOff, n);
  }

  @Override
  public void close() {
    for (Buffer b : new Buffer[] {u, y, du, kernel, skip, dKernel}) {
      device.free(b);
    }
  }
}
