package org.sparkssm.gpu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The test double of a CUDA device: the kernels of {@code src/main/cuda/ssm_kernels.cu} compiled
 * for the host with {@code src/test/cuda/host_emulation.h} (one fiber per GPU thread, barriers
 * honoured) into {@code kernel_harness}, which runs scripts of launches. Buffers live here; launches
 * are queued and run, with every buffer's contents, when a download needs their results. Tests that
 * use it are skipped where there is no g++.
 */
final class EmulatedDevice implements Device {
  private static Path harness;

  private final Map<Integer, byte[]> buffers = new LinkedHashMap<>();
  private final Map<Integer, Buffer.Type> types = new LinkedHashMap<>();
  private final List<String> pending = new ArrayList<>();
  private int nextId;
  int launches;

  /** Compiles the harness once per test JVM, or skips the calling test where g++ is missing. */
  static synchronized Path harness() {
    if (harness == null) {
      Path gpp = Paths.get("/usr/bin/g++");
      Assumptions.assumeTrue(Files.isExecutable(gpp), "g++ is not installed: the kernels cannot run on the host");
      Path out = Paths.get("target", "kernel_harness").toAbsolutePath();
      run(List.of(gpp.toString(), "-std=c++17", "-O1", "-I", "src/test/cuda", "-o", out.toString(),
          "src/test/cuda/kernel_harness.cpp"), 300);
      harness = out;
    }
    return harness;
  }

  EmulatedDevice() {
    harness();
  }

  private static void run(List<String> command, int seconds) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] output = p.getInputStream().readAllBytes();
      if (!p.waitFor(seconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(command.get(0) + " failed: " + new String(output));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Buffer alloc(Buffer.Type type, long count) {
    int id = nextId++;
    buffers.put(id, new byte[(int) (Math.max(1, count) * type.bytes)]);
    types.put(id, type);
    return new Buffer(type, count, 0, id);
  }

  @Override
  public void free(Buffer buffer) {
    if (buffer != null && buffer.offset == 0) {
      flush(); // a queued launch may still use it
      buffers.remove((Integer) buffer.handle);
      types.remove((Integer) buffer.handle);
    }
  }

  @Override
  public void zero(Buffer buffer, long count) {
    buffer.require(buffer.type, count, "zero");
    flush();
    int from = (int) (buffer.offset * buffer.type.bytes);
    java.util.Arrays.fill(buffers.get((Integer) buffer.handle), from, from + (int) (count * buffer.type.bytes), (byte) 0);
  }

  private ByteBuffer view(Buffer b, int n) {
    byte[] bytes = buffers.get((Integer) b.handle);
    if (bytes == null) {
      throw new IllegalStateException("buffer " + b.handle + " was freed");
    }
    return ByteBuffer.wrap(bytes, (int) (b.offset * b.type.bytes), n * b.type.bytes).slice()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  @Override
  public void upload(Buffer dst, float[] src, int off, int n) {
    dst.require(Buffer.Type.F32, n, "upload");
    flush();
    view(dst, n).asFloatBuffer().put(src, off, n);
  }

  @Override
  public void upload(Buffer dst, double[] src, int off, int n) {
    dst.require(Buffer.Type.F64, n, "upload");
    flush();
    view(dst, n).asDoubleBuffer().put(src, off, n);
  }

  @Override
  public void upload(Buffer dst, int[] src, int off, int n) {
    dst.require(Buffer.Type.I32, n, "upload");
    flush();
    view(dst, n).asIntBuffer().put(src, off, n);
  }

  @Override
  public void download(Buffer src, float[] dst, int off, int n) {
    src.require(Buffer.Type.F32, n, "download");
    flush();
    view(src, n).asFloatBuffer().get(dst, off, n);
  }

  @Override
  public void download(Buffer src, double[] dst, int off, int n) {
    src.require(Buffer.Type.F64, n, "download");
    flush();
    view(src, n).asDoubleBuffer().get(dst, off, n);
  }

  @Override
  public void launch(String kernel, int gridX, int gridY, int blockX, Object... args) {
    StringBuilder line = new StringBuilder("launch ").append(kernel).append(' ').append(gridX).append(' ')
        .append(gridY).append(' ').append(blockX);
    for (Object a : args) {
      line.append(' ');
      if (a == null) {
        line.append('n');
      } else if (a instanceof Buffer) {
        Buffer b = (Buffer) a;
        line.append("p:b").append(b.handle).append(':').append(b.offset);
      } else if (a instanceof Integer) {
        line.append("i:").append(a);
      } else if (a instanceof Long) {
        line.append("l:").append(a);
      } else if (a instanceof Float) {
        line.append("f:").append(Float.floatToRawIntBits((Float) a));
      } else {
        throw new IllegalArgumentException(kernel + ": unsupported argument " + a.getClass());
      }
    }
    pending.add(line.toString());
    launches++;
  }

  /** Runs the queued launches on every buffer and reads the buffers back. */
  private void flush() {
    if (pending.isEmpty()) {
      return;
    }
    try {
      Path dir = Files.createTempDirectory(Paths.get("target"), "emulated");
      StringBuilder script = new StringBuilder();
      for (Map.Entry<Integer, byte[]> e : buffers.entrySet()) {
        Path f = dir.resolve("b" + e.getKey());
        Files.write(f, e.getValue());
        Buffer.Type t = types.get(e.getKey());
        script.append("buffer b").append(e.getKey()).append(' ').append(t.code).append(' ')
            .append(e.getValue().length / t.bytes).append(' ').append(f.toAbsolutePath()).append('\n');
      }
      for (String l : pending) {
        script.append(l).append('\n');
      }
      for (Integer id : buffers.keySet()) {
        script.append("write b").append(id).append(' ').append(dir.resolve("b" + id + ".out").toAbsolutePath())
            .append('\n');
      }
      Path file = dir.resolve("script");
      Files.writeString(file, script);
      pending.clear();
      run(List.of(harness.toString(), file.toString()), 600);
      for (Integer id : buffers.keySet()) {
        byte[] out = Files.readAllBytes(dir.resolve("b" + id + ".out"));
        System.arraycopy(out, 0, buffers.get(id), 0, out.length);
      }
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.delete(f);
        }
      }
      Files.delete(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String describe() {
    return "the kernels compiled for the host";
  }

  @Override
  public void close() {
    flush();
  }
}
