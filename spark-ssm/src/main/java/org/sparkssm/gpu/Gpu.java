package org.sparkssm.gpu;

import java.util.List;

/**
 * Where a computation runs: a GPU (this class) or the CPU (no instance). {@link #choose} applies
 * {@link GpuMode} to what the task was granted through Spark's resource scheduling
 * ({@code TaskContext.resources().get("gpu")}, the addresses the discovery script reported) and to
 * what the driver probe found. The device twins ({@link GpuDiagonalScan},
 * {@link GpuSelectiveScanGrad}, {@link GpuMamba}) are made from an instance.
 */
public final class Gpu {
  /** The Spark setting that chooses: {@code auto | true | false}. */
  public static final String SETTING = "spark.ssm.gpu.enabled";

  final Device device;

  Gpu(Device device) {
    this.device = device;
  }

  /**
   * The GPU to compute on, or null for the CPU.
   *
   * @param mode the setting
   * @param granted the task's GPU addresses (device ordinals) from Spark's resource scheduling; null
   *     outside a Spark task (then device 0 is used when there is one), empty when the task got none
   * @throws IllegalArgumentException for {@link GpuMode#TRUE} without a driver or without a granted
   *     GPU (the setting cannot be met), naming what is missing and the settings that grant one
   */
  public static Gpu choose(GpuMode mode, List<String> granted) {
    if (mode == GpuMode.FALSE) {
      return null;
    }
    Cuda.Probe p = Cuda.probe();
    if (p.devices == 0) {
      if (mode == GpuMode.TRUE) {
        throw new IllegalArgumentException(SETTING + "=true but this executor has " + p.reason);
      }
      return null;
    }
    if (granted != null && granted.isEmpty()) {
      if (mode == GpuMode.TRUE) {
        throw new IllegalArgumentException(SETTING + "=true but this task was granted no GPU: set "
            + "spark.executor.resource.gpu.amount, spark.task.resource.gpu.amount and "
            + "spark.executor.resource.gpu.discoveryScript (see the README's GPU section)");
      }
      return null;
    }
    int ordinal = granted == null ? 0 : ordinal(granted.get(0));
    return new Gpu(Cuda.device(ordinal));
  }

  /** Whether this JVM has a usable CUDA driver and device (probed once). */
  public static boolean available() {
    return Cuda.probe().devices > 0;
  }

  /** Why there is no GPU here, or null when there is one. */
  public static String unavailableReason() {
    return Cuda.probe().reason;
  }

  private static int ordinal(String address) {
    try {
      return Integer.parseInt(address.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("GPU address '" + address + "': expected a device ordinal (the discovery "
          + "script reports nvidia-smi's indices)");
    }
  }

  /** The precision of the recurrent state (and of the SSM parameters it is multiplied with) on the device. */
  public enum StatePrecision {
    FLOAT32("f32", Buffer.Type.F32), FLOAT64("f64", Buffer.Type.F64);

    final String suffix;
    final Buffer.Type type;

    StatePrecision(String suffix, Buffer.Type type) {
      this.suffix = suffix;
      this.type = type;
    }
  }

  /** The most state components per channel the kernels hold in registers. */
  public static final int MAX_STATE = 64;

  /** The compile-time state bound of the kernel entry points that holds {@code n} components. */
  static int stateTile(int n) {
    if (n <= 8) {
      return 8;
    }
    if (n <= 16) {
      return 16;
    }
    if (n <= 32) {
      return 32;
    }
    if (n <= MAX_STATE) {
      return 64;
    }
    throw new IllegalArgumentException("N: the GPU kernels hold at most " + MAX_STATE
        + " state components per channel, got " + n + " (run this model on the CPU)");
  }

  /** (column, time chunk) threads a chunked scan aims for: enough to fill the largest GPUs several times. */
  static final long TARGET_THREADS = 1L << 17;
  /** The shortest time chunk worth a pass of its own. */
  static final int MIN_SPAN = 64;

  /**
   * How many time chunks a scan of {@code columns} (sequence, channel) pairs over {@code len}
   * steps runs in: 1 (one sequential pass per column) when the columns alone fill the GPU,
   * otherwise enough chunks of at least {@code minSpan} steps to get near {@link #TARGET_THREADS}.
   */
  static int timeChunks(long columns, int len, int minSpan) {
    long wanted = (TARGET_THREADS + columns - 1) / Math.max(1, columns);
    long most = Math.min(MAX_GRID_Y, Math.max(1, len / Math.max(1, minSpan)));
    return (int) Math.max(1, Math.min(wanted, most));
  }

  /** CUDA's limit on a grid's second dimension, which counts the time chunks. */
  static final int MAX_GRID_Y = 65535;

  /** The entry point of {@code kernel} for this precision and state size. */
  static String entry(String kernel, StatePrecision precision, int n) {
    return kernel + "_" + precision.suffix + "_n" + stateTile(n);
  }

  /** The device's name, for logs. */
  public String describe() {
    return device.describe();
  }
}
