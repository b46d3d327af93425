package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.state.Carry;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.testing.TestData;

/**
 * {@link ScanModel#carry}: a sequence cut at random points, each chunk scanned from zero, the
 * chunks' carries combined left to right or in a random grouping and applied to a random incoming
 * state, equals the one-shot scan's end state from that state (a reference: the model's own scan).
 * Tolerance 1e-12 relative to the state's scale (the carries reorder sums of the same terms).
 */
class CarryTest {
  private static final double TOL = 1e-12;

  private static void carriesComposeToTheOneShotEndState(ScanModel m, SplittableRandom rnd) {
    int length = 300;
    double[] u = TestData.gaussian(rnd, length * m.inputs(), 1.0);
    double[] h0 = TestData.gaussian(rnd, m.stateSize(), 1.0);
    double[] expected = h0.clone();
    m.scan(u, 0, new double[length * m.outputs()], 0, length, expected);

    List<Carry> chunks = new ArrayList<>();
    int at = 0;
    while (at < length) {
      int len = Math.min(length - at, rnd.nextInt(60)); // empty chunks included
      double[] end = new double[m.stateSize()];
      m.scan(u, at * m.inputs(), new double[Math.max(1, len) * m.outputs()], 0, len, end);
      chunks.add(m.carry(len, end));
      at += len;
    }
    Carry leftToRight = chunks.get(0);
    for (int i = 1; i < chunks.size(); i++) {
      leftToRight = leftToRight.then(chunks.get(i));
    }
    assertClose(expected, applied(leftToRight, h0), m + " left to right");
    assertClose(expected, applied(grouped(chunks, rnd), h0), m + " in a random grouping");

    double[] sequential = h0.clone(); // the walk the two-pass scan did before: one chunk at a time
    for (Carry c : chunks) {
      c.applyTo(sequential);
    }
    assertClose(expected, sequential, m + " one at a time");
  }

  /** The chunks combined as a random binary tree. */
  private static Carry grouped(List<Carry> chunks, SplittableRandom rnd) {
    if (chunks.size() == 1) {
      return chunks.get(0);
    }
    int cut = 1 + rnd.nextInt(chunks.size() - 1);
    return grouped(chunks.subList(0, cut), rnd).then(grouped(chunks.subList(cut, chunks.size()), rnd));
  }

  private static double[] applied(Carry c, double[] h0) {
    double[] h = h0.clone();
    c.applyTo(h);
    return h;
  }

  private static void assertClose(double[] expected, double[] actual, String what) {
    double scale = 1;
    for (double v : expected) {
      scale = Math.max(scale, Math.abs(v));
    }
    for (int k = 0; k < expected.length; k++) {
      assertEquals(expected[k], actual[k], TOL * scale, what + " state " + k);
    }
  }

  @Test
  void diagonalDenseAndS5CarriesComposeToTheOneShotEndState() {
    SplittableRandom rnd = new SplittableRandom(31);
    carriesComposeToTheOneShotEndState(DiagonalSystems.random(rnd, 3, 4, false, true), rnd);
    carriesComposeToTheOneShotEndState(DiagonalSystems.random(rnd, 2, 5, true, false), rnd);
    carriesComposeToTheOneShotEndState(DenseScanTest.randomSystem(rnd, 6, 2, 3, true), rnd);
    carriesComposeToTheOneShotEndState(S5ScanTest.randomSystem(rnd, 2, 4, true), rnd);
  }

  @Test
  void aComplexChunkSummaryActsOnRealThenImaginaryParts() {
    ChunkSummary s = ChunkSummary.complex(new double[] {0.5, 0.0}, new double[] {0.5, 1.0}, new double[] {1, 2},
        new double[] {3, 4}, 7);
    double[] h = {1, 1, 0, 2}; // 1 + 0i, 1 + 2i
    s.applyTo(h);
    // (0.5 + 0.5i)(1) + (1 + 3i) = 1.5 + 3.5i; (i)(1 + 2i) + (2 + 4i) = 0 + 5i
    assertEquals(List.of(1.5, 0.0, 3.5, 5.0), List.of(h[0], h[1], h[2], h[3]));
    assertEquals(4, s.stateSize());
  }

  @Test
  void carriesOfAnotherModelDoNotCompose() {
    SplittableRandom rnd = new SplittableRandom(5);
    DiagonalSsm a = DiagonalSystems.random(rnd, 1, 2, false, false);
    DiagonalSsm b = DiagonalSystems.random(rnd, 1, 2, false, false);
    Carry ca = a.carry(3, new double[2]);
    Carry cb = b.carry(3, new double[2]);
    assertThrows(IllegalArgumentException.class, () -> ca.then(cb));
  }
}
