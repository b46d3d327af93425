package org.sparkssm.gpu;

/**
 * Copies between the CPU kernels' float64 arrays and device buffers: data goes to the device as
 * float32, state and parameters in the precision asked for. Conversions go through one reused host
 * array per instance, in blocks (the device's pinned buffer does the rest), so nothing is allocated
 * per call once the largest call has been seen, and a model's weights pass without a copy of their size.
 */
final class DeviceArrays {
  private final Device device;
  private float[] floats = new float[0];
  private double[] doubles = new double[0];

  DeviceArrays(Device device) {
    this.device = device;
  }

  float[] floats(int n) {
    if (floats.length < n) {
      floats = new float[n];
    }
    return floats;
  }

  double[] doubles(int n) {
    if (doubles.length < n) {
      doubles = new double[n];
    }
    return doubles;
  }

  /** A new buffer of {@code type} holding {@code values[off .. off + n)} (float32 rounded for F32). */
  Buffer of(Buffer.Type type, double[] values, int off, int n) {
    Buffer b = device.alloc(type, n);
    put(b, values, off, n);
    return b;
  }

  /** Float32 conversions go through host blocks of at most this many values (a model's weights need not fit one). */
  static final int BLOCK = 1 << 20;

  /** {@code values[off .. off + n)} into {@code b} (rounded to float32 for an F32 buffer). */
  void put(Buffer b, double[] values, int off, int n) {
    if (b.type == Buffer.Type.F64) {
      device.upload(b, values, off, n);
      return;
    }
    float[] f = floats(Math.min(n, BLOCK));
    for (int done = 0; done < n; done += BLOCK) {
      int k = Math.min(BLOCK, n - done);
      for (int i = 0; i < k; i++) {
        f[i] = (float) values[off + done + i];
      }
      device.upload(b.at(done), f, 0, k);
    }
  }

  /** {@code b}'s first n elements into {@code values[off ..)} as doubles. */
  void get(Buffer b, double[] values, int off, int n) {
    if (b.type == Buffer.Type.F64) {
      device.download(b, values, off, n);
      return;
    }
    float[] f = floats(Math.min(n, BLOCK));
    for (int done = 0; done < n; done += BLOCK) {
      int k = Math.min(BLOCK, n - done);
      device.download(b.at(done), f, 0, k);
      for (int i = 0; i < k; i++) {
        values[off + done + i] = f[i];
      }
    }
  }

  /** Buffer of at least n elements: {@code current} when it holds them, else a new one (the old freed). */
  Buffer ensure(Buffer current, Buffer.Type type, long n) {
    if (current != null && current.count >= n) {
      return current;
    }
    if (current != null) {
      device.free(current);
    }
    return device.alloc(type, Math.max(1, n));
  }
}
