package org.sparkssm.gpu;

/**
 * Copies between the CPU kernels' float64 arrays and device buffers: data goes to the device as
 * float32, state and parameters in the precision asked for. Every copy goes through one reused
 * host array per instance (the device's pinned buffer does the rest), so nothing is allocated per
 * call once the largest call has been seen.
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

  /** {@code values[off .. off + n)} into {@code b} (rounded to float32 for an F32 buffer). */
  void put(Buffer b, double[] values, int off, int n) {
    if (b.type == Buffer.Type.F64) {
      device.upload(b, values, off, n);
    } else {
      float[] f = floats(n);
      for (int i = 0; i < n; i++) {
        f[i] = (float) values[off + i];
      }
      device.upload(b, f, 0, n);
    }
  }

  /** {@code b}'s first n elements into {@code values[off ..)} as doubles. */
  void get(Buffer b, double[] values, int off, int n) {
    if (b.type == Buffer.Type.F64) {
      device.download(b, values, off, n);
    } else {
      float[] f = floats(n);
      device.download(b, f, 0, n);
      for (int i = 0; i < n; i++) {
        values[off + i] = f[i];
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
