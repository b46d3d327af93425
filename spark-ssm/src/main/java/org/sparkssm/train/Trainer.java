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
import org.sparkssm.nn.Loss;

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
    return train(model, train, validation, cfg, null);
  }

  /**
   * Trains from the model's seeded initialization, the gradient workers' heavy layer operations on
   * {@code device} (null: the CPU; see {@link WindowModel#runOn}).
   */
  public static Result train(WindowModel model, Windows train, Windows validation, TrainingConfig cfg,
      org.sparkssm.nn.LayerDevice device) {
    Checks.notNull("model", model);
    double[] w = new double[model.layout().size()];
    model.init(w, cfg.seed());
    return train(model, w, train, validation, cfg, device);
  }

  /** Trains from the given weights (fine-tuning); {@code w} is updated in place and the best copy returned. */
  public static Result train(WindowModel model, double[] w, Windows train, Windows validation, TrainingConfig cfg) {
    return train(model, w, train, validation, cfg, null);
  }

  /** As {@link #train(WindowModel, double[], Windows, Windows, TrainingConfig)}, on {@code device} (null: the CPU). */
  public static Result train(WindowModel model, double[] w, Windows train, Windows validation, TrainingConfig cfg,
      org.sparkssm.nn.LayerDevice device) {
    Checks.notNull("model", model);
    Checks.notNull("training windows", train);
    Checks.notNull("validation windows", validation);
    Checks.notNull("config", cfg);
    checkShape(model, train, "training windows");
    checkShape(model, validation, "validation windows");
    try (LocalGradients source = new LocalGradients(model, train, validation, cfg, device)) {
      return train(model, w, source, cfg, null, new Listener() {});
    }
  }

  /**
   * Where a step's gradient and an epoch's validation scores come from: this JVM's threads
   * ({@link #train(WindowModel, double[], Windows, Windows, TrainingConfig)}), or tasks elsewhere
   * (Spark executors) that hold the windows and send back the sums.
   */
  public interface GradientSource extends AutoCloseable {
    /** Training windows (ids 0 .. n − 1 in a fixed order). */
    long trainWindows();

    /** Validation windows. */
    long validationWindows();

    /** Windows left out for a missing value (reports count them). */
    long skippedWindows();

    /**
     * Adds into {@code grad} (zero on entry) the gradient of {@code scale · Σ loss} over the
     * training windows {@code batch[0 .. n)}, window {@code batch[k]} with the dropout seed
     * {@link #dropoutSeed dropoutSeed(stepSeed, k)}, and returns the unscaled loss sum. The result
     * may depend on how the windows are spread over workers only through summation order.
     */
    double gradient(double[] w, long[] batch, int n, Loss loss, double scale, long stepSeed, double[] grad);

    /** {mean squared error, mean absolute error} of weights w over every validation window, step and channel. */
    double[] validate(double[] w);

    @Override
    void close();
  }

  /**
   * Everything a run needs to continue exactly where it stopped (after an epoch): a checkpoint.
   *
   * @param epoch epochs trained
   * @param step optimizer steps taken
   * @param weights the current weights
   * @param optimizer AdamW's moments and step ({@link AdamW#state})
   * @param best the best weights so far
   * @param bestValidationMse their validation MSE
   * @param bestEpoch their epoch (0: the starting weights)
   * @param sinceBest epochs since the best, for the patience
   * @param history every epoch so far, epoch 0 first when there are validation windows
   * @param finished whether training has ended (all epochs, or stopped early)
   */
  public record State(int epoch, long step, double[] weights, double[] optimizer, double[] best,
      double bestValidationMse, int bestEpoch, int sinceBest, List<Epoch> history, boolean finished) {
    /** The result this state stands for. */
    public Result result(double seconds) {
      return new Result(best, bestEpoch, bestValidationMse, history, step, seconds);
    }
  }

  /** What a run reports as it goes; every method is optional. */
  public interface Listener {
    /** After each optimizer step: epoch (from 1), step within it (from 1), the epoch's steps, the batch's mean loss. */
    default void step(int epoch, int step, int steps, double loss) {}

    /** After each epoch (and after the starting weights are scored): a checkpoint can be written from it. */
    default void epoch(State state) {}
  }

  /**
   * The training loop over any gradient source: from the given weights, or from a checkpoint when
   * {@code resume} is not null (then {@code w} is overwritten with its weights). Runs the epochs
   * the config allows after the checkpoint's; a finished checkpoint returns at once.
   */
  public static Result train(WindowModel model, double[] w, GradientSource data, TrainingConfig cfg, State resume,
      Listener listener) {
    Checks.notNull("model", model);
    Checks.notNull("weights", w);
    Checks.notNull("config", cfg);
    Checks.notNull("listener", listener);
    Checks.length("weights", w, model.layout().size(), "the layout's size");
    if (data.trainWindows() == 0) {
      Checks.fail("training windows: expected at least one window without missing values, got none (%d skipped)",
          data.skippedWindows());
    }
    long start = System.nanoTime();
    int perEpoch = (int) (cfg.windowsPerEpoch() == 0 ? data.trainWindows()
        : Math.min(cfg.windowsPerEpoch(), data.trainWindows()));
    if (data.trainWindows() > Integer.MAX_VALUE && cfg.windowsPerEpoch() == 0) {
      Checks.fail("windows per epoch: expected a value (at most %d) for %d training windows, got 0 (all)",
          Integer.MAX_VALUE, data.trainWindows());
    }
    int stepsPerEpoch = (perEpoch + cfg.batchSize() - 1) / cfg.batchSize();
    LearningRate lr = new LearningRate(cfg.schedule(), cfg.learningRate(), cfg.warmupSteps(),
        (long) stepsPerEpoch * cfg.epochs(), stepsPerEpoch, 0.0);
    AdamW adam = AdamW.standard(model.layout(), cfg.weightDecay());
    double[] grad = new double[w.length];
    long[] batch = new long[cfg.batchSize()];
    List<Epoch> history = new ArrayList<>();
    double[] best;
    double bestMse;
    int bestEpoch;
    int sinceBest;
    long step;
    int firstEpoch;
    if (resume != null) {
      Checks.length("checkpoint weights", resume.weights(), w.length, "the layout's size");
      System.arraycopy(resume.weights(), 0, w, 0, w.length);
      adam.restore(resume.optimizer());
      history.addAll(resume.history());
      best = resume.best().clone();
      bestMse = resume.bestValidationMse();
      bestEpoch = resume.bestEpoch();
      sinceBest = resume.sinceBest();
      step = resume.step();
      firstEpoch = resume.epoch();
      if (resume.finished()) {
        return resume.result((System.nanoTime() - start) / 1e9);
      }
    } else {
      best = w.clone();
      bestMse = Double.POSITIVE_INFINITY;
      bestEpoch = -1;
      sinceBest = 0;
      step = 0;
      firstEpoch = 0;
      if (data.validationWindows() > 0) {
        // Epoch 0: the starting weights are a candidate too. A network that starts as its linear
        // skip (zero-initialized head), or a fine-tuned checkpoint, is kept unchanged when no
        // epoch improves on it.
        double[] val = data.validate(w);
        history.add(new Epoch(0, Double.NaN, val[0], val[1], 0.0, 0.0));
        bestMse = val[0];
        bestEpoch = 0;
      }
      listener.epoch(new State(0, 0, w.clone(), adam.state(), best.clone(), bestMse, bestEpoch, 0,
          List.copyOf(history), false));
    }
    double perElement = (double) model.horizon() * model.channels();
    for (int epoch = firstEpoch; epoch < cfg.epochs(); epoch++) {
      long epochStart = System.nanoTime();
      long[] order = permutation(data.trainWindows(), perEpoch, cfg.seed() * 0x9E3779B97F4A7C15L + epoch);
      double lossSum = 0;
      long elements = 0;
      double rate = 0;
      for (int b = 0; b < stepsPerEpoch; b++) {
        int from = b * cfg.batchSize();
        int n = Math.min(perEpoch, from + cfg.batchSize()) - from;
        System.arraycopy(order, from, batch, 0, n);
        java.util.Arrays.fill(grad, 0.0);
        double loss = data.gradient(w, batch, n, cfg.loss(), 1.0 / (n * perElement), mix(cfg.seed(), step), grad);
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
        elements += (long) (n * perElement);
        step++;
        listener.step(epoch + 1, b + 1, stepsPerEpoch, loss / (n * perElement));
      }
      double[] val = data.validationWindows() == 0 ? new double[] {Double.NaN, Double.NaN} : data.validate(w);
      history.add(new Epoch(epoch + 1, lossSum / elements, val[0], val[1], rate,
          (System.nanoTime() - epochStart) / 1e9));
      boolean better = data.validationWindows() == 0 || val[0] < bestMse;
      boolean stop = false;
      if (better) {
        bestMse = data.validationWindows() == 0 ? Double.NaN : val[0];
        bestEpoch = epoch + 1;
        System.arraycopy(w, 0, best, 0, w.length);
        sinceBest = 0;
      } else if (cfg.patience() > 0 && ++sinceBest >= cfg.patience()) {
        stop = true;
      }
      boolean finished = stop || epoch + 1 == cfg.epochs();
      listener.epoch(new State(epoch + 1, step, w.clone(), adam.state(), best.clone(), bestMse, bestEpoch, sinceBest,
          List.copyOf(history), finished));
      if (stop) {
        break;
      }
    }
    return new Result(best, bestEpoch, bestMse, List.copyOf(history), step, (System.nanoTime() - start) / 1e9);
  }

  /**
   * The dropout seed of the window at position k of a step's batch: a function of the step's seed
   * and k alone, so the masks do not depend on which worker computes the window.
   */
  public static long dropoutSeed(long stepSeed, int position) {
    return mix(mix(stepSeed, position / SHARD), position % SHARD);
  }

  /** The local source: a batch's shards computed by a thread pool into their own arrays, summed in shard order. */
  private static final class LocalGradients implements GradientSource {
    private final Windows train;
    private final Windows validation;
    private final WindowModel model;
    private final int threads;
    private final ExecutorService pool;
    private final ShardGradient[] workers;
    private final double[][] shardGrads;
    private final double[] shardLoss;
    private final int[] ids;
    private final int[] positions;

    LocalGradients(WindowModel model, Windows train, Windows validation, TrainingConfig cfg,
        org.sparkssm.nn.LayerDevice device) {
      this.model = model;
      this.train = train;
      this.validation = validation;
      this.threads = cfg.threads();
      this.pool = Executors.newFixedThreadPool(threads, daemon());
      this.workers = new ShardGradient[threads];
      for (int i = 0; i < threads; i++) {
        workers[i] = new ShardGradient(model, train);
        workers[i].computeIn(cfg.precision());
        if (device != null) {
          workers[i].runOn(device);
        }
      }
      int shards = (cfg.batchSize() + SHARD - 1) / SHARD;
      this.shardGrads = new double[shards][model.layout().size()];
      this.shardLoss = new double[shards];
      this.ids = new int[cfg.batchSize()];
      this.positions = new int[cfg.batchSize()];
      for (int k = 0; k < positions.length; k++) {
        positions[k] = k;
      }
    }

    @Override
    public long trainWindows() {
      return train.size();
    }

    @Override
    public long validationWindows() {
      return validation.size();
    }

    @Override
    public long skippedWindows() {
      return train.skipped();
    }

    @Override
    public double gradient(double[] w, long[] batch, int n, Loss loss, double scale, long stepSeed, double[] grad) {
      for (int k = 0; k < n; k++) {
        ids[k] = (int) batch[k];
      }
      int shards = (n + SHARD - 1) / SHARD;
      List<Future<?>> pending = new ArrayList<>();
      for (int t = 0; t < Math.min(threads, shards); t++) {
        final int thread = t;
        pending.add(pool.submit(() -> {
          for (int s = thread; s < shards; s += threads) {
            java.util.Arrays.fill(shardGrads[s], 0.0);
            shardLoss[s] = workers[thread].compute(w, ids, positions, s * SHARD, Math.min(n, (s + 1) * SHARD), loss,
                scale, stepSeed, shardGrads[s]);
          }
        }));
      }
      await(pending);
      double sum = 0;
      for (int s = 0; s < shards; s++) {
        sum += shardLoss[s];
        double[] g = shardGrads[s];
        for (int i = 0; i < grad.length; i++) {
          grad[i] += g[i];
        }
      }
      return sum;
    }

    @Override
    public double[] validate(double[] w) {
      return score(model, w, validation, threads, pool);
    }

    @Override
    public void close() {
      pool.shutdownNow();
    }
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

  /** Windows per block of scoring: the unit of error summation. */
  static final int SCORE_BLOCK = 64;

  /** Scores in fixed blocks of windows, summed in block order: the same numbers with any thread count. */
  private static double[] score(WindowModel model, double[] w, Windows windows, int threads, ExecutorService pool) {
    checkShape(model, windows, "windows");
    int blocks = (windows.size() + SCORE_BLOCK - 1) / SCORE_BLOCK;
    double[][] sums = new double[blocks][];
    List<Future<?>> pending = new ArrayList<>();
    for (int t = 0; t < Math.min(threads, blocks); t++) {
      final int thread = t;
      pending.add(pool.submit(() -> {
        ErrorSums e = new ErrorSums(model);
        for (int k = thread; k < blocks; k += threads) {
          sums[k] = e.block(w, windows, k);
        }
      }));
    }
    await(pending);
    double[] total = new double[2];
    for (double[] s : sums) {
      total[0] += s[0];
      total[1] += s[1];
    }
    double count = (double) windows.size() * model.horizon() * model.channels();
    return new double[] {total[0] / count, total[1] / count};
  }

  /**
   * Squared and absolute error sums of weights over windows, block by block
   * ({@link #SCORE_BLOCK} windows each): what a worker holding some of the validation windows
   * sends back. One worker holding them all, summing its blocks in order, gives this JVM's scores.
   */
  public static final class ErrorSums {
    private final WindowModel model;
    private final WindowModel.Workspace ws;
    private final double[] x;
    private final double[] y;
    private final double[] p;
    private final long[] rows = new long[SCORE_BLOCK];

    public ErrorSums(WindowModel model) {
      this.model = model;
      this.ws = model.workspace(SCORE_BLOCK);
      int C = model.channels();
      this.x = new double[SCORE_BLOCK * model.lookback() * C];
      this.y = new double[SCORE_BLOCK * model.horizon() * C];
      this.p = new double[SCORE_BLOCK * model.horizon() * C];
    }

    /** {Σ squared error, Σ absolute error} over every window of {@code windows}, blocks added in order. */
    public double[] all(double[] w, Windows windows) {
      checkShape(model, windows, "windows");
      double[] total = new double[2];
      for (int k = 0; k * SCORE_BLOCK < windows.size(); k++) {
        double[] s = block(w, windows, k);
        total[0] += s[0];
        total[1] += s[1];
      }
      return total;
    }

    double[] block(double[] w, Windows windows, int k) {
      int L = model.lookback();
      int H = model.horizon();
      int C = model.channels();
      int from = k * SCORE_BLOCK;
      int n = Math.min(SCORE_BLOCK, windows.size() - from);
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
      return new double[] {sse, sae};
    }
  }

  /**
   * The gradient of a shard of a batch: the summable unit of training. Holds one thread's
   * workspace and window buffers; every gradient source, local or remote, computes with it.
   */
  public static final class ShardGradient {
    private final WindowModel model;
    private final Windows data;
    private final WindowModel.Workspace ws;
    private final double[] x;
    private final double[] y;
    private final double[] pred;
    private final double[] dPred;
    private final long[] seeds;
    private final long[] rows;

    private double[] shard; // one shard's gradient, for accumulate

    /** Its workspace computes in {@code precision} (see {@link WindowModel#computeIn}); before {@link #runOn}. */
    public void computeIn(org.sparkssm.nn.Precision precision) {
      model.computeIn(ws, precision);
    }

    /** Its workspace's heavy layer operations run on {@code device} (see {@link WindowModel#runOn}). */
    public void runOn(org.sparkssm.nn.LayerDevice device) {
      model.runOn(ws, device);
    }

    /** A workspace for the windows of {@code data}. */
    public ShardGradient(WindowModel model, Windows data) {
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
     * Adds into {@code grad} the gradient of the windows {@code ids[0 .. n)} (at batch positions
     * {@code positions[0 .. n)}), shard by shard ({@link #SHARD} windows each, every shard summed
     * from zero, the shards added in order), and returns the loss sum: a worker holding a whole
     * batch gives this JVM's gradient exactly.
     */
    public double accumulate(double[] w, int[] ids, int[] positions, int n, Loss loss, double scale, long stepSeed,
        double[] grad) {
      if (shard == null) {
        shard = new double[grad.length];
      }
      double sum = 0;
      for (int from = 0; from < n; from += SHARD) {
        java.util.Arrays.fill(shard, 0.0);
        sum += compute(w, ids, positions, from, Math.min(n, from + SHARD), loss, scale, stepSeed, shard);
        for (int i = 0; i < grad.length; i++) {
          grad[i] += shard[i];
        }
      }
      return sum;
    }

    /**
     * Accumulates into {@code gw} the gradient of {@code scale · Σ loss} over the windows
     * {@code ids[from..to)} (dropout seeds by their batch positions) and returns the unscaled loss sum.
     */
    double compute(double[] w, int[] ids, int[] positions, int from, int to, Loss loss, double scale, long stepSeed,
        double[] gw) {
      int n = to - from;
      int L = model.lookback();
      int H = model.horizon();
      int C = model.channels();
      for (int i = 0; i < n; i++) {
        data.copy(ids[from + i], x, i * L * C, y, i * H * C);
        seeds[i] = dropoutSeed(stepSeed, positions[from + i]);
        rows[i] = data.start(ids[from + i]);
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
    long[] p = permutation(n, n, seed);
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = (int) p[i];
    }
    return out;
  }

  /**
   * The first {@code count} entries of a seeded Fisher-Yates permutation of 0..n-1 (the order of
   * {@link #permutation(int, long)}'s when n fits an int): an epoch's windows.
   */
  static long[] permutation(long n, int count, long seed) {
    if (n > Integer.MAX_VALUE) {
      // Sampling without replacement over more ids than an array holds: a seeded draw per slot,
      // rejecting repeats (count is at most an int, so the set stays small).
      SplittableRandom rnd = new SplittableRandom(seed);
      java.util.HashSet<Long> seen = new java.util.HashSet<>();
      long[] out = new long[count];
      for (int i = 0; i < count; i++) {
        long id;
        do {
          id = rnd.nextLong(n);
        } while (!seen.add(id));
        out[i] = id;
      }
      return out;
    }
    int m = (int) n;
    int[] p = new int[m];
    for (int i = 0; i < m; i++) {
      p[i] = i;
    }
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = m - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    long[] out = new long[count];
    for (int i = 0; i < count; i++) {
      out[i] = p[i];
    }
    return out;
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
