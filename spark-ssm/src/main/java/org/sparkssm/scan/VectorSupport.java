package org.sparkssm.scan;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}) paths run. They do when the module is in
 * the boot layer ({@code --add-modules=jdk.incubator.vector}) and {@code -Dsparkssm.scalar=true}
 * is not set; otherwise every kernel takes its scalar path. Vector classes are only referenced
 * behind this flag, so a JVM without the module never loads them.
 */
public final class VectorSupport {
  private VectorSupport() {}

  /** True when kernels use their Vector API path. */
  public static final boolean ENABLED = detect();

  private static boolean detect() {
    if (Boolean.getBoolean("sparkssm.scalar")) {
      return false;
    }
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }
}
