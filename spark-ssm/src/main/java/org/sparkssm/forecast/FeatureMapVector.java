package org.sparkssm.forecast;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API kernel of {@link LinearWindowFeatures#features}, loaded only when
 * {@link org.sparkssm.scan.VectorSupport#ENABLED}: {@code out[r] = Σ_k M[r, k] w[k] − level · (M 1)[r]}
 * for every row of the precomputed map M.
 *
 * <p>Why: the scalar loop is bound by its two loads per multiply-add (one of M, one of the window),
 * about one multiply-add per cycle; a window's features are {@code (F − R) · L} of them (86,016 for
 * {@code ssm} at L = 336), computed again for every stride-1 window of every series, which made it
 * half of a closed-form fit's time. Here four vector accumulators take {@code 4 · LANES} products per
 * step with fused multiply-adds; the window stays in L1 while M streams through once per window.
 */
final class FeatureMapVector {
  private FeatureMapVector() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();

  /**
   * {@code out[outOff + r] = Σ_{k < len} map[r * len + k] · w[off + k] − level · rowSums[r]} for
   * {@code r < rows}.
   */
  static void apply(double[] map, int rows, int len, double[] rowSums, double[] w, int off, double level,
      double[] out, int outOff) {
    final int step = 4 * LANES;
    final int wide = len - len % step;
    final int narrow = len - len % LANES;
    for (int r = 0; r < rows; r++) {
      int row = r * len;
      DoubleVector a0 = DoubleVector.zero(SPECIES);
      DoubleVector a1 = a0;
      DoubleVector a2 = a0;
      DoubleVector a3 = a0;
      int k = 0;
      for (; k < wide; k += step) {
        a0 = DoubleVector.fromArray(SPECIES, map, row + k).lanewise(VectorOperators.FMA,
            DoubleVector.fromArray(SPECIES, w, off + k), a0);
        a1 = DoubleVector.fromArray(SPECIES, map, row + k + LANES).lanewise(VectorOperators.FMA,
            DoubleVector.fromArray(SPECIES, w, off + k + LANES), a1);
        a2 = DoubleVector.fromArray(SPECIES, map, row + k + 2 * LANES).lanewise(VectorOperators.FMA,
            DoubleVector.fromArray(SPECIES, w, off + k + 2 * LANES), a2);
        a3 = DoubleVector.fromArray(SPECIES, map, row + k + 3 * LANES).lanewise(VectorOperators.FMA,
            DoubleVector.fromArray(SPECIES, w, off + k + 3 * LANES), a3);
      }
      for (; k < narrow; k += LANES) {
        a0 = DoubleVector.fromArray(SPECIES, map, row + k).lanewise(VectorOperators.FMA,
            DoubleVector.fromArray(SPECIES, w, off + k), a0);
      }
      double s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
      for (; k < len; k++) {
        s += map[row + k] * w[off + k];
      }
      out[outOff + r] = s - level * rowSums[r];
    }
  }
}
