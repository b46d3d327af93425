package org.sparkssm.testing;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The practical FMA peak of a core, for benchmarks that report a fraction of it measured in the
 * same run: 8 independent register accumulators × 2^20 vector FMAs per call, so one call is
 * {@code 8 · 2^20 · lanes} lane-FMAs. {@link #runFloat} is the float32 peak: twice the lanes.
 */
public final class FmaPeak {
  private FmaPeak() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;

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

  /** Lane-FMAs of one {@link #runFloat} call: {@code FLOAT_ACCUMULATORS · 2^20 · float lanes}. */
  public static final long FLOAT_LANE_FMAS_PER_CALL = 12L * (1 << 20) * FloatVector.SPECIES_PREFERRED.length();

  /**
   * The float32 FMA peak: 12 independent register accumulators (more than the 8 that 2 pipes × 4
   * cycles of latency need) × 2^20 FloatVector FMAs per call, {@link #FLOAT_LANE_FMAS_PER_CALL}
   * lane-FMAs. The result only keeps the JIT from discarding the work.
   */
  public static float runFloat() {
    var s = FloatVector.SPECIES_PREFERRED;
    FloatVector a0 = FloatVector.broadcast(s, 1f);
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
    FloatVector m = FloatVector.broadcast(s, 0.9999f);
    FloatVector k = FloatVector.broadcast(s, 1e-4f);
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
