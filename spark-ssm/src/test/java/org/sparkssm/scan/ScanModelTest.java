package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.TestData;

class ScanModelTest {

  private static ScanModel roundTrip(ScanModel m) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(m);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      return (ScanModel) in.readObject();
    }
  }

  @Test
  void everyModelScansThroughTheInterfaceAndSurvivesSerialization() throws Exception {
    SplittableRandom rnd = new SplittableRandom(8);
    ScanModel[] models = {
        DiagonalSystems.random(rnd, 3, 16, true, true),
        S5ScanTest.randomSystem(rnd, 3, 5, true),
        DenseScanTest.randomSystem(rnd, 4, 3, 2, true),
        DenseScanTest.randomSystem(rnd, 4, 3, 0, false), // no readout: outputs are the state
    };
    for (ScanModel m : models) {
      int length = 37;
      double[] u = TestData.gaussian(rnd, length * m.inputs(), 1.0);
      double[] y = new double[length * m.outputs()];
      double[] h = new double[m.stateSize()];
      m.scan(u, 0, y, 0, length, h);

      ScanModel copy = roundTrip(m);
      assertEquals(m.fingerprint(), copy.fingerprint());
      double[] y2 = new double[y.length];
      double[] h2 = new double[h.length];
      copy.scan(u, 0, y2, 0, length, h2);
      assertArrayEquals(y, y2, m.getClass().getSimpleName());
      assertArrayEquals(h, h2, m.getClass().getSimpleName());
    }
    DenseSsm memory = (DenseSsm) models[3];
    assertEquals(memory.stateDim(), memory.outputs());
    double[] u = TestData.gaussian(rnd, 5 * 3, 1.0);
    double[] states = new double[5 * 4];
    DenseScan.scanStates(memory, u, 0, states, 0, 5, new double[4]);
    double[] viaInterface = new double[5 * 4];
    memory.scan(u, 0, viaInterface, 0, 5, new double[4]);
    assertArrayEquals(states, viaInterface);
  }

  @Test
  void decayEqualsScanningZeroInputAndSplitsChunksLinearly() {
    SplittableRandom rnd = new SplittableRandom(9);
    ScanModel[] models = {
        DiagonalSystems.random(rnd, 2, 5, true, true),
        DiagonalSystems.random(rnd, 2, 5, false, false),
        S5ScanTest.randomSystem(rnd, 2, 4, true),
        DenseScanTest.randomSystem(rnd, 4, 2, 1, false),
    };
    for (ScanModel m : models) {
      String name = m.getClass().getSimpleName();
      long steps = 37;
      double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
      double[] viaScan = h0.clone();
      m.scan(new double[(int) steps * m.inputs()], 0, new double[(int) steps * m.outputs()], 0, (int) steps, viaScan);
      double[] viaDecay = h0.clone();
      m.decay(viaDecay, steps);
      org.sparkssm.testing.Tolerances.assertClose(name + " decay", viaScan, viaDecay, org.sparkssm.testing.Tolerances.F64);

      // End state from h0 = decay(h0, L) + end state from zero: the two-pass identity.
      int length = 53;
      double[] u = TestData.gaussian(rnd, length * m.inputs(), 1.0);
      double[] direct = h0.clone();
      m.scan(u, 0, new double[length * m.outputs()], 0, length, direct);
      double[] fromZero = new double[m.stateSize()];
      m.scan(u, 0, new double[length * m.outputs()], 0, length, fromZero);
      double[] stitched = h0.clone();
      m.decay(stitched, length);
      for (int i = 0; i < stitched.length; i++) {
        stitched[i] += fromZero[i];
      }
      org.sparkssm.testing.Tolerances.assertClose(name + " two-pass identity", direct, stitched,
          org.sparkssm.testing.Tolerances.CHUNKED);
    }
  }
}
