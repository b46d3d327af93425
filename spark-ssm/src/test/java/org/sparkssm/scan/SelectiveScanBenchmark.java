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
import org.sparkssm.testing.TestData;

/**
 * The Mamba S6 selective scan at a Mamba-130m-like layer: d_inner D = 1536, N = 16, L = 2048,
 * softplus Δ with bias, D-skip and SiLU(z) gate. {@code updatesPerSecond = score * L * D * N}.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="SelectiveScanBenchmark"}
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

  @Param({"2048"})
  public int length;

  private SelectiveScan.Params params;
  private double[] u;
  private double[] delta;
  private double[] bIn;
  private double[] cIn;
  private double[] z;
  private double[] y;
  private double[] h;

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
}
