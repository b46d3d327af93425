package org.sparkssm.gpu;

import java.util.Locale;

/**
 * The setting {@value Gpu#SETTING}: {@code auto} (the default) computes on a GPU where the task
 * was granted one and the CUDA driver loads, on the CPU otherwise; {@code true} requires the GPU
 * and fails naming what is missing; {@code false} always computes on the CPU.
 */
public enum GpuMode {
  AUTO, TRUE, FALSE;

  /** Parses {@code auto | true | false} (any case); anything else fails naming {@code key}. */
  public static GpuMode parse(String key, String value) {
    if (value == null) {
      return AUTO;
    }
    switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "auto":
        return AUTO;
      case "true":
        return TRUE;
      case "false":
        return FALSE;
      default:
        throw new IllegalArgumentException(key + ": expected auto, true or false, got '" + value + "'");
    }
  }
}
