package org.sparkssm.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A safetensors file (the format of Hugging Face {@code safetensors}): an 8-byte little-endian
 * header length, a JSON header mapping each tensor name to its dtype, shape and byte range, then the
 * tensors' bytes. The header is parsed and checked whole when the file is opened; tensors are read
 * on demand from a read-only memory map and converted to {@code double} (F64, F32, F16, BF16).
 *
 * <p>Every defect is an {@link IllegalArgumentException} naming the file (and the tensor): a file
 * shorter than its header, a header length past the end or above {@link #MAX_HEADER_BYTES},
 * malformed JSON, an unknown dtype, a negative or overflowing shape, a byte range that is inverted,
 * past the end, does not match dtype × shape, or overlaps another tensor. Nothing is allocated from
 * an unchecked length, so a corrupt file cannot cause an {@code OutOfMemoryError} or a negative
 * array size. Tensors above 2^31 - 1 elements are rejected (they do not fit a Java array).
 */
public final class Safetensors {
  /** Header limit: real headers are kilobytes to a few megabytes; a larger length is corruption. */
  public static final long MAX_HEADER_BYTES = 100L << 20;

  /** Element types this reader converts. */
  public enum DType {
    F64(8), F32(4), F16(2), BF16(2);

    final int bytes;

    DType(int bytes) {
      this.bytes = bytes;
    }
  }

  /** One tensor's entry of the header. */
  public static final class Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final long begin;
    private final long end;

    Tensor(String name, DType dtype, long[] shape, long begin, long end) {
      this.name = name;
      this.dtype = dtype;
      this.shape = shape;
      this.begin = begin;
      this.end = end;
    }

    public String name() {
      return name;
    }

    public DType dtype() {
      return dtype;
    }

    public long[] shape() {
      return shape.clone();
    }

    /** Elements: the product of the shape (1 for a scalar). */
    public long elements() {
      return (end - begin) / dtype.bytes;
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path file;
  private final Map<String, Tensor> tensors;
  private final Map<String, String> metadata;
  private final long dataStart;

  private Safetensors(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, long dataStart) {
    this.file = file;
    this.tensors = tensors;
    this.metadata = metadata;
    this.dataStart = dataStart;
  }

  /** Reads and checks the header of {@code file}. */
  public static Safetensors open(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 8) {
        throw bad(file, "expected at least the 8-byte header length, got a file of %d bytes", size);
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lengthBytes, 0);
      long headerLength = lengthBytes.getLong(0);
      if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
        throw bad(file, "expected a header length in [2, %d] bytes, got %d", MAX_HEADER_BYTES, headerLength);
      }
      if (headerLength > size - 8) {
        throw bad(file, "header length %d runs past the end of the file (%d bytes after the length)", headerLength,
            size - 8);
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLength);
      readFully(ch, header, 8);
      JsonNode root;
      try {
        root = JSON.readTree(header.array());
      } catch (JsonProcessingException e) {
        throw bad(file, "expected a JSON header, got malformed JSON: %s", e.getOriginalMessage());
      }
      if (root == null || !root.isObject()) {
        throw bad(file, "expected a JSON object as the header, got %s", root == null ? "nothing" : root.getNodeType());
      }
      long dataLength = size - 8 - headerLength;
      Map<String, Tensor> tensors = new LinkedHashMap<>();
      Map<String, String> metadata = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          readMetadata(file, e.getValue(), metadata);
        } else {
          tensors.put(e.getKey(), tensor(file, e.getKey(), e.getValue(), dataLength));
        }
      }
      checkNoOverlap(file, tensors);
      return new Safetensors(file, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata),
          8 + headerLength);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer into, long position) throws IOException {
    long at = position;
    while (into.hasRemaining()) {
      int n = ch.read(into, at);
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
      at += n;
    }
  }

  private static void readMetadata(Path file, JsonNode node, Map<String, String> into) {
    if (!node.isObject()) {
      throw bad(file, "__metadata__: expected an object of strings, got %s", node.getNodeType());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw bad(file, "__metadata__ '%s': expected a string, got %s", e.getKey(), e.getValue().getNodeType());
      }
      into.put(e.getKey(), e.getValue().asText());
    }
  }

  private static Tensor tensor(Path file, String name, JsonNode node, long dataLength) {
    if (!node.isObject()) {
      throw bad(file, "tensor '%s': expected an object with dtype, shape and data_offsets, got %s", name,
          node.getNodeType());
    }
    JsonNode dtypeNode = node.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw bad(file, "tensor '%s': expected a dtype string, got %s", name, dtypeNode);
    }
    DType dtype;
    try {
      dtype = DType.valueOf(dtypeNode.asText());
    } catch (IllegalArgumentException e) {
      throw bad(file, "tensor '%s': expected dtype F64, F32, F16 or BF16, got '%s'", name, dtypeNode.asText());
    }
    JsonNode shapeNode = node.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw bad(file, "tensor '%s': expected a shape array, got %s", name, shapeNode);
    }
    long[] shape = new long[shapeNode.size()];
    long elements = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode dim = shapeNode.get(i);
      if (!dim.isIntegralNumber() || !dim.canConvertToLong() || dim.asLong() < 0) {
        throw bad(file, "tensor '%s': expected non-negative integer dimensions, got %s", name, shapeNode);
      }
      shape[i] = dim.asLong();
      if (shape[i] != 0 && elements > Integer.MAX_VALUE / shape[i]) {
        throw bad(file, "tensor '%s': shape %s has more than %d elements", name, shapeNode, Integer.MAX_VALUE);
      }
      elements *= shape[i];
    }
    JsonNode offsets = node.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).canConvertToLong()
        || !offsets.get(1).canConvertToLong() || !offsets.get(0).isIntegralNumber()
        || !offsets.get(1).isIntegralNumber()) {
      throw bad(file, "tensor '%s': expected data_offsets [begin, end], got %s", name, offsets);
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin) {
      throw bad(file, "tensor '%s': expected 0 <= begin <= end in data_offsets, got [%d, %d]", name, begin, end);
    }
    if (end > dataLength) {
      throw bad(file, "tensor '%s': data_offsets end %d runs past the data (%d bytes; the file is truncated?)", name,
          end, dataLength);
    }
    if (end - begin != elements * dtype.bytes) {
      throw bad(file, "tensor '%s': expected %d bytes for %s %s, got data_offsets [%d, %d] (%d bytes)", name,
          elements * dtype.bytes, dtype, shapeNode, begin, end, end - begin);
    }
    return new Tensor(name, dtype, shape, begin, end);
  }

  private static void checkNoOverlap(Path file, Map<String, Tensor> tensors) {
    List<Tensor> byStart = new ArrayList<>(tensors.values());
    byStart.sort((a, b) -> Long.compare(a.begin, b.begin));
    for (int i = 1; i < byStart.size(); i++) {
      Tensor prev = byStart.get(i - 1);
      Tensor cur = byStart.get(i);
      if (cur.begin < prev.end) {
        throw bad(file, "tensors '%s' and '%s': expected disjoint data_offsets, got [%d, %d] and [%d, %d]", prev.name,
            cur.name, prev.begin, prev.end, cur.begin, cur.end);
      }
    }
  }

  /** IEEE 754 binary16 to double, exactly (subnormals, infinities and NaN included). */
  static double halfToDouble(short bits) {
    int sign = (bits & 0x8000) != 0 ? -1 : 1;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) {
      return mantissa == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
    }
    if (exponent == 0) {
      return sign * Math.scalb((double) mantissa, -24); // subnormal: mantissa · 2^-24
    }
    return sign * Math.scalb((double) (mantissa | 0x400), exponent - 25);
  }

  static IllegalArgumentException bad(Path file, String format, Object... args) {
    return new IllegalArgumentException(file + ": " + String.format(java.util.Locale.ROOT, format, args));
  }

  public Path file() {
    return file;
  }

  /** Tensor names in header order. */
  public List<String> names() {
    return new ArrayList<>(tensors.keySet());
  }

  /** The header's {@code __metadata__} (empty when absent). */
  public Map<String, String> metadata() {
    return metadata;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The header entry of {@code name}; throws naming the file and the tensor when absent. */
  public Tensor tensor(String name) {
    Tensor t = tensors.get(name);
    if (t == null) {
      throw bad(file, "expected a tensor '%s', got none among %d tensors", name, tensors.size());
    }
    return t;
  }

  /** The tensor's values as doubles (row-major), whatever its shape. */
  public double[] read(String name) throws IOException {
    return read(name, (long[]) null);
  }

  /**
   * The tensor's values as doubles (row-major), checked against {@code expectedShape} (null: any).
   * F16 and BF16 are widened exactly; F32 and F64 are exact too.
   */
  public double[] read(String name, long... expectedShape) throws IOException {
    Tensor t = tensor(name);
    if (expectedShape != null && !java.util.Arrays.equals(expectedShape, t.shape)) {
      throw bad(file, "tensor '%s': expected shape %s, got %s", name, java.util.Arrays.toString(expectedShape),
          java.util.Arrays.toString(t.shape));
    }
    int n = (int) t.elements();
    double[] out = new double[n];
    if (n == 0) {
      return out;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      if (dataStart + t.end > ch.size()) {
        throw bad(file, "tensor '%s': the file shrank to %d bytes since it was opened", name, ch.size());
      }
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin, t.end - t.begin);
      map.order(ByteOrder.LITTLE_ENDIAN);
      switch (t.dtype) {
        case F64:
          for (int i = 0; i < n; i++) {
            out[i] = map.getDouble(8 * i);
          }
          break;
        case F32:
          for (int i = 0; i < n; i++) {
            out[i] = map.getFloat(4 * i);
          }
          break;
        case F16:
          for (int i = 0; i < n; i++) {
            out[i] = halfToDouble(map.getShort(2 * i));
          }
          break;
        case BF16:
          for (int i = 0; i < n; i++) {
            out[i] = Float.intBitsToFloat((map.getShort(2 * i) & 0xffff) << 16);
          }
          break;
        default:
          throw new AssertionError(t.dtype);
      }
    }
    return out;
  }
}
