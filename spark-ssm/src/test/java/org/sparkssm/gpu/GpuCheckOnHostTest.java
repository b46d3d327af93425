package org.sparkssm.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gpu/gpu-check's {@link GpuCheck} without a GPU: every check, on small shapes, through the kernels
 * compiled for the host. The harness matches each launch's arguments against the kernel's C
 * signature, so the direct launches of the timed part are checked here, and every parity row must
 * pass as it must on a GPU.
 */
class GpuCheckOnHostTest {
  @Test
  void everyCheckRunsItsLaunchesAndPassesItsParityOnTheHostKernels(@TempDir Path dir) throws Exception {
    Path tsv = dir.resolve("gpucheck.tsv");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    List<GpuCheck.Row> rows;
    try (EmulatedDevice dev = new EmulatedDevice();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8)) {
      rows = new GpuCheck(dev, GpuCheck.Shapes.onHost()).run(out, tsv);
    }
    String report = printed.toString(StandardCharsets.UTF_8);
    assertArrayEquals(new String[] {"diag_scan_real", "diag_scan_complex", "diag_scan_bwd", "selective_scan_fwd",
        "selective_scan_fwd_cpu1", "selective_scan_bwd", "s4d_convolution", "mamba_forward", "mamba_forward_hidden"},
        rows.stream().map(r -> r.kernel).toArray(String[]::new), report);
    for (GpuCheck.Row r : rows) {
      assertTrue(r.ms > 0, r.kernel + " was not timed: " + report);
      boolean checked = !r.kernel.equals("selective_scan_fwd_cpu1") && !r.kernel.equals("mamba_forward_hidden");
      assertEquals(checked ? "PASS" : "-", r.parity, r.kernel + ": " + r.note + "\n" + report);
    }
    List<String> lines = Files.readAllLines(tsv);
    assertEquals(GpuCheck.Row.TSV_HEADER, lines.get(0));
    assertEquals(rows.size() + 1, lines.size());
    for (String line : lines) {
      assertEquals(15, line.split("\t", -1).length, line);
    }
    assertTrue(report.contains("| kernel "), report);
  }

  @Test
  void theErrorIsTheLargestDifferenceOverTheLargestExpectedValueAndNanFails() {
    assertEquals(0.25, GpuCheck.relativeError(new double[] {2, -4}, new double[] {2, -3}), 1e-15);
    assertTrue(Double.isNaN(GpuCheck.relativeError(new double[] {1, 2}, new double[] {Double.NaN, 2})));
    GpuCheck.Parity p = new GpuCheck.Parity();
    p.add("a", new double[] {1}, new double[] {Double.NaN});
    p.add("b", new double[] {1}, new double[] {3});
    GpuCheck.Row row = new GpuCheck.Row("k");
    p.into(row, "shape", 1e-3);
    assertEquals("FAIL", row.parity);
    assertEquals("worst: a", row.note);
  }

  @Test
  void theDataSheetBoundsAreNamedByTheDriversDeviceName() {
    assertArrayEquals(new double[] {3350, 67}, GpuCheck.nominal("NVIDIA H100 80GB HBM3"));
    assertArrayEquals(new double[] {2000, 51}, GpuCheck.nominal("NVIDIA H100 PCIe"));
    assertArrayEquals(new double[] {4800, 67}, GpuCheck.nominal("NVIDIA H200"));
    assertNull(GpuCheck.nominal("NVIDIA A10G"));
  }
}
