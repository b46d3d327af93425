package org.sparkssm.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Float32 conversions across the host block boundary, into a view, and back. */
class DeviceArraysTest {
  @Test
  void valuesCrossTheBlockBoundaryRoundedToFloat32() {
    int n = DeviceArrays.BLOCK + 3;
    double[] values = new double[n + 2];
    for (int i = 0; i < values.length; i++) {
      values[i] = i + 0.1;
    }
    try (EmulatedDevice dev = new EmulatedDevice()) {
      DeviceArrays arrays = new DeviceArrays(dev);
      Buffer b = dev.alloc(Buffer.Type.F32, n + 5);
      arrays.put(b.at(5), values, 2, n); // into a view, from an offset
      double[] back = new double[n];
      arrays.get(b.at(5), back, 0, n);
      double[] expected = new double[n];
      for (int i = 0; i < n; i++) {
        expected[i] = (float) values[i + 2];
      }
      assertArrayEquals(expected, back);
      float[] head = new float[5];
      dev.download(b, head, 0, 5);
      assertArrayEquals(new float[5], head); // nothing written before the view
      assertEquals(0, dev.launches);
    }
  }
}
