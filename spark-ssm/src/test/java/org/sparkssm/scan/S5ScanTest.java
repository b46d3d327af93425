package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.reference.S5ScanReference;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class S5ScanTest {

  static S5Ssm randomSystem(SplittableRandom rnd, int features, int modes, boolean skip) {
    double[] lr = new double[modes];
    double[] li = new double[modes];
    for (int p = 0; p < modes; p++) {
      double radius = 0.3 + 0.69 * rnd.nextDouble();
      double angle = Math.PI * rnd.nextDouble();
      lr[p] = radius * Math.cos(angle);
      li[p] = radius * Math.sin(angle);
    }
    return S5Ssm.of(features, modes, lr, li, TestData.gaussian(rnd, modes * features, 1.0),
        TestData.gaussian(rnd, modes * features, 1.0), TestData.gaussian(rnd, features * modes, 1.0),
        TestData.gaussian(rnd, features * modes, 1.0), skip ? TestData.gaussian(rnd, features, 1.0) : null);
  }

  private static double[][][] complexMatrix(double[] re, double[] im, int rows, int cols) {
    double[][][] m = new double[rows][cols][];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        m[r][c] = new double[] {re[r * cols + c], im[r * cols + c]};
      }
    }
    return m;
  }

  @Test
  void matchesReferenceForManyShapes() {
    int[][] shapes = {{1, 1}, {3, 4}, {6, 10}, {2, 17}};
    for (int[] shape : shapes) {
      for (int length : TestData.LENGTHS) {
        int features = shape[0];
        int modes = shape[1];
        SplittableRandom rnd = new SplittableRandom(features * 1000 + modes * 10 + length);
        S5Ssm m = randomSystem(rnd, features, modes, length % 2 == 0);
        double[] u = TestData.gaussian(rnd, length * features, 1.0);
        double[] h0 = TestData.gaussian(rnd, 2 * modes, 1.0);

        double[][] hRef = new double[modes][];
        for (int p = 0; p < modes; p++) {
          hRef[p] = new double[] {h0[p], h0[modes + p]};
        }
        double[][] lambda = new double[modes][];
        for (int p = 0; p < modes; p++) {
          lambda[p] = new double[] {m.lambdaRe[p], m.lambdaIm[p]};
        }
        double[][] yRef = S5ScanReference.scan(lambda, complexMatrix(m.bRe, m.bIm, modes, features),
            complexMatrix(m.cRe, m.cIm, features, modes), m.dSkip, DiagonalSystems.matrix(u, length, features), hRef);
        double[] y = new double[length * features];
        double[] h = h0.clone();
        S5Scan.scan(m, u, 0, y, 0, length, h);
        String what = "H=" + features + " P=" + modes + " L=" + length;
        assertClose(what + " y", DiagonalSystems.flatten(yRef), y, Tolerances.F64);
        double[] hExpected = new double[2 * modes];
        for (int p = 0; p < modes; p++) {
          hExpected[p] = hRef[p][0];
          hExpected[modes + p] = hRef[p][1];
        }
        assertClose(what + " h", hExpected, h, Tolerances.F64);
      }
    }
  }

  @Test
  void chunkedScanAndSummariesEqualOneShot() {
    SplittableRandom rnd = new SplittableRandom(9);
    for (int trial = 0; trial < 10; trial++) {
      int features = 1 + rnd.nextInt(4);
      int modes = 1 + rnd.nextInt(8);
      int length = 1 + rnd.nextInt(250);
      S5Ssm m = randomSystem(rnd, features, modes, true);
      double[] u = TestData.gaussian(rnd, length * features, 1.0);
      double[] h0 = TestData.gaussian(rnd, 2 * modes, 1.0);
      double[] yOne = new double[u.length];
      double[] hOne = h0.clone();
      S5Scan.scan(m, u, 0, yOne, 0, length, hOne);
      for (int[] cuts : new int[][] {TestData.randomCuts(rnd, length, 10), TestData.fixedCuts(length, 1),
          TestData.fixedCuts(length, 11), TestData.fixedCuts(length, length + 2)}) {
        double[] y = new double[u.length];
        double[] h = h0.clone();
        List<ChunkSummary> parts = new ArrayList<>();
        for (int p = 0; p + 1 < cuts.length; p++) {
          S5Scan.scan(m, u, cuts[p] * features, y, cuts[p] * features, cuts[p + 1] - cuts[p], h);
          parts.add(S5Scan.summarize(m, u, cuts[p] * features, cuts[p + 1] - cuts[p]));
        }
        assertClose("chunked y", yOne, y, Tolerances.CHUNKED);
        assertClose("chunked h", hOne, h, Tolerances.CHUNKED);
        ChunkSummary total = ChunkSummary.combineAll(modes, true, parts);
        assertClose("combined summaries", hOne, DiagonalScanTest.applyStacked(total, h0), Tolerances.CHUNKED);
      }
    }
  }

  @Test
  void badInputIsRejectedWithTheArgumentNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> S5Ssm.of(2, 3, new double[3], new double[3], new double[5], new double[6], new double[6], new double[6], null));
    assertTrue(e.getMessage().contains("BbarRe") && e.getMessage().contains("P*H"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> S5Ssm.of(1, 1, new double[] {1.2}, new double[] {0}, new double[1], new double[1], new double[1],
            new double[1], null).requireStable());
    assertTrue(e.getMessage().contains("LambdaBar") && e.getMessage().contains("stable"), e.getMessage());
    S5Ssm m = S5Ssm.of(2, 1, new double[1], new double[1], new double[2], new double[2], new double[2], new double[2], null);
    double[] buffer = new double[8];
    e = assertThrows(IllegalArgumentException.class, () -> S5Scan.scan(m, buffer, 0, buffer, 2, 3, new double[2]));
    assertTrue(e.getMessage().startsWith("y:") && e.getMessage().contains("overlap"), e.getMessage());
  }
}
