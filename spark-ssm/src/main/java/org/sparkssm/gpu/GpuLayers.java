package org.sparkssm.gpu;

import java.util.ArrayList;
import java.util.List;
import org.sparkssm.nn.LayerDevice;
import org.sparkssm.nn.S4dLayer;
import org.sparkssm.nn.SelectiveScanGrad;
import org.sparkssm.nn.TapeScan;

/**
 * A GPU as a {@link LayerDevice}: every S4D layer cache gets a {@link GpuS4dConvolution}, every
 * Mamba block a {@link GpuSelectiveScanGrad} (float32 state, as the rest of the device path). It
 * keeps the twins it made and frees their device memory on {@link #close}.
 */
public final class GpuLayers implements LayerDevice, AutoCloseable {
  private final Device device;
  private final List<AutoCloseable> made = new ArrayList<>();

  public GpuLayers(Gpu gpu) {
    this(gpu.device);
  }

  GpuLayers(Device device) {
    this.device = device;
  }

  @Override
  public synchronized S4dLayer.Convolution convolution(S4dLayer.Cache cache) {
    GpuS4dConvolution twin = new GpuS4dConvolution(device, cache.batch(), cache.len(), cache.channels());
    made.add(twin);
    return twin;
  }

  @Override
  public synchronized TapeScan selectiveScan(SelectiveScanGrad scan) {
    if (scan.stateSize() > Gpu.MAX_STATE) {
      return null; // more state than the kernels hold in registers: the CPU scan
    }
    GpuSelectiveScanGrad twin = new GpuSelectiveScanGrad(device, scan, Gpu.StatePrecision.FLOAT32);
    made.add(twin);
    return twin;
  }

  @Override
  public synchronized void close() {
    for (AutoCloseable c : made) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException("freeing " + device.describe() + ": " + e.getMessage(), e);
      }
    }
    made.clear();
  }
}
