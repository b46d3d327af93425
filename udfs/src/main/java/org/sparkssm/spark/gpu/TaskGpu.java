package org.sparkssm.spark.gpu;

import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.SparkSession;
import org.sparkssm.gpu.Gpu;
import org.sparkssm.gpu.GpuMamba;
import org.sparkssm.gpu.GpuMode;
import org.sparkssm.mamba.MambaModel;

/**
 * Spark's side of the GPU choice. The driver reads {@value Gpu#SETTING} once per job
 * ({@link #mode}); a task then computes on the GPU that Spark's resource scheduling granted it
 * ({@code TaskContext.resources().get("gpu")}, from the executor's discovery script), in local mode
 * on device 0, or on the CPU ({@link Gpu#choose} applies the setting). The RAPIDS plugin, where it
 * runs too, uses the same resources: both take the addresses Spark hands out, and the kernels run
 * in the device's primary context, the context the RAPIDS plugin and PyTorch also use.
 */
public final class TaskGpu {
  private static final Cleaner CLEANER = Cleaner.create();
  /** Device copies of broadcast models, dropped (and their device memory freed) with the model. */
  private static final Map<MambaModel, Map<String, GpuMamba>> MAMBA = new WeakHashMap<>();

  private TaskGpu() {}

  /**
   * The session's {@value Gpu#SETTING} ({@code auto} when unset); a bad value fails naming the
   * setting, and so does {@code true} in local mode on a machine without a GPU (before any task).
   */
  public static GpuMode mode(SparkSession spark) {
    GpuMode mode = GpuMode.parse(Gpu.SETTING, spark.conf().get(Gpu.SETTING, "auto"));
    if (mode == GpuMode.TRUE && spark.sparkContext().isLocal() && !Gpu.available()) {
      throw new IllegalArgumentException(Gpu.SETTING + "=true but this executor has " + Gpu.unavailableReason());
    }
    return mode;
  }

  /** The GPU this task computes on, or null for the CPU (see {@link Gpu#choose}). */
  public static Gpu gpu(GpuMode mode) {
    return Gpu.choose(mode, grantedAddresses());
  }

  /**
   * The task's GPU addresses: those Spark granted it; in local mode, where the driver is the
   * executor and tasks are granted nothing, null (device 0 when there is one); empty when a
   * cluster's task got no GPU; null outside a task.
   */
  static List<String> grantedAddresses() {
    TaskContext task = TaskContext.get();
    if (task == null) {
      return null;
    }
    ResourceInformation gpu = task.resourcesJMap().get("gpu");
    if (gpu != null && gpu.addresses().length > 0) {
      return Arrays.asList(gpu.addresses());
    }
    SparkEnv env = SparkEnv.get();
    boolean local = env != null && "driver".equals(env.executorId());
    return local ? null : List.of();
  }

  /**
   * The device copy of a (broadcast) Mamba model for this task, or null to score on the CPU (the
   * setting says so, no GPU, or a Mamba-2 model). One copy per model and device per executor,
   * shared by its tasks; it is freed once the model is no longer referenced.
   */
  public static GpuMamba mamba(GpuMode mode, MambaModel model) {
    Gpu gpu = gpu(mode);
    if (gpu == null) {
      return null;
    }
    synchronized (MAMBA) {
      Map<String, GpuMamba> perDevice = MAMBA.get(model);
      if (perDevice == null) {
        perDevice = new java.util.HashMap<>();
        MAMBA.put(model, perDevice);
        Map<String, GpuMamba> copies = perDevice;
        CLEANER.register(model, () -> copies.values().forEach(GpuMamba::close));
      }
      GpuMamba copy = perDevice.get(gpu.describe());
      if (copy == null && !perDevice.containsKey(gpu.describe())) {
        copy = GpuMamba.of(gpu, model, Gpu.StatePrecision.FLOAT32);
        perDevice.put(gpu.describe(), copy); // null: not a model the device runs; the CPU scores it
      }
      return copy;
    }
  }
}
