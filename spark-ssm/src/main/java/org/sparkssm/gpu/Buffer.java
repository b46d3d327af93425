package org.sparkssm.gpu;

/**
 * A typed device allocation, or a view of one from an element offset ({@link #at}). The handle is
 * the device's own (a {@code CUdeviceptr}, or the host test double's id); a view shares it.
 */
final class Buffer {
  enum Type {
    F32(4, "f32"), F64(8, "f64"), I32(4, "i32");

    final int bytes;
    final String code;

    Type(int bytes, String code) {
      this.bytes = bytes;
      this.code = code;
    }
  }

  final Type type;
  final long count; // elements from offset to the end of the allocation
  final long offset; // elements from the start of the allocation
  final Object handle;

  Buffer(Type type, long count, long offset, Object handle) {
    this.type = type;
    this.count = count;
    this.offset = offset;
    this.handle = handle;
  }

  /** The view from {@code elements} on. */
  Buffer at(long elements) {
    if (elements < 0 || elements > count) {
      throw new IllegalArgumentException("buffer view: offset " + elements + " outside [0, " + count + "]");
    }
    return new Buffer(type, count - elements, offset + elements, handle);
  }

  void require(Type t, long n, String what) {
    if (type != t) {
      throw new IllegalArgumentException(what + ": expected a " + t + " buffer, got " + type);
    }
    if (n < 0 || n > count) {
      throw new IllegalArgumentException(what + ": " + n + " elements do not fit a buffer of " + count);
    }
  }
}
