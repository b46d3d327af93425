package org.sparkssm.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
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
import org.sparkssm.nn.AdamW;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.nn.Precision;
import org.sparkssm.testing.FmaPeak;

/**
 * One training step of the forecasting networks on one core, for BENCHMARKS.md: forward + MSE loss
 * + backward of a batch of 32 windows on one workspace (the model called directly, not through the
 * {@link Trainer}'s shards and thread pool), then {@link AdamW#step} on the gradient (lr 1e-3, no
 * weight decay, no clipping: TrainingConfig's defaults less the clip). Training mode: dropout 0.1
 * active, masks seeded per window and step. Score: ms per step (AverageTime). {@code precision}:
 * float64, or float32 for the network's products and Mamba scans (weights, gradients, AdamW float64).
 *
 * <ul>
 *   <li>{@code smamba}: ETTh1's shape, L = 96, H = 96, C = 7, d_model 128, 2 layers, d_state 16,
 *       d_ff 128, dropout 0.1, no cycle ({@link SMambaNet}).</li>
 *   <li>{@code s4dnet}: L = 96, H = 96, C = 7, d_model 64, 3 layers, d_state 32 complex modes,
 *       d_ff 128 (unused by the network), dropout 0.1, no cycle ({@link S4dNet}).</li>
 * </ul>
 *
 * The windows are uniform in [-1, 1), from {@code new SplittableRandom(42)}: the lookbacks
 * {@code x (32, 96, 7)} first, then the targets {@code y (32, 96, 7)}, row-major;
 * {@code bench/train_step_bench.py} (the PyTorch peer) draws the same numbers with a port of
 * SplittableRandom. {@link #fmaPeak} is MambaForwardBenchmark's register-resident FMA loop, the
 * core's practical peak in the same run: {@code lane-FMA/s = 8 · 2^20 · lanes / (score in s)}.
 *
 * <p>{@code mvn -pl spark-ssm test-compile exec:exec@jmh -Djmh.args="TrainStepBenchmark"}
 *
 * <p>{@link #main} prints each network's parameter count ({@code layout().size()}); with
 * {@code --tensors}, every tensor's name and shape (the format {@code train_step_bench.py --list-params}
 * prints, for a diff); with {@code --dump DIR}, writes {@code DIR/<model>.f64} (little-endian doubles:
 * the initialized weights, the evaluation-mode prediction of the windows, the gradient of their MSE)
 * for {@code train_step_bench.py --check-java DIR}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = "-Xmx4g")
public class TrainStepBenchmark {
  static final int BATCH = 32;
  static final int LOOKBACK = 96;
  static final int HORIZON = 96;
  static final int CHANNELS = 7;
  static final long WINDOW_SEED = 42;
  static final long INIT_SEED = 2021;
  static final double LR = 1e-3;

  /** The network of each name at the benchmark's shape. */
  static WindowModel build(String name) {
    switch (name) {
      case "smamba":
        return new SMambaNet(LOOKBACK, HORIZON, CHANNELS, 128, 2, 16, 128, 0.1, 0, null);
      case "s4dnet":
        return new S4dNet(LOOKBACK, HORIZON, CHANNELS, 64, 3, 32, 128, 0.1, 0, null);
      default:
        throw new IllegalArgumentException("model: expected smamba or s4dnet, got " + name);
    }
  }

  /** The windows {x, y}: uniform in [-1, 1), x first, from one SplittableRandom. */
  static double[][] windows() {
    SplittableRandom rnd = new SplittableRandom(WINDOW_SEED);
    double[] x = new double[BATCH * LOOKBACK * CHANNELS];
    double[] y = new double[BATCH * HORIZON * CHANNELS];
    for (int i = 0; i < x.length; i++) {
      x[i] = 2 * rnd.nextDouble() - 1;
    }
    for (int i = 0; i < y.length; i++) {
      y[i] = 2 * rnd.nextDouble() - 1;
    }
    return new double[][] {x, y};
  }

  /** One network, its weights, optimizer, workspace and batch. */
  @State(Scope.Thread)
  public static class Net {
    @Param({"smamba", "s4dnet"})
    public String model;

    /** What the network computes in ({@link WindowModel#computeIn}); weights and AdamW stay float64. */
    @Param({"float64", "float32"})
    public String precision;

    WindowModel net;
    double[] w;
    double[] grad;
    AdamW adam;
    WindowModel.Workspace ws;
    double[] x;
    double[] y;
    double[] pred;
    double[] dPred;
    long[] rows;
    long[] seeds;
    double scale;
    long step;
    double lastLoss;

    @Setup(Level.Trial)
    public void setUp() {
      net = build(model);
      int p = net.layout().size();
      w = new double[p];
      net.init(w, INIT_SEED);
      grad = new double[p];
      adam = AdamW.standard(net.layout(), 0.0);
      ws = net.workspace(BATCH);
      net.computeIn(ws, Precision.parse("precision", precision));
      double[][] xy = windows();
      x = xy[0];
      y = xy[1];
      pred = new double[y.length];
      dPred = new double[y.length];
      rows = new long[BATCH];
      for (int i = 0; i < BATCH; i++) {
        rows[i] = (long) i * LOOKBACK;
      }
      seeds = new long[BATCH];
      scale = 1.0 / y.length;
      System.out.printf(Locale.ROOT, "%n# %s: %d parameters; windows sum x %.12f, y %.12f%n", net.describe(), p,
          sum(x), sum(y));
    }

    /** forward + MSE + backward + AdamW; returns the batch's mean squared error. */
    double step() {
      Arrays.fill(grad, 0.0);
      for (int i = 0; i < BATCH; i++) {
        seeds[i] = Trainer.mix(INIT_SEED + step, i);
      }
      net.forward(w, x, rows, BATCH, pred, ws, seeds);
      double loss = Loss.mse().sum(pred, 0, y, 0, y.length, scale, dPred, 0) * scale;
      net.backward(w, grad, dPred, BATCH, ws);
      adam.step(w, grad, LR);
      step++;
      lastLoss = loss;
      return loss;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      System.out.printf(Locale.ROOT, "%n# %s: %d steps, last batch MSE %.6f%n", model, step, lastLoss);
      if (!Double.isFinite(lastLoss)) {
        throw new IllegalStateException(model + ": the loss is not finite after " + step + " steps");
      }
    }
  }

  /** One training step of a batch of 32 windows. */
  @Benchmark
  public double trainStep(Net net) {
    return net.step();
  }

  /** The core's FMA peak in the same run ({@link FmaPeak}). */
  @Benchmark
  public double fmaPeak() {
    return FmaPeak.run();
  }


  private static double sum(double[] v) {
    double s = 0;
    for (double d : v) {
      s += d;
    }
    return s;
  }

  /**
   * Prints the parameter counts; {@code --tensors} also every tensor, {@code --dump DIR} writes the
   * cross-check files (see the class comment).
   */
  public static void main(String[] args) throws IOException {
    boolean tensors = false;
    Path dump = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--tensors")) {
        tensors = true;
      } else if (args[i].equals("--dump") && i + 1 < args.length) {
        dump = Path.of(args[++i]);
      } else {
        throw new IllegalArgumentException("usage: TrainStepBenchmark [--tensors] [--dump DIR]");
      }
    }
    for (String name : new String[] {"smamba", "s4dnet"}) {
      WindowModel net = build(name);
      ParameterLayout layout = net.layout();
      System.out.printf(Locale.ROOT, "%s parameters: %d  (%s)%n", name, layout.size(), net.describe());
      if (tensors) {
        for (ParameterLayout.Tensor t : layout.tensors()) {
          System.out.printf(Locale.ROOT, "  %s %s%n", t.name(), Arrays.toString(t.shape()).replace(" ", ""));
        }
      }
      if (dump != null) {
        double[] w = new double[layout.size()];
        net.init(w, INIT_SEED);
        double[][] xy = windows();
        double[] pred = new double[xy[1].length];
        double[] dPred = new double[pred.length];
        double[] g = new double[w.length];
        long[] rows = new long[BATCH];
        WindowModel.Workspace ws = net.workspace(BATCH);
        net.forward(w, xy[0], rows, BATCH, pred, ws, null);
        Loss.mse().sum(pred, 0, xy[1], 0, pred.length, 1.0 / pred.length, dPred, 0);
        net.backward(w, g, dPred, BATCH, ws);
        ByteBuffer buf = ByteBuffer.allocate(8 * (2 * w.length + pred.length)).order(ByteOrder.LITTLE_ENDIAN);
        buf.asDoubleBuffer().put(w).put(pred).put(g);
        Files.createDirectories(dump);
        Files.write(dump.resolve(name + ".f64"), buf.array());
        System.out.println("  wrote " + dump.resolve(name + ".f64"));
      }
    }
  }
}
