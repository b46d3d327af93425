package org.sparkssm.scan;

import java.util.SplittableRandom;
import org.sparkssm.testing.TestData;

/** Random stable diagonal systems and layout conversions shared by the diagonal-scan tests. */
final class DiagonalSystems {
  private DiagonalSystems() {}

  static DiagonalSsm random(SplittableRandom rnd, int dim, int n, boolean complex, boolean skip) {
    int size = dim * n;
    double[] dSkip = skip ? TestData.gaussian(rnd, dim, 1.0) : null;
    if (!complex) {
      return DiagonalSsm.real(dim, n, TestData.uniform(rnd, size, -0.98, 0.98), TestData.gaussian(rnd, size, 1.0),
          TestData.gaussian(rnd, size, 1.0), dSkip);
    }
    double[] aRe = new double[size];
    double[] aIm = new double[size];
    for (int i = 0; i < size; i++) {
      double radius = 0.5 + 0.49 * rnd.nextDouble();
      double angle = Math.PI * (2 * rnd.nextDouble() - 1);
      aRe[i] = radius * Math.cos(angle);
      aIm[i] = radius * Math.sin(angle);
    }
    return DiagonalSsm.complex(dim, n, aRe, aIm, TestData.gaussian(rnd, size, 1.0), TestData.gaussian(rnd, size, 1.0),
        TestData.gaussian(rnd, size, 1.0), TestData.gaussian(rnd, size, 1.0), dSkip);
  }

  static double[][] matrix(double[] flat, int rows, int cols) {
    if (flat == null) {
      return null;
    }
    double[][] m = new double[rows][cols];
    for (int r = 0; r < rows; r++) {
      System.arraycopy(flat, r * cols, m[r], 0, cols);
    }
    return m;
  }

  static double[] flatten(double[][] m) {
    int cols = m.length == 0 ? 0 : m[0].length;
    double[] flat = new double[m.length * cols];
    for (int r = 0; r < m.length; r++) {
      System.arraycopy(m[r], 0, flat, r * cols, cols);
    }
    return flat;
  }

  /** Result of the reference twin: outputs (L*D, time-major) and the final state in kernel layout. */
  static final class Result {
    final double[] y;
    final double[] h;

    Result(double[] y, double[] h) {
      this.y = y;
      this.h = h;
    }
  }

  static Result reference(DiagonalSsm m, double[] u, int length, double[] h0) {
    int dim = m.channels();
    int n = m.stateDim();
    int size = dim * n;
    double[][] hRe = matrix(java.util.Arrays.copyOfRange(h0, 0, size), dim, n);
    double[][] hIm = m.isComplex() ? matrix(java.util.Arrays.copyOfRange(h0, size, 2 * size), dim, n) : null;
    double[][] y = org.sparkssm.scan.reference.DiagonalScanReference.scan(matrix(m.abarRe(), dim, n),
        matrix(m.abarIm(), dim, n), matrix(m.bbarRe(), dim, n), matrix(m.bbarIm(), dim, n), matrix(m.cRe(), dim, n),
        matrix(m.cIm(), dim, n), m.dSkip(), matrix(u, length, dim), hRe, hIm);
    double[] h = new double[m.stateSize()];
    System.arraycopy(flatten(hRe), 0, h, 0, size);
    if (hIm != null) {
      System.arraycopy(flatten(hIm), 0, h, size, size);
    }
    return new Result(length == 0 ? new double[0] : flatten(y), h);
  }
}
