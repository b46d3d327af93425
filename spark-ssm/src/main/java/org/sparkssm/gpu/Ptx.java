package org.sparkssm.gpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The kernels as PTX: {@code ssm_kernels.ptx.gz} (gzip-compressed text), built by {@code nvcc}
 * from {@code src/main/cuda/ssm_kernels.cu} where nvcc is installed ({@code src/main/cuda/build-ptx})
 * and committed as a resource, so a build without nvcc ships the same kernels. Its first line
 * records the SHA-256 of the source it was built from (PtxResourceTest fails when they differ).
 */
final class Ptx {
  static final String RESOURCE = "/org/sparkssm/gpu/ssm_kernels.ptx.gz";

  private Ptx() {}

  /** The PTX text, NUL-terminated as {@code cuModuleLoadData} reads it. */
  static byte[] text() {
    try (InputStream in = Ptx.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the kernels' PTX resource " + RESOURCE + " is missing from the class path");
      }
      byte[] body = new java.util.zip.GZIPInputStream(in).readAllBytes();
      byte[] out = java.util.Arrays.copyOf(body, body.length + 1);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + RESOURCE, e);
    }
  }

  /** The PTX ISA version a driver of {@code cuDriverGetVersion} reports understands, or null when unknown. */
  static String isaFor(int driverVersion) {
    int major = driverVersion / 1000;
    int minor = (driverVersion % 1000) / 10;
    if (major == 11) {
      return minor >= 8 ? "7.8" : "7." + minor;
    }
    if (major == 12) {
      // CUDA 12.0-12.4: ISA 8.0-8.4; 12.5 and 12.6: 8.5; 12.8: 8.7; 12.9: 8.8
      return minor <= 4 ? "8." + minor : minor <= 6 ? "8.5" : minor == 7 ? "8.6" : minor == 8 ? "8.7" : "8.8";
    }
    return null;
  }

  /** The PTX with its {@code .version} directive replaced (NUL-terminated). */
  static byte[] withVersion(byte[] ptx, String isa) {
    int n = ptx.length > 0 && ptx[ptx.length - 1] == 0 ? ptx.length - 1 : ptx.length;
    String text = new String(ptx, 0, n, StandardCharsets.US_ASCII);
    String changed = text.replaceFirst("(?m)^\\.version [0-9.]+$", ".version " + isa);
    byte[] body = changed.getBytes(StandardCharsets.US_ASCII);
    return java.util.Arrays.copyOf(body, body.length + 1);
  }
}
