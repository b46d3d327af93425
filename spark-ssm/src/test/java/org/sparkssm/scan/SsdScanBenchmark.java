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
 * Mamba-2's SSD scan at a Mamba-2-130m layer: H = 24 heads of P = 64 (d_inner 1536), N = 128,
 * G = 1, blocks of 256, softplus Δ with bias and D-skip, over L = 256 and 1024 tokens: float64
 * ({@link #float64}, {@link SsdScan#scan}) against float32 with a float32 state ({@link #float32})
 * and with a float64 state ({@link #float32State64}), and the float32 FMA peak of the core in the
 * same run ({@link #fmaPeak32}). Each call carries the state on from the previous one.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="SsdScanBenchmark -wi 2 -i 5 -w 2 -r 2"}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SsdScanBenchmark {
  private static final int HEADS = 24;
  private static final int HEAD_DIM = 64;
  private static final int STATE = 128;
  private static final int BLOCK = 256;

  @Param({"256", "1024"})
  public int length;

  private SsdScan.Params params;
  private double[] x;
  private double[] dt;
  private double[] b;
  private double[] c;
  private double[] y;
  private double[] state;
  private float[] x32;
  private float[] dt32;
  private float[] b32;
  private float[] c32;
  private float[] y32;
  private float[] state32;
  private double[] state64;
  private SsdScan.Workspace32 ws;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(11);
    double[] aLog = TestData.uniform(rnd, HEADS, 0.0, Math.log(16)); // mamba_ssm's A_init_range (1, 16)
    double[] bias = TestData.uniform(rnd, HEADS, -4.0, -2.0); // softplus(bias): dt in about [0.02, 0.13]
    params = SsdScan.Params.of(HEADS, HEAD_DIM, STATE, 1, SsdScan.aFromLog(aLog), TestData.gaussian(rnd, HEADS, 1.0),
        bias, true);
    x = TestData.gaussian(rnd, length * HEADS * HEAD_DIM, 1.0);
    dt = TestData.gaussian(rnd, length * HEADS, 0.5);
    b = TestData.gaussian(rnd, length * STATE, 1.0);
    c = TestData.gaussian(rnd, length * STATE, 1.0);
    y = new double[x.length];
    state = new double[params.stateLength()];
    x32 = FloatMath.toFloat(x, x.length);
    dt32 = FloatMath.toFloat(dt, dt.length);
    b32 = FloatMath.toFloat(b, b.length);
    c32 = FloatMath.toFloat(c, c.length);
    y32 = new float[x.length];
    state32 = new float[params.stateLength()];
    state64 = new double[params.stateLength()];
    ws = new SsdScan.Workspace32();
  }

  @Benchmark
  public double float64() {
    SsdScan.scan(params, length, BLOCK, x, 0, dt, 0, b, 0, c, 0, y, 0, state);
    return state[0];
  }

  @Benchmark
  public float float32() {
    SsdScan.scan32(params, length, BLOCK, x32, 0, dt32, 0, b32, 0, c32, 0, y32, 0, state32, ws);
    return state32[0];
  }

  @Benchmark
  public double float32State64() {
    SsdScan.scan32(params, length, BLOCK, x32, 0, dt32, 0, b32, 0, c32, 0, y32, 0, state64, ws);
    return state64[0];
  }

  /** The core's float32 FMA peak in the same run ({@link FmaPeak#runFloat}). */
  @Benchmark
  public float fmaPeak32() {
    return FmaPeak.runFloat();
  }
}
