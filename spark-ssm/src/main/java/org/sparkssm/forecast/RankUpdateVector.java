package org.sparkssm.forecast;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel of {@link RidgeStats}' rank-k update, loaded only when
 * {@link org.sparkssm.scan.VectorSupport#ENABLED}: {@code C += Aᵀ B} over a block of rows, for
 * {@code XᵀX} (A = B = X, upper triangle) and {@code XᵀY} (A = X, B = Y).
 *
 * <p>Why this shape: the scalar update streams a row of C through memory for every sample, so it
 * is bound by loads and stores of C (about half an FMA per cycle). Here a 4 × 2·LANES tile of C
 * lives in eight vector registers while all rows of the block pass through it: each row costs two
 * vector loads of B, four broadcasts of A and eight FMAs, which makes the kernel FMA-bound. The
 * tile is added to C once per block.
 */
final class RankUpdateVector {
  private RankUpdateVector() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  /** Rows of C per register tile. */
  private static final int TILE_ROWS = 4;
  /** Columns of C per register tile. */
  private static final int TILE_COLS = 2 * LANES;

  /**
   * {@code c[i * ldc + j] += Σ_r a[aOff + r * lda + i] · b[bOff + r * ldb + j]} for every
   * {@code i < m} and {@code j < n}, or only {@code j >= i} when {@code upper} (entries left of the
   * diagonal inside a tile are written too; callers read the upper triangle only).
   */
  static void addAtB(double[] a, int aOff, int lda, double[] b, int bOff, int ldb, int rows, double[] c, int ldc,
      int m, int n, boolean upper) {
    int i = 0;
    for (; i + TILE_ROWS <= m; i += TILE_ROWS) {
      int j = 0;
      if (upper) {
        // From the diagonal rounded left to whole vectors up to n where it fits: a few entries left
        // of the diagonal cost less than the strided dot products of a scalar tail.
        int whole = n - (n - i + LANES - 1) / LANES * LANES;
        j = whole >= 0 ? whole : i;
      }
      for (; j + TILE_COLS <= n; j += TILE_COLS) {
        tile(a, aOff + i, lda, b, bOff + j, ldb, rows, c, i * ldc + j, ldc);
      }
      // The columns left: a tile one vector wide, then dot products for the last few (strided
      // down the block's rows, so they cost several times a tile's column each).
      for (; j + LANES <= n; j += LANES) {
        narrowTile(a, aOff + i, lda, b, bOff + j, ldb, rows, c, i * ldc + j, ldc);
      }
      for (int k = 0; k < TILE_ROWS; k++) {
        scalarRow(a, aOff + i + k, lda, b, bOff, ldb, rows, c, (i + k) * ldc, j, n);
      }
    }
    for (; i < m; i++) {
      scalarRow(a, aOff + i, lda, b, bOff, ldb, rows, c, i * ldc, upper ? i : 0, n);
    }
  }

  private static void tile(double[] a, int aOff, int lda, double[] b, int bOff, int ldb, int rows, double[] c,
      int cOff, int ldc) {
    DoubleVector c00 = DoubleVector.zero(SPECIES);
    DoubleVector c01 = c00;
    DoubleVector c10 = c00;
    DoubleVector c11 = c00;
    DoubleVector c20 = c00;
    DoubleVector c21 = c00;
    DoubleVector c30 = c00;
    DoubleVector c31 = c00;
    for (int r = 0; r < rows; r++) {
      int ar = aOff + r * lda;
      int br = bOff + r * ldb;
      DoubleVector b0 = DoubleVector.fromArray(SPECIES, b, br);
      DoubleVector b1 = DoubleVector.fromArray(SPECIES, b, br + LANES);
      DoubleVector a0 = DoubleVector.broadcast(SPECIES, a[ar]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      DoubleVector a1 = DoubleVector.broadcast(SPECIES, a[ar + 1]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      DoubleVector a2 = DoubleVector.broadcast(SPECIES, a[ar + 2]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      DoubleVector a3 = DoubleVector.broadcast(SPECIES, a[ar + 3]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
    }
    addInto(c, cOff, c00, c01);
    addInto(c, cOff + ldc, c10, c11);
    addInto(c, cOff + 2 * ldc, c20, c21);
    addInto(c, cOff + 3 * ldc, c30, c31);
  }

  /** A 4 × LANES tile of C: the {@link #tile} one vector wide. */
  private static void narrowTile(double[] a, int aOff, int lda, double[] b, int bOff, int ldb, int rows, double[] c,
      int cOff, int ldc) {
    DoubleVector c0 = DoubleVector.zero(SPECIES);
    DoubleVector c1 = c0;
    DoubleVector c2 = c0;
    DoubleVector c3 = c0;
    for (int r = 0; r < rows; r++) {
      int ar = aOff + r * lda;
      DoubleVector b0 = DoubleVector.fromArray(SPECIES, b, bOff + r * ldb);
      c0 = DoubleVector.broadcast(SPECIES, a[ar]).fma(b0, c0);
      c1 = DoubleVector.broadcast(SPECIES, a[ar + 1]).fma(b0, c1);
      c2 = DoubleVector.broadcast(SPECIES, a[ar + 2]).fma(b0, c2);
      c3 = DoubleVector.broadcast(SPECIES, a[ar + 3]).fma(b0, c3);
    }
    DoubleVector.fromArray(SPECIES, c, cOff).add(c0).intoArray(c, cOff);
    DoubleVector.fromArray(SPECIES, c, cOff + ldc).add(c1).intoArray(c, cOff + ldc);
    DoubleVector.fromArray(SPECIES, c, cOff + 2 * ldc).add(c2).intoArray(c, cOff + 2 * ldc);
    DoubleVector.fromArray(SPECIES, c, cOff + 3 * ldc).add(c3).intoArray(c, cOff + 3 * ldc);
  }

  private static void addInto(double[] c, int off, DoubleVector lo, DoubleVector hi) {
    DoubleVector.fromArray(SPECIES, c, off).add(lo).intoArray(c, off);
    DoubleVector.fromArray(SPECIES, c, off + LANES).add(hi).intoArray(c, off + LANES);
  }

  /** Row i of C (column {@code aCol} of A), columns {@code [from, to)}: one dot product over the rows each. */
  private static void scalarRow(double[] a, int aCol, int lda, double[] b, int bOff, int ldb, int rows, double[] c,
      int cRow, int from, int to) {
    for (int j = from; j < to; j++) {
      double s = 0;
      for (int r = 0; r < rows; r++) {
        s += a[aCol + r * lda] * b[bOff + r * ldb + j];
      }
      c[cRow + j] += s;
    }
  }
}
