package org.sparkssm.testing;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The practical FMA peak of a core, for benchmarks that report a fraction of it measured in the
 * same run: 8 independent register accumulators × 2^20 vector FMAs per call, so one call is
 * {@code 8 · 2^20 · lanes} lane-FMAs ({@link #run}, float64). {@link #runFloat} is the float32
 * peak, with 12 accumulators.
 */
public final class FmaPeak {
  private FmaPeak() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;

  /** Lane-FMAs of one {@link #runFloat} call. */
  public static long floatFmasPerCall() {
    return 12L * (1 << 20) * FLOATS.length();
  }

  /** One call's work; the result only keeps the JIT from discarding it. */
  public static double run() {
    DoubleVector a0 = DoubleVector.broadcast(SPECIES, 1.0);
    DoubleVector a1 = a0;
    DoubleVector a2 = a0;
    DoubleVector a3 = a0;
    DoubleVector a4 = a0;
    DoubleVector a5 = a0;
    DoubleVector a6 = a0;
    DoubleVector a7 = a0;
    DoubleVector m = DoubleVector.broadcast(SPECIES, 0.999999);
    DoubleVector k = DoubleVector.broadcast(SPECIES, 1e-9);
    for (int i = 0; i < (1 << 20); i++) {
      a0 = a0.fma(m, k);
      a1 = a1.fma(m, k);
      a2 = a2.fma(m, k);
      a3 = a3.fma(m, k);
      a4 = a4.fma(m, k);
      a5 = a5.fma(m, k);
      a6 = a6.fma(m, k);
      a7 = a7.fma(m, k);
    }
    return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
  }

  /**
   * The float32 peak: 12 independent accumulators × 2^20 vector FMAs ({@link #floatFmasPerCall}).
   * Twelve, not eight: two FMA pipes of 4 cycles' latency need 8 chains in flight, and with the loop's
   * own instructions 8 were not quite enough on an AVX-512 Zen core (8 measured about 87 % of what 12
   * and 16 both reach), so a kernel's fraction of this peak is not flattered.
   */
  public static float runFloat() {
    FloatVector a0 = FloatVector.broadcast(FLOATS, 1.0f);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    FloatVector a4 = a0;
    FloatVector a5 = a0;
    FloatVector a6 = a0;
    FloatVector a7 = a0;
    FloatVector a8 = a0;
    FloatVector a9 = a0;
    FloatVector a10 = a0;
    FloatVector a11 = a0;
    FloatVector m = FloatVector.broadcast(FLOATS, 0.99999f);
    FloatVector k = FloatVector.broadcast(FLOATS, 1e-6f);
    for (int i = 0; i < (1 << 20); i++) {
      a0 = a0.fma(m, k);
      a1 = a1.fma(m, k);
      a2 = a2.fma(m, k);
      a3 = a3.fma(m, k);
      a4 = a4.fma(m, k);
      a5 = a5.fma(m, k);
      a6 = a6.fma(m, k);
      a7 = a7.fma(m, k);
      a8 = a8.fma(m, k);
      a9 = a9.fma(m, k);
      a10 = a10.fma(m, k);
      a11 = a11.fma(m, k);
    }
    return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
        .reduceLanes(VectorOperators.ADD);
  }
}
