package org.sparkssm.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The choice between the GPU and the CPU where there is no driver (every CI machine): the probe
 * answers "no" with its reason instead of failing, {@code auto} and {@code false} choose the CPU,
 * {@code true} fails with one message naming the setting and what is missing.
 */
class GpuChoiceTest {
  @Test
  void withoutADriverAutoAndFalseChooseTheCpuAndTrueFailsNamingTheSetting() {
    Assumptions.assumeFalse(Gpu.available(), "this machine has a GPU");
    assertTrue(Gpu.unavailableReason().startsWith("no usable CUDA driver") || Gpu.unavailableReason().contains(
        "no device") || Gpu.unavailableReason().contains("disabled"), Gpu.unavailableReason());
    assertNull(Gpu.choose(GpuMode.AUTO, null));
    assertNull(Gpu.choose(GpuMode.AUTO, List.of("0")));
    assertNull(Gpu.choose(GpuMode.FALSE, List.of("0")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Gpu.choose(GpuMode.TRUE, List.of("0")));
    assertEquals(Gpu.SETTING + "=true but this executor has " + Gpu.unavailableReason(), e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }

  @Test
  void theSettingParsesItsThreeValuesAndNamesItselfOtherwise() {
    assertEquals(GpuMode.AUTO, GpuMode.parse(Gpu.SETTING, null));
    assertEquals(GpuMode.AUTO, GpuMode.parse(Gpu.SETTING, " Auto "));
    assertEquals(GpuMode.TRUE, GpuMode.parse(Gpu.SETTING, "TRUE"));
    assertEquals(GpuMode.FALSE, GpuMode.parse(Gpu.SETTING, "false"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GpuMode.parse(Gpu.SETTING, "yes"));
    assertEquals("spark.ssm.gpu.enabled: expected auto, true or false, got 'yes'", e.getMessage());
  }

  @Test
  void statesLargerThanTheKernelsHoldAreRefusedNamingN() {
    assertEquals("diag_scan_real_f32_n8", Gpu.entry("diag_scan_real", Gpu.StatePrecision.FLOAT32, 8));
    assertEquals("selective_scan_fwd_f64_n16", Gpu.entry("selective_scan_fwd", Gpu.StatePrecision.FLOAT64, 9));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Gpu.stateTile(65));
    assertTrue(e.getMessage().startsWith("N: the GPU kernels hold at most 64"), e.getMessage());
  }

  @Test
  void theProbeNamesTheMissingDriverLibraryFromJCudasReport() {
    String report = "Error while loading native library \"JCudaDriver-12.6.0-linux-x86_64\"\nOperating system name: Linux\n"
        + "java.lang.UnsatisfiedLinkError: /tmp/libJCudaDriver-12.6.0-linux-x86_64.so: libcuda.so.1: cannot open shared "
        + "object file: No such file or directory\n\tat java.base/jdk.internal.loader.NativeLibraries.load(Native Method)";
    assertEquals("libcuda.so.1: cannot open shared object file: No such file or directory",
        Cuda.cause(new UnsatisfiedLinkError(report)));
    assertEquals("CUDA_ERROR_NO_DEVICE", Cuda.cause(new RuntimeException("CUDA_ERROR_NO_DEVICE")));
    assertEquals("NullPointerException", Cuda.cause(new NullPointerException()));
  }
}
