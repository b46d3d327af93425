package org.sparkssm.nn;

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
 * The trainable selective scan ({@link SelectiveScanGrad}): one forward and one backward per op, in
 * float64 and in float32 ({@link #precision}), on one core. Shapes ({@link #shape}), N = 16,
 * G = 1, chunk 64 (SMambaNet's):
 *
 * <ul>
 *   <li>{@code smamba}: a layer of TrainStepBenchmark's S-Mamba, D = d_inner = 128, a batch of 32
 *       windows of 7 variate tokens (batch 32 × L 7);</li>
 *   <li>{@code d256}: the same with D = 256;</li>
 *   <li>{@code long}: D = 256, batch 4 × L 1024 (16 chunks per sequence).</li>
 * </ul>
 *
 * Inputs as Mamba's: A = -(1..N) per channel, Δ = softplus(δ + bias) about log-uniform in
 * [1e-3, 0.1], u, z, B, C, dy Gaussian, from {@code new SplittableRandom(7)}.
 *
 * <p>{@code mvn -q -o -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="SelectiveScanGradBenchmark -f 1 -wi 3 -i 5 -w 2 -r 2"}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SelectiveScanGradBenchmark {
  static final int N = 16;
  static final int CHUNK = 64;

  @Param({"float64", "float32"})
  public String precision;

  @Param({"smamba", "d256", "long"})
  public String shape;

  private SelectiveScanGrad scan;
  private SelectiveScanGrad.Tape tape;
  private int batch;
  private int len;
  private double[] p;
  private double[] gp;

  @Setup(Level.Trial)
  public void setUp() {
    int D;
    switch (shape) {
      case "smamba":
        D = 128;
        batch = 32;
        len = 7;
        break;
      case "d256":
        D = 256;
        batch = 32;
        len = 7;
        break;
      case "long":
        D = 256;
        batch = 4;
        len = 1024;
        break;
      default:
        throw new IllegalArgumentException("shape: expected smamba, d256 or long, got " + shape);
    }
    scan = new SelectiveScanGrad(D, N, 1, CHUNK, Precision.parse("precision", precision) == Precision.FLOAT32);
    tape = scan.newTape(batch, len);
    SplittableRandom rnd = new SplittableRandom(7);
    p = new double[scan.paramSize()];
    gp = new double[scan.paramSize()];
    for (int i = 0; i < D * N; i++) {
      p[scan.aOffset() + i] = -(i % N + 1.0);
    }
    for (int d = 0; d < D; d++) {
      p[scan.dSkipOffset() + d] = TestData.gaussian(rnd);
      double dt = Math.exp(Math.log(1e-3) + (Math.log(0.1) - Math.log(1e-3)) * rnd.nextDouble());
      p[scan.deltaBiasOffset() + d] = dt + Math.log(-Math.expm1(-dt)); // softplus⁻¹
    }
    fill(rnd, tape.u, 1.0);
    fill(rnd, tape.delta, 0.3);
    fill(rnd, tape.z, 1.0);
    fill(rnd, tape.B, 1.0);
    fill(rnd, tape.C, 1.0);
    fill(rnd, tape.dy, 1.0);
  }

  private static void fill(SplittableRandom rnd, double[] a, double scale) {
    for (int i = 0; i < a.length; i++) {
      a[i] = scale * TestData.gaussian(rnd);
    }
  }

  /** The forward alone (the inference half of an op). */
  @Benchmark
  public double forward() {
    scan.forward(p, 0, tape, batch, len);
    return tape.y[tape.y.length - 1];
  }

  /** One forward and one backward of the batch. */
  @Benchmark
  public double forwardBackward() {
    scan.forward(p, 0, tape, batch, len);
    scan.backward(p, 0, gp, 0, tape, batch, len);
    return tape.du[0] + tape.y[tape.y.length - 1] + gp[0];
  }
}
