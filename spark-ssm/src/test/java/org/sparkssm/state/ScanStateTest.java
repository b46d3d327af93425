package org.sparkssm.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.TestData;

class ScanStateTest {

  @Test
  void roundTripsThroughBytes() {
    double[] h = TestData.gaussian(new SplittableRandom(1), 37, 1.0);
    h[3] = Double.NaN;
    h[4] = -0.0;
    ScanState state = ScanState.of(0x1234_5678_9abc_def0L, 12_345_678_901L, h);
    ScanState back = ScanState.fromBytes(state.toBytes(), 0x1234_5678_9abc_def0L, "series 'a'");
    assertEquals(state, back);
    assertEquals(12_345_678_901L, back.position());
    // Bit patterns survive (NaN payload, negative zero).
    assertArrayEquals(h, back.hidden());
    assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(back.hidden()[4]));
  }

  @Test
  void advanceMovesThePositionAndCopiesTheState() {
    ScanState s0 = ScanState.initial(7L, 3);
    double[] h = {1, 2, 3};
    ScanState s1 = s0.advance(10, h);
    h[0] = 99;
    assertEquals(10, s1.position());
    assertArrayEquals(new double[] {1, 2, 3}, s1.hidden());
    assertArrayEquals(new double[3], s0.hidden());
    assertEquals(7L, s1.fingerprint());
  }

  @Test
  void rejectsAnotherModelsState() {
    byte[] bytes = ScanState.of(1L, 5, new double[2]).toBytes();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ScanState.fromBytes(bytes, 2L, "series 'b'"));
    assertTrue(e.getMessage().contains("series 'b'") && e.getMessage().contains("fingerprint"), e.getMessage());
  }

  @Test
  void rejectsEveryCorruptionWithTheSourceNamed() {
    byte[] good = ScanState.of(1L, 5, new double[] {1, 2, 3}).toBytes();
    SplittableRandom rnd = new SplittableRandom(4);
    // Every truncation, and random single-byte flips, are rejected (checksum, length, magic, version).
    for (int len = 0; len < good.length; len++) {
      byte[] cut = Arrays.copyOf(good, len);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScanState.fromBytes(cut, "file x"));
      assertTrue(e.getMessage().contains("file x"), e.getMessage());
    }
    for (int trial = 0; trial < 200; trial++) {
      byte[] bad = good.clone();
      int at = rnd.nextInt(bad.length);
      bad[at] ^= (byte) (1 + rnd.nextInt(255));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScanState.fromBytes(bad, "file y"));
      assertTrue(e.getMessage().contains("file y"), e.getMessage());
    }
    byte[] longer = Arrays.copyOf(good, good.length + 8);
    assertThrows(IllegalArgumentException.class, () -> ScanState.fromBytes(longer, "z"));
    assertThrows(IllegalArgumentException.class, () -> ScanState.fromBytes(null, "z"));
  }

  @Test
  void fingerprintsSeparateModels() {
    long a = new Fingerprint().add("m").add(new double[] {1, 2}).value();
    long b = new Fingerprint().add("m").add(new double[] {1, 2.0000000001}).value();
    long c = new Fingerprint().add("m").add(new double[] {1, 2}).value();
    assertNotEquals(a, b);
    assertEquals(a, c);
  }
}
