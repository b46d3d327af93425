package org.sparkssm.gpu;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Whether this JVM can run the kernels: probed once, lazily, and cached. The probe loads JCuda's
 * driver binding (which needs only the driver's {@code libcuda.so.1}), initializes the driver and
 * counts devices; any failure (no driver, no device, a JCuda that does not load) makes the answer
 * "no" with the reason, never an error at class loading. Nothing here touches a JCuda class before
 * the probe runs.
 */
final class Cuda {
  private static volatile Probe probe;
  private static final ConcurrentHashMap<Integer, Device> DEVICES = new ConcurrentHashMap<>();

  private Cuda() {}

  /** The probe's outcome: devices found, or the reason there are none. */
  static final class Probe {
    final int devices;
    final String reason; // null when devices > 0

    Probe(int devices, String reason) {
      this.devices = devices;
      this.reason = reason;
    }
  }

  static Probe probe() {
    Probe p = probe;
    if (p == null) {
      synchronized (Cuda.class) {
        p = probe;
        if (p == null) {
          p = run();
          probe = p;
        }
      }
    }
    return p;
  }

  private static Probe run() {
    if (Boolean.getBoolean("sparkssm.gpu.disabled")) {
      return new Probe(0, "disabled by -Dsparkssm.gpu.disabled=true");
    }
    try {
      int count = CudaDevice.initAndCount();
      return count > 0 ? new Probe(count, null) : new Probe(0, "the CUDA driver reports no device");
    } catch (Throwable t) { // UnsatisfiedLinkError without libcuda, CudaException from cuInit, ...
      return new Probe(0, "no usable CUDA driver (" + cause(t) + ")");
    }
  }

  /**
   * One line for why the driver did not load: JCuda's loader reports every attempt with nested
   * traces; the line that names a missing shared library (usually {@code libcuda.so.1}) says it
   * best, else the first line.
   */
  static String cause(Throwable t) {
    String m = t.getMessage();
    if (m == null) {
      return t.getClass().getSimpleName();
    }
    java.util.regex.Matcher missing = java.util.regex.Pattern
        .compile("([\\w.+-]+\\.so[\\w.]*: cannot open shared object file[^\\n]*)").matcher(m);
    return missing.find() ? missing.group(1).trim() : m.lines().findFirst().orElse(m);
  }

  /** The device of {@code ordinal}, opened once per JVM (the probe must have found devices). */
  static Device device(int ordinal) {
    Probe p = probe();
    if (ordinal < 0 || ordinal >= p.devices) {
      throw new IllegalStateException("GPU " + ordinal + ": this machine's CUDA driver reports " + p.devices
          + " device(s)" + (p.reason == null ? "" : ": " + p.reason));
    }
    return DEVICES.computeIfAbsent(ordinal, CudaDevice::open);
  }
}
