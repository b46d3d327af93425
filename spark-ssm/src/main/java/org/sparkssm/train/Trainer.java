package org.sparkssm.train;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.sparkssm.Checks;
import org.sparkssm.nn.AdamW;
import org.sparkssm.nn.LearningRate;

/**
 * Mini-batch training of a {@link WindowModel} with AdamW, global-norm clipping, a learning-rate
 * schedule, early stopping on the validation MSE with patience, and the best-on-validation
 * weights kept.
 *
 * <h2>The gradient is a value that adds up</h2>
 * A batch is cut into fixed shards of {@link #SHARD} windows. Each shard's gradient (of the loss
 * summed over its elements, scaled by 1 / batch elements) is computed into its own flat array by
 * {@link ShardGradient#compute}, and the batch gradient is the sum of the shard arrays in shard
 * order. The shards do not depend on the number of threads, so neither do the weights; and a
 * worker elsewhere (a Spark executor) can compute the same shard arrays and send them to be summed
 * in the same order.
 *
 * <h2>Determinism</h2>
 * Initialization, the per-epoch window permutation and every dropout mask come from the config's
 * seed (a window's dropout seed is a function of the seed, the step and its position in the batch).
 *
 * <h2>Failures</h2>
 * A non-finite loss or gradient stops training with an {@link IllegalStateException} naming the
 * epoch and step (and the learning rate), never a NaN weight. Windows with non-finite values
 * are not in the data at all ({@link Windows}).
 */
public final class Trainer {
  private Trainer() {}

  /** Windows per shard: the unit of gradient summation (and of parallel work). */
  public static final int SHARD = 8;

  /** One epoch's record. */
  public record Epoch(int epoch, double trainLoss, double validationMse, double validationMae, double learningRate,
      double seconds) {}

  /**
   * The outcome: the best weights (by validation MSE; epoch 0 = the starting weights) and the
   * history, epoch 0 first when there are validation windows.
   */
  public record Result(double[] weights, int bestEpoch, double bestValidationMse, List<Epoch> history, long steps,
      double seconds) {
    /** Epochs actually trained (the history without epoch 0). */
    public int epochsTrained() {
      return history.isEmpty() ? 0 : history.get(history.size() - 1).epoch();
    }
  }

  /** Trains from the model's seeded initialization. */
  public static Result train(WindowModel model, Windows train, Windows validation, TrainingConfig cfg) {
    Checks.notNull("model", model);
    double[] w = new double[model.layout().size()];
    model.init(w, cfg.seed());
    return train(model, w, train, validation, cfg);
  }

