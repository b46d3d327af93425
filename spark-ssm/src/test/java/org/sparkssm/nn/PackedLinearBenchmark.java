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
import org.sparkssm.testing.FmaPeak;

/**
 * Mamba-130m's projections on 256 tokens, one core: the packed float32 kernel ({@link PackedLinear}),
 * the float64 kernel on the same shape ({@link MatMul#xWt}), and the float32 FMA peak measured in the
 * same run ({@link FmaPeak#runFloat}). Shapes (out, in): in_proj (3072, 768), out_proj (768, 1536),
 * x_proj (80, 1536). G FMA/s = score · 256 · out · in / 10⁹ for the kernels, score ·
 * {@link FmaPeak#floatFmasPerCall} / 10⁹ for the peak (12 · 2^20 · 16 on AVX-512). x_proj's 80
 * outputs fill 96 of the padded panel's lanes, so at most 83 % of its FMAs are useful.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="PackedLinearBenchmark"}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
public class PackedLinearBenchmark {
  static final int TOKENS = 256;

  @Param({"in_proj", "out_proj", "x_proj"})
  public String shape;

  private PackedLinear packed;
  private float[] xf;
  private float[] yf;
  private double[] w;
  private double[] x;
  private double[] y;
  private int out;
  private int in;

  @Setup(Level.Trial)
  public void setUp() {
    switch (shape) {
      case "in_proj":
        out = 3072;
        in = 768;
        break;
      case "out_proj":
        out = 768;
        in = 1536;
        break;
      case "x_proj":
        out = 80;
        in = 1536;
        break;
      default:
        throw new IllegalArgumentException("shape: expected in_proj, out_proj or x_proj, got " + shape);
    }
    SplittableRandom rnd = new SplittableRandom(7);
    w = new double[out * in];
    for (int k = 0; k < w.length; k++) {
      w[k] = rnd.nextGaussian() / Math.sqrt(in);
    }
    x = new double[TOKENS * in];
    xf = new float[TOKENS * in];
    for (int k = 0; k < x.length; k++) {
      x[k] = rnd.nextGaussian();
      xf[k] = (float) x[k];
    }
    y = new double[TOKENS * out];
    yf = new float[TOKENS * out];
    packed = PackedLinear.pack(w, 0, out, in);
  }

  /** The packed float32 kernel: 256 · out · in FMAs. */
  @Benchmark
  public float packedF32() {
    packed.xWt(xf, 0, TOKENS, yf, 0);
    return yf[0];
  }

  /** The float64 kernel on the same shape: the baseline, in the same run. */
  @Benchmark
  public double matMulF64() {
    MatMul.xWt(x, 0, TOKENS, in, w, 0, out, y, 0);
    return y[0];
  }

  /** The core's float32 FMA peak in the same run. */
  @Benchmark
  public float fmaPeakF32() {
    return FmaPeak.runFloat();
  }
}
