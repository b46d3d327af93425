package org.sparkssm.train;

import org.sparkssm.Checks;
import org.sparkssm.nn.LearningRate;
import org.sparkssm.nn.Loss;
import org.sparkssm.nn.Precision;

/**
 * Everything that decides a training run besides the data and the model: with the same data,
 * model and config (the seed included), training gives bit-identical weights, whatever the number
 * of threads. Every value is checked when the config is built, naming the parameter, so a bad
 * setting fails before any work.
 *
 * @param epochs the most passes over the training windows
 * @param batchSize windows per optimizer step
 * @param learningRate the base rate of the schedule
 * @param schedule how the rate moves over steps ({@link LearningRate.Kind})
 * @param warmupSteps linear warm-up steps
 * @param weightDecay AdamW's decoupled decay (matrices only)
 * @param clipNorm global gradient-norm clip; 0 for none
 * @param loss the training loss
 * @param patience epochs without a better validation MSE before stopping; 0 never stops early
 * @param windowsPerEpoch windows drawn per epoch (a fresh seeded permutation each epoch); 0 for all
 * @param seed initialization, shuffling and dropout
 * @param threads worker threads for a batch's gradient and for scoring (does not change results)
 * @param precision what the networks compute in ({@link WindowModel#computeIn}; float64 by
 *     default); weights, gradients and the optimizer stay float64 either way
 */
public record TrainingConfig(int epochs, int batchSize, double learningRate, LearningRate.Kind schedule,
    int warmupSteps, double weightDecay, double clipNorm, Loss loss, int patience, int windowsPerEpoch, long seed,
    int threads, Precision precision) {
  public TrainingConfig {
    Checks.positive("epochs", epochs);
    Checks.positive("batch size", batchSize);
    Checks.positiveFinite("learning rate", learningRate);
    Checks.notNull("schedule", schedule);
    Checks.nonNegative("warmup steps", warmupSteps);
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      Checks.fail("weight decay: expected a finite value >= 0, got %s", weightDecay);
    }
    if (!(clipNorm >= 0) || Double.isInfinite(clipNorm)) {
      Checks.fail("clip norm: expected a finite value >= 0 (0: no clipping), got %s", clipNorm);
    }
    Checks.notNull("loss", loss);
    Checks.nonNegative("patience", patience);
    Checks.nonNegative("windows per epoch", windowsPerEpoch);
    Checks.positive("threads", threads);
    Checks.notNull("precision", precision);
  }

  /** Defaults close to Time-Series-Library's: 10 epochs, batch 32, lr 1e-3 cosine, patience 3, MSE, clip 1. */
  public static TrainingConfig defaults() {
    return new TrainingConfig(10, 32, 1e-3, LearningRate.Kind.COSINE, 0, 0.0, 1.0, Loss.mse(), 3, 0, 2021,
        Math.max(1, Runtime.getRuntime().availableProcessors()), Precision.FLOAT64);
  }

  /**
   * The forecasting benchmark's protocol (BENCHMARKS.md, issue #11): lr 3e-4 with cosine decay,
   * up to 8 epochs of 8,000 windows drawn per epoch, patience 3, batch 32, seed 2021.
   */
  public static TrainingConfig ltsf() {
    return defaults().withLearningRate(3e-4).withEpochs(8).withWindowsPerEpoch(8000);
  }

  public TrainingConfig withEpochs(int e) {
    return new TrainingConfig(e, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withLearningRate(double lr) {
    return new TrainingConfig(epochs, batchSize, lr, schedule, warmupSteps, weightDecay, clipNorm, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withSeed(long s) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss,
        patience, windowsPerEpoch, s, threads, precision);
  }

  public TrainingConfig withThreads(int t) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss,
        patience, windowsPerEpoch, seed, t, precision);
  }

  public TrainingConfig withBatchSize(int b) {
    return new TrainingConfig(epochs, b, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withWindowsPerEpoch(int n) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss,
        patience, n, seed, threads, precision);
  }

  public TrainingConfig withPatience(int p) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss, p,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withLoss(Loss l) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, l,
        patience, windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withSchedule(LearningRate.Kind k, int warmup) {
    return new TrainingConfig(epochs, batchSize, learningRate, k, warmup, weightDecay, clipNorm, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withWeightDecay(double wd) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, wd, clipNorm, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withClipNorm(double c) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, c, loss, patience,
        windowsPerEpoch, seed, threads, precision);
  }

  public TrainingConfig withPrecision(Precision p) {
    return new TrainingConfig(epochs, batchSize, learningRate, schedule, warmupSteps, weightDecay, clipNorm, loss,
        patience, windowsPerEpoch, seed, threads, p);
  }
}
