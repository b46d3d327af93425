package org.sparkssm.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The kernels ship as PTX: present on the class path, built from the current CUDA source (the
 * committed resource too, so a build without nvcc ships the same kernels), with an entry point
 * for every kernel the Java side launches, and valid for an H100 under {@code ptxas -arch=sm_90}
 * where ptxas is installed, as written and as a driver of CUDA 12.x is given it.
 */
class PtxResourceTest {
  static final Path SOURCE = Paths.get("src/main/cuda/ssm_kernels.cu");
  static final Path COMMITTED = Paths.get("src/main/resources/org/sparkssm/gpu/ssm_kernels.ptx.gz");

  static String text(byte[] ptx) {
    int n = ptx.length > 0 && ptx[ptx.length - 1] == 0 ? ptx.length - 1 : ptx.length;
    return new String(ptx, 0, n, StandardCharsets.US_ASCII);
  }

  static String sourceHash() throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(SOURCE));
    return HexFormat.of().formatHex(digest);
  }

  /** Every entry point the launchers name. */
  static List<String> entries() {
    List<String> names = new ArrayList<>(List.of("reduce_groups", "reduce_batch_f64", "reduce_batch_f32", "embed_rows",
        "matmul_xwt", "add_norm", "causal_conv1d", "gated_group_norm", "kconv_fwd", "kconv_bwd_input",
        "kconv_bwd_kernel"));
    for (String kernel : new String[] {"diag_scan_real", "diag_scan_complex", "diag_chunk_states", "diag_scan_bwd",
        "diag_carry", "selective_scan_fwd", "selective_scan_bwd", "selective_carry"}) {
      for (Gpu.StatePrecision p : Gpu.StatePrecision.values()) {
        for (int n : new int[] {1, 9, 17, 33}) {
          names.add(Gpu.entry(kernel, p, n));
        }
      }
    }
    return names;
  }

  @Test
  void theResourceIsBuiltFromTheCurrentSourceAndHasEveryEntryPoint() throws Exception {
    String hash = sourceHash();
    String loaded = text(Ptx.text());
    assertTrue(loaded.startsWith("// source-sha256: " + hash), "the PTX on the class path was not built from "
        + SOURCE + ": run src/main/cuda/build-ptx");
    String committed;
    try (java.io.InputStream in = new java.util.zip.GZIPInputStream(Files.newInputStream(COMMITTED))) {
      committed = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
    assertTrue(committed.startsWith("// source-sha256: " + hash), "the committed " + COMMITTED
        + " was not built from the current " + SOURCE + ": run src/main/cuda/build-ptx and commit it");
    for (String e : entries()) {
      assertTrue(loaded.contains(".entry " + e + "("), "no entry point " + e);
    }
    assertTrue(loaded.contains("\n.target sm_80"), "expected PTX for compute_80 (A100 and later)");
  }

  @Test
  void aDriverOfCuda12IsGivenTheIsaVersionItReads() {
    assertEquals("8.5", Ptx.isaFor(12060));
    assertEquals("8.4", Ptx.isaFor(12040));
    assertEquals("8.7", Ptx.isaFor(12080));
    assertEquals("7.8", Ptx.isaFor(11080));
    assertEquals(null, Ptx.isaFor(13000));
    String lowered = text(Ptx.withVersion(Ptx.text(), "8.0"));
    assertTrue(lowered.contains("\n.version 8.0\n"));
    assertEquals(text(Ptx.text()).replaceFirst("\n\\.version [0-9.]+\n", "\n.version 8.0\n"), lowered);
  }

  @Test
  void ptxasAcceptsThePtxForAnH100AsWrittenAndForACuda12Driver() throws Exception {
    Path ptxas = Paths.get("/usr/local/cuda/bin/ptxas");
    Assumptions.assumeTrue(Files.isExecutable(ptxas), "ptxas is not installed");
    Path dir = Files.createTempDirectory(Paths.get("target"), "ptxas");
    Path asWritten = dir.resolve("kernels.ptx");
    Path cuda12 = dir.resolve("kernels-8.0.ptx");
    Files.writeString(asWritten, text(Ptx.text()));
    Files.writeString(cuda12, text(Ptx.withVersion(Ptx.text(), "8.0")));
    for (Path p : new Path[] {asWritten, cuda12}) {
      Process proc = new ProcessBuilder(ptxas.toString(), "-arch=sm_90", "-o", dir.resolve("out.cubin").toString(),
          p.toString()).redirectErrorStream(true).start();
      String out = new String(proc.getInputStream().readAllBytes());
      assertTrue(proc.waitFor(300, TimeUnit.SECONDS), "ptxas timed out");
      assertEquals(0, proc.exitValue(), "ptxas -arch=sm_90 " + p.getFileName() + ": " + out);
    }
  }
}
