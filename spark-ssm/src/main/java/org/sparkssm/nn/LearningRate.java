package org.sparkssm.nn;

import org.sparkssm.Checks;

/**
 * Learning-rate schedules over optimizer steps.
 * <ul>
 *   <li>{@code COSINE}: linear warm-up from 0 over {@code warmupSteps}, then a half cosine from
 *       the base rate down to {@code minFactor · base} at {@code totalSteps}.</li>
 *   <li>{@code STEP}: Time-Series-Library's {@code lradj='type1'}: the base rate halved after
 *       every epoch, {@code base · 0.5^epoch} (epoch counted from 0), with the same warm-up.</li>
 *   <li>{@code CONSTANT}: the base rate after the warm-up.</li>
 * </ul>
 */
public final class LearningRate {
  public enum Kind { COSINE, STEP, CONSTANT }

  private final Kind kind;
  private final double base;
  private final long warmupSteps;
  private final long totalSteps;
  private final long stepsPerEpoch;
  private final double minFactor;

  public LearningRate(Kind kind, double base, long warmupSteps, long totalSteps, long stepsPerEpoch, double minFactor) {
    this.kind = Checks.notNull("schedule", kind);
    this.base = Checks.positiveFinite("learning rate", base);
    this.warmupSteps = Checks.nonNegative("warmup steps", warmupSteps);
    this.totalSteps = Checks.nonNegative("total steps", totalSteps);
    if (stepsPerEpoch < 1) {
      Checks.fail("steps per epoch: expected >= 1, got %d", stepsPerEpoch);
    }
    this.stepsPerEpoch = stepsPerEpoch;
    if (!(minFactor >= 0 && minFactor <= 1)) {
      Checks.fail("minimum learning-rate factor: expected a value in [0, 1], got %s", minFactor);
    }
    this.minFactor = minFactor;
  }

  /** The rate of step {@code s} (0-based: the first update uses {@code at(0)}). */
  public double at(long s) {
    if (s < warmupSteps) {
      return base * (s + 1) / (double) warmupSteps;
    }
    switch (kind) {
      case STEP:
        return base * Math.pow(0.5, s / stepsPerEpoch);
      case CONSTANT:
        return base;
      default:
        long span = Math.max(1, totalSteps - warmupSteps);
        double progress = Math.min(1.0, (s - warmupSteps) / (double) span);
        return base * (minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
