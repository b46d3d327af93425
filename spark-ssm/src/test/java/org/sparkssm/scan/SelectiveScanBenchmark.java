package org.sparkssm.scan;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.sparkssm.testing.FmaPeak;
import org.sparkssm.testing.TestData;

/**
 * The Mamba S6 selective scan at a Mamba-130m-like layer: d_inner D = 1536, N = 16, L = 256 and
 * 2048, G = 1, softplus Δ with bias, D-skip and SiLU(z) gate, in float64 ({@link #vectorized},
 * {@link #scalar}) and float32 ({@link #float32}, {@link SelectiveScan#scan32}), with the float32
 * FMA peak of the core measured in the same run ({@link #fmaPeak32}).
 *
 * <p>{@code updatesPerSecond = score · L · D · N}. The fraction of the float32 peak is
 * {@code updatesPerSecond · 22 / (fmaPeak32 score · FmaPeak.floatFmasPerCall())}, counting
 * per state update (per lane) the operations that occupy the FP/vector pipes: the exp's 18 (FMAs:
 * 1 for {@code x log2e + ROUND}, 2 for the Cody-Waite reduction, 6 for the polynomial; 1 subtraction
 * for n; integer: 1 arithmetic shift, 1 subtraction, 2 additions of the bias, 2 shifts by 23; 2
 * multiplications by the powers of two) and the update's 4 (Δ·A, (Δu)·B, the state FMA, the output
 * FMA). Not counted, so the fraction is a lower bound: the exp's 2 compares and 2 blends of the
 * clamp, loads and stores, and the per-(t, d) work (softplus, SiLU, D-skip: about 80 operations per
 * channel and step, 5 per update at N = 16).
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="SelectiveScanBenchmark"}; the
 * float32 comparison alone:
 * {@code -Djmh.args="SelectiveScanBenchmark.(float32|vectorized|fmaPeak32) -wi 2 -i 3 -w 2 -r 2"}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SelectiveScanBenchmark {
  @Param({"1536"})
  public int channels;

  @Param({"16"})
  public int stateDim;

  @Param({"256", "2048"})
  public int length;

  private SelectiveScan.Params params;
  private double[] u;
  private double[] delta;
  private double[] bIn;
  private double[] cIn;
  private double[] z;
  private double[] y;
  private double[] h;
  private float[] u32;
  private float[] delta32;
  private float[] b32;
  private float[] c32;
  private float[] z32;
  private float[] y32;
  private float[] h32;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(7);
    double[] aLog = new double[channels * stateDim];
    for (int d = 0; d < channels; d++) {
      for (int n = 0; n < stateDim; n++) {
        aLog[d * stateDim + n] = Math.log(n + 1.0); // Mamba's S4D-Real initialization
      }
    }
    double[] bias = TestData.uniform(rnd, channels, -4.0, -2.0); // softplus(bias) ~ dt in [0.001, 0.1]
    params = SelectiveScan.Params.fromALog(channels, stateDim, 1, aLog, TestData.gaussian(rnd, channels, 1.0), bias, true);
    u = TestData.gaussian(rnd, length * channels, 1.0);
    delta = TestData.gaussian(rnd, length * channels, 0.5);
    bIn = TestData.gaussian(rnd, length * stateDim, 1.0);
    cIn = TestData.gaussian(rnd, length * stateDim, 1.0);
    z = TestData.gaussian(rnd, length * channels, 1.0);
    y = new double[length * channels];
    h = new double[channels * stateDim];
    u32 = FloatMath.toFloat(u, u.length);
    delta32 = FloatMath.toFloat(delta, delta.length);
    b32 = FloatMath.toFloat(bIn, bIn.length);
    c32 = FloatMath.toFloat(cIn, cIn.length);
    z32 = FloatMath.toFloat(z, z.length);
    y32 = new float[length * channels];
    h32 = new float[channels * stateDim];
  }


  @Benchmark
  public double vectorized() {
    SelectiveScan.scan(params, u, 0, delta, 0, bIn, 0, cIn, 0, z, 0, y, 0, length, h);
    return h[0];
  }

  @Benchmark
  public double scalar() {
    SelectiveScan.scanScalar(params, u, 0, delta, 0, bIn, 0, cIn, 0, z, 0, y, 0, length, h);
    return h[0];
  }

  /** The float32 scan, {@link SelectiveScan#scan32}, on the same inputs rounded to float. */
  @Benchmark
  public float float32() {
    SelectiveScan.scan32(params, u32, 0, delta32, 0, b32, 0, c32, 0, z32, 0, y32, 0, length, h32);
    return h32[0];
  }

  /** The core's float32 FMA peak in the same run ({@link FmaPeak#runFloat}). */
  @Benchmark
  public float fmaPeak32() {
    return FmaPeak.runFloat();
  }
}
