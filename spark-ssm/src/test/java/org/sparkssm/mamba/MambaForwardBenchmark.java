package org.sparkssm.mamba;

import java.nio.file.Files;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.sparkssm.nn.Precision;
import org.sparkssm.scan.SelectiveScan;
import org.sparkssm.testing.FmaPeak;

/**
 * Mamba inference on one core, for BENCHMARKS.md: a forward pass of 256 tokens with a carried state
 * ({@code tokens/s = score · 256}), the in_proj matmul of one layer on those 256 tokens (Vector API
 * kernel and its scalar twin), the
 * layer's selective scan, and a register-resident Vector API FMA loop: the core's practical FMA peak,
 * measured in the same run, against which the matmul and scan rates are stated.
 * Random Mamba1 checkpoints (RandomCheckpoint): small = d_model 256, 4 layers; medium = d_model 768,
 * 24 layers (Mamba-130m's shape); vocabulary 8192, d_state 16.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="MambaForwardBenchmark"}
 *
 * <p>{@code bench/mamba_forward_bench.py} is the PyTorch peer of {@link #forward}: the same checkpoint
 * (written by {@link RandomCheckpoint#main}: {@code DIR 256 4 8192 16 1} or {@code DIR 768 24 8192 16 1}),
 * the same tokens and carried state; {@code --check-java} compares its logits with the ones
 * {@code RandomCheckpoint --dump} writes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "-Xmx6g")
public class MambaForwardBenchmark {
  static final int TOKENS = 256;
  static final int VOCAB = 8192;

  @Param({"small", "medium"})
  public String size;

  private Path dir;
  private MambaModel model;
  private MambaModel model32;
  private MambaModel.State state32;
  private org.sparkssm.nn.PackedLinear inProjPacked;
  private float[] x32;
  private float[] xz32;
  private MambaModel.State state;
  private int[] tokens;
  private double[] logits;
  private double[] x;
  private double[] inProj;
  private double[] xz;
  private int dModel;
  private SelectiveScan.Params scanParams;
  private double[] u;
  private double[] delta;
  private double[] b;
  private double[] c;
  private double[] y;
  private double[] h;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    dModel = size.equals("small") ? 256 : 768;
    int layers = size.equals("small") ? 4 : 24;
    dir = Files.createTempDirectory("mamba-bench");
    RandomCheckpoint.write(dir, dModel, layers, VOCAB, 16, 1);
    model = MambaModel.load(dir);
    state = model.newState();
    model32 = MambaModel.load(dir, Precision.FLOAT32);
    state32 = model32.newState();
    SplittableRandom rnd = new SplittableRandom(3);
    tokens = new int[TOKENS];
    for (int i = 0; i < TOKENS; i++) {
      tokens[i] = rnd.nextInt(VOCAB);
    }
    logits = new double[TOKENS * model.vocab()];
    int di = 2 * dModel;
    x = gaussian(rnd, TOKENS * dModel);
    inProj = gaussian(rnd, 2 * di * dModel);
    xz = new double[TOKENS * 2 * di];
    inProjPacked = org.sparkssm.nn.PackedLinear.pack(inProj, 0, 2 * di, dModel);
    x32 = org.sparkssm.scan.FloatMath.toFloat(x, x.length);
    xz32 = new float[TOKENS * 2 * di];
    double[] aLog = new double[di * 16];
    for (int k = 0; k < aLog.length; k++) {
      aLog[k] = Math.log(1 + k % 16);
    }
    scanParams = SelectiveScan.Params.fromALog(di, 16, 1, aLog, null, new double[di], true);
    u = gaussian(rnd, TOKENS * di);
    delta = gaussian(rnd, TOKENS * di);
    b = gaussian(rnd, TOKENS * 16);
    c = gaussian(rnd, TOKENS * 16);
    y = new double[TOKENS * di];
    h = new double[di * 16];
  }

  private static double[] gaussian(SplittableRandom rnd, int n) {
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = rnd.nextGaussian();
    }
    return out;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.delete(f);
      }
    }
    Files.delete(dir);
  }

  /** 256 tokens through every layer and the LM head, from the carried state. */
  @Benchmark
  public double forward() {
    model.forward(tokens, 0, TOKENS, state, logits, 0, null, 0);
    return logits[0];
  }

  /** {@link #forward} in {@link Precision#FLOAT32}: projections and the scan in float32. */
  @Benchmark
  public double forward32() {
    model32.forward(tokens, 0, TOKENS, state32, logits, 0, null, 0);
    return logits[0];
  }

  /** {@link #inProjMatmul} in float32 on packed weights ({@code PackedLinear}). */
  @Benchmark
  public float inProjPacked32() {
    inProjPacked.xWt(x32, 0, TOKENS, xz32, 0);
    return xz32[0];
  }

  /** One layer's in_proj on 256 tokens: 256 · 2 d_inner · d_model FMAs. */
  @Benchmark
  public double inProjMatmul() {
    MambaModel.Linear.apply(x, 0, TOKENS, dModel, inProj, 4 * dModel, xz, 0);
    return xz[0];
  }

  /** The same product with the scalar twin: the baseline of {@link #inProjMatmul}, in the same run. */
  @Benchmark
  public double inProjMatmulScalar() {
    MambaModel.Linear.applyScalar(x, 0, TOKENS, dModel, inProj, 4 * dModel, xz, 0);
    return xz[0];
  }

  /** One layer's selective scan on 256 tokens: d_inner = 2 d_model, N = 16. */
  @Benchmark
  public double selectiveScan() {
    SelectiveScan.scan(scanParams, u, 0, delta, 0, b, 0, c, 0, null, 0, y, 0, TOKENS, h);
    return h[0];
  }

  /** The core's FMA peak in the same run ({@link FmaPeak}). */
  @Benchmark
  public double fmaPeak() {
    return FmaPeak.run();
  }

  /** The core's float32 FMA peak in the same run ({@link FmaPeak#runFloat}, {@link FmaPeak#floatFmasPerCall} per call). */
  @Benchmark
  public float fmaPeak32() {
    return FmaPeak.runFloat();
  }

}
