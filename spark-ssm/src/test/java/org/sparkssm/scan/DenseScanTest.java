package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.reference.DenseScanReference;
import org.sparkssm.state.DenseChunkSummary;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class DenseScanTest {

  /** A random system scaled so the spectral radius of Ā is below 1 (row sums of |Ā| below 0.95). */
  static DenseSsm randomSystem(SplittableRandom rnd, int n, int m, int p, boolean withD) {
    double[] a = TestData.gaussian(rnd, n * n, 1.0);
    for (int i = 0; i < n; i++) {
      double rowSum = 0;
      for (int j = 0; j < n; j++) {
        rowSum += Math.abs(a[i * n + j]);
      }
      for (int j = 0; j < n; j++) {
        a[i * n + j] *= 0.95 / rowSum;
      }
    }
    return DenseSsm.of(n, m, a, TestData.gaussian(rnd, n * m, 1.0), p, p == 0 ? null : TestData.gaussian(rnd, p * n, 1.0),
        withD && p > 0 ? TestData.gaussian(rnd, p * m, 1.0) : null);
  }

  @Test
  void matchesReferenceForManyShapes() {
    int[][] shapes = {{1, 1, 1}, {4, 1, 2}, {8, 3, 5}, {13, 2, 1}};
    for (int[] shape : shapes) {
      for (int length : TestData.LENGTHS) {
        SplittableRandom rnd = new SplittableRandom(shape[0] * 100 + length);
        int n = shape[0];
        int in = shape[1];
        int out = shape[2];
        DenseSsm m = randomSystem(rnd, n, in, out, length % 2 == 1);
        double[] u = TestData.gaussian(rnd, length * in, 1.0);
        double[] h0 = TestData.gaussian(rnd, n, 1.0);

        double[] hRef = h0.clone();
        double[][] yRef = DenseScanReference.scan(DiagonalSystems.matrix(m.abar(), n, n),
            DiagonalSystems.matrix(m.bbar(), n, in), DiagonalSystems.matrix(m.c(), out, n),
            DiagonalSystems.matrix(m.d(), out, in), DiagonalSystems.matrix(u, length, in), hRef);
        double[] y = new double[length * out + 2];
        double[] h = h0.clone();
        DenseScan.scan(m, u, 0, y, 2, length, h);
        String what = "N=" + n + " M=" + in + " P=" + out + " L=" + length;
        assertClose(what + " y", length == 0 ? new double[0] : DiagonalSystems.flatten(yRef), 0, y, 2, length * out,
            Tolerances.F64);
        assertClose(what + " h", hRef, h, Tolerances.F64);

        double[] states = new double[length * n];
        double[] hs = h0.clone();
        DenseScan.scanStates(m, u, 0, states, 0, length, hs);
        double[] hCheck = h0.clone();
        double[][] statesRef = DenseScanReference.scan(DiagonalSystems.matrix(m.abar(), n, n),
            DiagonalSystems.matrix(m.bbar(), n, in), null, null, DiagonalSystems.matrix(u, length, in), hCheck);
        assertClose(what + " states", DiagonalSystems.flatten(statesRef), states, Tolerances.F64);
      }
    }
  }

  @Test
  void chunkedScanAndSummariesEqualOneShot() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (int trial = 0; trial < 10; trial++) {
      int n = 1 + rnd.nextInt(10);
      int in = 1 + rnd.nextInt(3);
      int length = 1 + rnd.nextInt(200);
      DenseSsm m = randomSystem(rnd, n, in, 2, true);
      double[] u = TestData.gaussian(rnd, length * in, 1.0);
      double[] h0 = TestData.gaussian(rnd, n, 1.0);
      double[] yOne = new double[length * 2];
      double[] hOne = h0.clone();
      DenseScan.scan(m, u, 0, yOne, 0, length, hOne);

      for (int[] cuts : new int[][] {TestData.randomCuts(rnd, length, 10), TestData.fixedCuts(length, 1),
          TestData.fixedCuts(length, 5), TestData.fixedCuts(length, length + 1)}) {
        double[] y = new double[length * 2];
        double[] h = h0.clone();
        List<DenseChunkSummary> parts = new ArrayList<>();
        for (int p = 0; p + 1 < cuts.length; p++) {
          DenseScan.scan(m, u, cuts[p] * in, y, cuts[p] * 2, cuts[p + 1] - cuts[p], h);
          parts.add(DenseScan.summarize(m, u, cuts[p] * in, cuts[p + 1] - cuts[p]));
        }
        assertClose("chunked y", yOne, y, Tolerances.CHUNKED);
        assertClose("chunked h", hOne, h, Tolerances.CHUNKED);

        DenseChunkSummary left = DenseChunkSummary.identity(n);
        for (DenseChunkSummary s : parts) {
          left = DenseChunkSummary.combine(left, s);
        }
        DenseChunkSummary right = DenseChunkSummary.identity(n);
        for (int p = parts.size() - 1; p >= 0; p--) {
          right = DenseChunkSummary.combine(parts.get(p), right);
        }
        assertEquals(length, left.steps());
        for (DenseChunkSummary total : new DenseChunkSummary[] {left, right}) {
          double[] hs = h0.clone();
          total.applyTo(hs);
          assertClose("summary applied to h0", hOne, hs, Tolerances.CHUNKED);
        }
      }
    }
  }

  @Test
  void badInputIsRejectedWithTheArgumentNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DenseSsm.of(3, 1, new double[8], new double[3], 0, null, null));
    assertTrue(e.getMessage().contains("Abar") && e.getMessage().contains("N*N"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> DenseSsm.of(2, 1, new double[] {0, Double.POSITIVE_INFINITY, 0, 0}, new double[2], 0, null, null));
    assertTrue(e.getMessage().contains("Abar") && e.getMessage().contains("Infinity"), e.getMessage());
    DenseSsm statesOnly = DenseSsm.of(2, 1, new double[4], new double[2], 0, null, null);
    e = assertThrows(IllegalArgumentException.class,
        () -> DenseScan.scan(statesOnly, new double[3], 0, new double[3], 0, 3, new double[2]));
    assertTrue(e.getMessage().contains("readout C"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> DenseScan.scanStates(statesOnly, new double[3], 0, new double[5], 0, 3, new double[2]));
    assertTrue(e.getMessage().startsWith("states:"), e.getMessage());
  }
}
