package org.sparkssm.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sparkssm.Checks;

/**
 * Writes a safetensors file that {@link Safetensors} (and Hugging Face's {@code safetensors}) read:
 * an 8-byte little-endian header length, a JSON header (Jackson) mapping each tensor name to its
 * dtype, shape and {@code data_offsets}, padded with spaces to a multiple of 8 bytes (so every
 * tensor's data starts 8-aligned, as the format allows), then the tensors' little-endian bytes in
 * the order they were added. F64 writes the doubles exactly; F32 rounds each to the nearest float.
 *
 * <p>The write is atomic: the file is written and forced to a temporary file in the target's
 * directory, then moved over the target (an atomic move where the file system has one), so a
 * reader sees the old file or the whole new one, never a part. The values are copied when added,
 * so the caller may go on changing its arrays.
 *
 * <pre>
 *   new SafetensorsWriter().add("w", Safetensors.DType.F32, values, 0, 3, 4).write(path);
 * </pre>
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final class Entry {
    final String name;
    final Safetensors.DType dtype;
    final long[] shape;
    final double[] values;

    Entry(String name, Safetensors.DType dtype, long[] shape, double[] values) {
      this.name = name;
      this.dtype = dtype;
      this.shape = shape;
      this.values = values;
    }
  }

  private final List<Entry> entries = new ArrayList<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  /**
   * Adds a tensor of {@code shape} (row-major; an empty shape is a scalar) from
   * {@code values[offset ..]}, the product of the shape many values.
   *
   * @throws IllegalArgumentException for a name already added or {@code __metadata__}, a dtype
   *     other than F64 or F32, a negative dimension, or too few values
   */
  public SafetensorsWriter add(String name, Safetensors.DType dtype, double[] values, int offset, long... shape) {
    Checks.notNull("name", name);
    Checks.notNull("dtype", dtype);
    Checks.notNull("values", values);
    Checks.notNull("shape", shape);
    if (name.equals("__metadata__")) {
      Checks.fail("tensor name: '__metadata__' is the header's metadata key, not a tensor name");
    }
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).name.equals(name)) {
        Checks.fail("tensor '%s': expected a new name, got one already added", name);
      }
    }
    if (dtype != Safetensors.DType.F64 && dtype != Safetensors.DType.F32) {
      Checks.fail("tensor '%s': expected dtype F64 or F32, got %s", name, dtype);
    }
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        Checks.fail("tensor '%s': expected non-negative dimensions, got %s", name, java.util.Arrays.toString(shape));
      }
      count *= shape[i];
      if (count > Integer.MAX_VALUE - 8) {
        Checks.fail("tensor '%s': shape %s has more than %d elements", name, java.util.Arrays.toString(shape),
            Integer.MAX_VALUE - 8);
      }
    }
    Checks.range("tensor '" + name + "' values", values, offset, count);
    double[] copy = java.util.Arrays.copyOfRange(values, offset, offset + (int) count);
    entries.add(new Entry(name, dtype, shape.clone(), copy));
    return this;
  }

  /** Adds a {@code __metadata__} string entry (e.g. {@code format = pt}). */
  public SafetensorsWriter metadata(String key, String value) {
    Checks.notNull("metadata key", key);
    Checks.notNull("metadata value", value);
    metadata.put(key, value);
    return this;
  }

  /** The header bytes, padded with spaces to a multiple of 8, and the data length. */
  private byte[] header() throws IOException {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode m = root.putObject("__metadata__");
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        m.put(e.getKey(), e.getValue());
      }
    }
    long offset = 0;
    for (int k = 0; k < entries.size(); k++) {
      Entry e = entries.get(k);
      ObjectNode t = root.putObject(e.name);
      t.put("dtype", e.dtype.name());
      ArrayNode shape = t.putArray("shape");
      for (int i = 0; i < e.shape.length; i++) {
        shape.add(e.shape[i]);
      }
      long bytes = (long) e.values.length * e.dtype.bytes;
      ArrayNode offsets = t.putArray("data_offsets");
      offsets.add(offset);
      offsets.add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(root);
    int padded = (json.length + 7) / 8 * 8;
    byte[] h = java.util.Arrays.copyOf(json, padded);
    java.util.Arrays.fill(h, json.length, padded, (byte) ' ');
    return h;
  }

  /**
   * Writes the file atomically (a temporary file in the same directory, forced, then moved over
   * {@code file}); on failure the temporary file is deleted and {@code file} is unchanged.
   */
  public void write(Path file) throws IOException {
    Checks.notNull("file", file);
    byte[] header = header();
    Path target = file.toAbsolutePath();
    writeAtomically(target, out -> {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
      out.write(header);
      ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < entries.size(); k++) {
        Entry e = entries.get(k);
        for (int i = 0; i < e.values.length; i++) {
          if (buf.remaining() < 8) {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
          }
          if (e.dtype == Safetensors.DType.F64) {
            buf.putDouble(e.values[i]);
          } else {
            buf.putFloat((float) e.values[i]);
          }
        }
      }
      out.write(buf.array(), 0, buf.position());
    });
  }

  /** What writes a file's bytes. */
  public interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  /**
   * Writes {@code file} atomically: {@code content} goes to a temporary file in the same
   * directory, which is forced to disk and moved over {@code file}; on failure the temporary file
   * is deleted and {@code file} is unchanged. For companions of a safetensors file (a config).
   */
  public static void writeAtomically(Path file, Content content) throws IOException {
    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
    boolean moved = false;
    try {
      try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
        content.writeTo(out);
      }
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      moved = true;
    } finally {
      if (!moved) {
        Files.deleteIfExists(tmp);
      }
    }
  }

  /** {@link #writeAtomically} of a UTF-8 string. */
  public static void writeAtomically(Path file, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    writeAtomically(file, out -> out.write(bytes));
  }
}