  /** Trains from the given weights (fine-tuning); {@code w} is updated in place and the best copy returned. */
  public static Result train(WindowModel model, double[] w, Windows train, Windows validation, TrainingConfig cfg) {
    Checks.notNull("model", model);
    Checks.notNull("training windows", train);
    Checks.notNull("validation windows", validation);
    Checks.notNull("config", cfg);
    checkShape(model, train, "training windows");
    checkShape(model, validation, "validation windows");
    if (train.size() == 0) {
      Checks.fail("training windows: expected at least one window without missing values, got none (%d skipped)",
          train.skipped());
    }
    long start = System.nanoTime();
    int perEpoch = cfg.windowsPerEpoch() == 0 ? train.size() : Math.min(cfg.windowsPerEpoch(), train.size());
    int stepsPerEpoch = (perEpoch + cfg.batchSize() - 1) / cfg.batchSize();
    LearningRate lr = new LearningRate(cfg.schedule(), cfg.learningRate(), cfg.warmupSteps(),
        (long) stepsPerEpoch * cfg.epochs(), stepsPerEpoch, 0.0);
    AdamW adam = AdamW.standard(model.layout(), cfg.weightDecay());
    int shardsPerBatch = (cfg.batchSize() + SHARD - 1) / SHARD;
    double[][] shardGrads = new double[shardsPerBatch][w.length];
    double[] shardLoss = new double[shardsPerBatch];
    double[] grad = new double[w.length];
    ExecutorService pool = Executors.newFixedThreadPool(cfg.threads(), daemon());
    ShardGradient[] workers = new ShardGradient[cfg.threads()];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new ShardGradient(model, train);
    }
    List<Epoch> history = new ArrayList<>();
    double[] best = w.clone();
    double bestMse = Double.POSITIVE_INFINITY;
    int bestEpoch = -1;
    int sinceBest = 0;
    long step = 0;
    try {
      if (validation.size() > 0) {
        // Epoch 0: the starting weights are a candidate too. A network that starts as its linear
        // skip (zero-initialized head), or a fine-tuned checkpoint, is kept unchanged when no
        // epoch improves on it.
        double[] val = score(model, w, validation, cfg.threads(), pool);
        history.add(new Epoch(0, Double.NaN, val[0], val[1], 0.0, 0.0));
        bestMse = val[0];
        bestEpoch = 0;
      }
      for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
        long epochStart = System.nanoTime();
        int[] order = permutation(train.size(), cfg.seed() * 0x9E3779B97F4A7C15L + epoch);
        double lossSum = 0;
        long elements = 0;
        double rate = 0;
        for (int b = 0; b < stepsPerEpoch; b++) {
          int from = b * cfg.batchSize();
          int to = Math.min(perEpoch, from + cfg.batchSize());
          int shards = (to - from + SHARD - 1) / SHARD;
          double scale = 1.0 / ((double) (to - from) * model.horizon() * model.channels());
          long stepSeed = mix(cfg.seed(), step);
          List<Future<?>> pending = new ArrayList<>();
          for (int t = 0; t < Math.min(cfg.threads(), shards); t++) {
            final int thread = t;
            pending.add(pool.submit(() -> {
              for (int s = thread; s < shards; s += cfg.threads()) {
                int sFrom = from + s * SHARD;
                int sTo = Math.min(to, sFrom + SHARD);
                java.util.Arrays.fill(shardGrads[s], 0.0);
                shardLoss[s] = workers[thread].compute(w, order, sFrom, sTo, cfg.loss(), scale, mix(stepSeed, s),
                    shardGrads[s]);
              }
            }));
          }
          await(pending);
          java.util.Arrays.fill(grad, 0.0);
          double loss = 0;
          for (int s = 0; s < shards; s++) {
            loss += shardLoss[s];
            double[] g = shardGrads[s];
            for (int i = 0; i < grad.length; i++) {
              grad[i] += g[i];
            }
          }
          double norm = AdamW.clipGlobalNorm(grad, cfg.clipNorm());
          if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            throw new IllegalStateException(String.format(java.util.Locale.ROOT,
                "training diverged at epoch %d, step %d: %s (learning rate %.3g); lower the learning rate or the "
                    + "clip norm", epoch + 1, b + 1,
                Double.isFinite(loss) ? "gradient norm " + norm : "loss " + loss, lr.at(step)));
          }
          rate = lr.at(step);
          adam.step(w, grad, rate);
          lossSum += loss;
          elements += (long) (to - from) * model.horizon() * model.channels();
          step++;
        }
        double[] val = validation.size() == 0 ? new double[] {Double.NaN, Double.NaN}
            : score(model, w, validation, cfg.threads(), pool);
        history.add(new Epoch(epoch + 1, lossSum / elements, val[0], val[1], rate,
            (System.nanoTime() - epochStart) / 1e9));
        boolean better = validation.size() == 0 || val[0] < bestMse;
        if (better) {
          bestMse = validation.size() == 0 ? Double.NaN : val[0];
          bestEpoch = epoch + 1;
          System.arraycopy(w, 0, best, 0, w.length);
          sinceBest = 0;
        } else if (cfg.patience() > 0 && ++sinceBest >= cfg.patience()) {
          break;
        }
      }
    } finally {
      pool.shutdownNow();
    }
    return new Result(best, bestEpoch, bestMse, List.copyOf(history), step, (System.nanoTime() - start) / 1e9);
  }

  /** Test or validation scores of weights w: {mean squared error, mean absolute error} over every window, step and channel. */
  public static double[] score(WindowModel model, double[] w, Windows windows, int threads) {
    ExecutorService pool = Executors.newFixedThreadPool(threads, daemon());
    try {
      return score(model, w, windows, threads, pool);
    } finally {
      pool.shutdownNow();
    }
  }

  /** Scores in fixed blocks of windows, summed in block order: the same numbers with any thread count. */
  private static double[] score(WindowModel model, double[] w, Windows windows, int threads, ExecutorService pool) {
    checkShape(model, windows, "windows");
    final int block = 64;
    int blocks = (windows.size() + block - 1) / block;
    double[][] sums = new double[blocks][2];
    List<Future<?>> pending = new ArrayList<>();
    for (int t = 0; t < Math.min(threads, blocks); t++) {
      final int thread = t;
      pending.add(pool.submit(() -> {
        int L = model.lookback();
        int H = model.horizon();
        int C = model.channels();
        WindowModel.Workspace ws = model.workspace(block);
        double[] x = new double[block * L * C];
        double[] y = new double[block * H * C];
        double[] p = new double[block * H * C];
        long[] rows = new long[block];
        for (int k = thread; k < blocks; k += threads) {
          int from = k * block;
          int n = Math.min(block, windows.size() - from);
          for (int i = 0; i < n; i++) {
            windows.copy(from + i, x, i * L * C, y, i * H * C);
            rows[i] = windows.start(from + i);
          }
          model.forward(w, x, rows, n, p, ws, null);
          double sse = 0;
          double sae = 0;
          for (int i = 0; i < n * H * C; i++) {
            double e = p[i] - y[i];
            sse += e * e;
            sae += Math.abs(e);
          }
          sums[k][0] = sse;
          sums[k][1] = sae;
        }
      }));
    }
    await(pending);
    double sse = 0;
    double sae = 0;
    for (double[] s : sums) {
      sse += s[0];
      sae += s[1];
    }
    double count = (double) windows.size() * model.horizon() * model.channels();
    return new double[] {sse / count, sae / count};
  }

  /**
   * The gradient of a contiguous range of a batch (a shard): the summable unit of training. Holds
   * one thread's workspace and window buffers.
   */
  static final class ShardGradient {
    private final WindowModel model;
    private final Windows data;
    private final WindowModel.Workspace ws;
    private final double[] x;
    private final double[] y;
    private final double[] pred;
    private final double[] dPred;
    private final long[] seeds;
    private final long[] rows;

    ShardGradient(WindowModel model, Windows data) {
      this.model = model;
      this.data = data;
      this.ws = model.workspace(SHARD);
      int L = model.lookback();
      int H = model.horizon();
      int C = model.channels();
      this.x = new double[SHARD * L * C];
      this.y = new double[SHARD * H * C];
      this.pred = new double[SHARD * H * C];
      this.dPred = new double[SHARD * H * C];
      this.seeds = new long[SHARD];
      this.rows = new long[SHARD];
    }

    /**
     * Accumulates into {@code gw} the gradient of {@code scale · Σ loss} over the windows
     * {@code order[from..to)} and returns the unscaled loss sum.
     */
    double compute(double[] w, int[] order, int from, int to, org.sparkssm.nn.Loss loss, double scale, long seed,
        double[] gw) {
      int n = to - from;
      int L = model.lookback();
      int H = model.horizon();
      int C = model.channels();
      for (int i = 0; i < n; i++) {
        data.copy(order[from + i], x, i * L * C, y, i * H * C);
        seeds[i] = mix(seed, i);
        rows[i] = data.start(order[from + i]);
      }
      model.forward(w, x, rows, n, pred, ws, seeds);
      double sum = loss.sum(pred, 0, y, 0, n * H * C, scale, dPred, 0);
      model.backward(w, gw, dPred, n, ws);
      return sum;
    }
  }

  private static void checkShape(WindowModel model, Windows windows, String what) {
    if (windows.lookback() != model.lookback() || windows.horizon() != model.horizon()
        || windows.channels() != model.channels()) {
      Checks.fail("%s: expected L=%d, H=%d, C=%d for %s, got L=%d, H=%d, C=%d", what, model.lookback(),
          model.horizon(), model.channels(), model.describe(), windows.lookback(), windows.horizon(),
          windows.channels());
    }
  }

  /** A seeded Fisher-Yates permutation of 0..n-1. */
  static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** SplitMix64's finalizer over a combination: decorrelated seeds from (seed, index). */
  static long mix(long seed, long index) {
    long z = seed + 0x9E3779B97F4A7C15L * (index + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static void await(List<Future<?>> pending) {
    try {
      for (Future<?> f : pending) {
        f.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("training interrupted", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    }
  }

  private static java.util.concurrent.ThreadFactory daemon() {
    return r -> {
      Thread t = new Thread(r, "spark-ssm-train");
      t.setDaemon(true);
      return t;
    };
  }
}
