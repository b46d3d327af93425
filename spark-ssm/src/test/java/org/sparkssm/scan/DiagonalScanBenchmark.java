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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.sparkssm.testing.TestData;

/**
 * The diagonal LTI scan at S4D/LRU shapes, L = 4096. JMH's score is one invocation per second;
 * {@code updatesPerSecond = score * L * D * N} (see BENCHMARKS.md for the conversion to a fraction
 * of FMA peak). Runs the public entry point (vector path when enabled) and the scalar path.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="DiagonalScanBenchmark"}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DiagonalScanBenchmark {
  /** "D x N". */
  @Param({"64x16", "1024x16"})
  public String shape;

  @Param({"4096"})
  public int length;

  @Param({"real", "complex"})
  public String kind;

  private DiagonalSsm model;
  private double[] u;
  private double[] y;
  private double[] h;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    String[] parts = shape.split("x");
    int dim = Integer.parseInt(parts[0]);
    int n = Integer.parseInt(parts[1]);
    SplittableRandom rnd = new SplittableRandom(42);
    model = DiagonalSystems.random(rnd, dim, n, kind.equals("complex"), true);
    u = TestData.gaussian(rnd, length * dim, 1.0);
    y = new double[length * dim];
    h = new double[model.stateSize()];
  }

  @Benchmark
  public double vectorized() {
    DiagonalScan.scan(model, u, 0, y, 0, length, h);
    return h[0];
  }

  @Benchmark
  public double scalar() {
    if (model.isComplex()) {
      DiagonalScan.scanComplexScalar(model, u, 0, y, 0, length, h);
    } else {
      DiagonalScan.scanRealScalar(model, u, 0, y, 0, length, h);
    }
    return h[0];
  }
}
