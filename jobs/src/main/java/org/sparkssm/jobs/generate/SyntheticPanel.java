package org.sparkssm.jobs.generate;

import java.io.Serializable;
import java.util.SplittableRandom;
import org.sparkssm.Checks;

/**
 * A reproducible synthetic panel: series i, channel c is
 * <pre>
 *   y_t = level + slope·t + Σ_k amplitude_k · sin(2π t / period_k + phase_k) + noise_t
 * </pre>
 * with t the step (row) index and noise either AR(1) {@code e_t = φ e_{t-1} + σ sqrt(1-φ²) z_t}
 * (stationary, started from its stationary law) or white {@code σ z_t}. Per channel:
 * level ~ U(10, 100); slope = level · 0.01 · z per day of steps; amplitude_k = level · U(0.05, 0.3)
 * / (k+1); phase_k ~ U(0, 2π); σ = level · U(0.02, 0.08).
 *
 * <p>Reproducibility: every series and channel draws from its own {@link SplittableRandom}, seeded by
 * a hash of (seed, series index, channel), and row drops ({@code dropProbability}) from another; so a
 * series does not depend on how series are spread over tasks, channel 0 does not depend on the
 * number of channels, and an irregular panel is the regular one with rows removed. Gaussians are
 * Box-Muller and trigonometry is {@link StrictMath}, so the numbers are the same on every JVM.
 */
public final class SyntheticPanel implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final long MICROS_PER_DAY = 86_400_000_000L;
  private static final long DROP_STREAM = -1;

  /** The noise process. */
  public enum Noise { AR1, WHITE }

  private final long seed;
  private final long startMicros;
  private final long stepMicros;
  private final long length;
  private final int channels;
  private final double[] periods;
  private final Noise noise;
  private final double phi;
  private final double dropProbability;

  /**
   * @param seed the panel's seed
   * @param startMicros the first timestamp, microseconds since the epoch (UTC)
   * @param stepMicros the step between rows, microseconds, {@code >= 1}
   * @param length rows per series before drops, {@code >= 1}
   * @param channels value columns, {@code >= 1}
   * @param periods seasonal periods in steps, each {@code >= 2} (none for no seasonality)
   * @param noise the noise process
   * @param phi the AR(1) coefficient, {@code |φ| < 1} (ignored for white noise)
   * @param dropProbability the probability that a row is dropped, in {@code [0, 1)}
   */
  public SyntheticPanel(long seed, long startMicros, long stepMicros, long length, int channels, double[] periods,
      Noise noise, double phi, double dropProbability) {
    if (stepMicros < 1) {
      Checks.fail("step: expected >= 1 microsecond, got %d", stepMicros);
    }
    if (length < 1) {
      Checks.fail("length: expected >= 1 row per series, got %d", length);
    }
    Checks.positive("channels", channels);
    for (double p : Checks.notNull("periods", periods)) {
      if (!(p >= 2) || Double.isInfinite(p)) {
        Checks.fail("periods: expected seasonal periods of at least 2 steps, got %s", p);
      }
    }
    Checks.notNull("noise", noise);
    if (!(Math.abs(phi) < 1)) {
      Checks.fail("phi: expected an AR(1) coefficient with |phi| < 1, got %s", phi);
    }
    if (!(dropProbability >= 0 && dropProbability < 1)) {
      Checks.fail("dropProbability: expected a probability in [0, 1), got %s", dropProbability);
    }
    this.seed = seed;
    this.startMicros = startMicros;
    this.stepMicros = stepMicros;
    this.length = length;
    this.channels = channels;
    this.periods = periods.clone();
    this.noise = noise;
    this.phi = phi;
    this.dropProbability = dropProbability;
  }

  public int channels() {
    return channels;
  }

  public long length() {
    return length;
  }

  /** A cursor over the rows of series {@code index} (0-based), in time order. */
  public Series series(long index) {
    return new Series(index);
  }

  /** The rows of one series: call {@link #next()}, then read the row; not thread-safe. */
  public final class Series {
    private final SplittableRandom drops;
    private final SplittableRandom[] rng;
    private final double[] level;
    private final double[] slope;
    private final double[][] amplitude;
    private final double[][] phase;
    private final double[] sigma;
    private final double[] ar;
    private final double[] value;
    private long step = -1;

    private Series(long index) {
      long seriesSeed = mix64(mix64(seed) + index);
      drops = new SplittableRandom(mix64(seriesSeed + DROP_STREAM));
      rng = new SplittableRandom[channels];
      level = new double[channels];
      slope = new double[channels];
      amplitude = new double[channels][periods.length];
      phase = new double[channels][periods.length];
      sigma = new double[channels];
      ar = new double[channels];
      value = new double[channels];
      double stepsPerDay = (double) MICROS_PER_DAY / stepMicros;
      for (int c = 0; c < channels; c++) {
        SplittableRandom r = new SplittableRandom(mix64(seriesSeed + c));
        rng[c] = r;
        level[c] = 10 + 90 * r.nextDouble();
        slope[c] = level[c] * 0.01 * gaussian(r) / stepsPerDay;
        for (int k = 0; k < periods.length; k++) {
          amplitude[c][k] = level[c] * (0.05 + 0.25 * r.nextDouble()) / (k + 1);
          phase[c][k] = 2 * Math.PI * r.nextDouble();
        }
        sigma[c] = level[c] * (0.02 + 0.06 * r.nextDouble());
        ar[c] = sigma[c] * gaussian(r); // AR(1) from its stationary law: no burn-in
      }
    }

    /** Advances to the next row that is kept; false after the last. */
    public boolean next() {
      while (++step < length) {
        for (int c = 0; c < channels; c++) {
          value[c] = valueAt(c);
        }
        // The drop draw comes after the values, from its own stream: dropping never shifts the values.
        if (dropProbability == 0 || drops.nextDouble() >= dropProbability) {
          return true;
        }
      }
      return false;
    }

    private double valueAt(int c) {
      SplittableRandom r = rng[c];
      double e;
      if (noise == Noise.AR1) {
        e = step == 0 ? ar[c] : phi * ar[c] + sigma[c] * Math.sqrt(1 - phi * phi) * gaussian(r);
        ar[c] = e;
      } else {
        e = sigma[c] * gaussian(r);
      }
      double y = level[c] + slope[c] * step + e;
      for (int k = 0; k < periods.length; k++) {
        y += amplitude[c][k] * StrictMath.sin(2 * Math.PI * step / periods[k] + phase[c][k]);
      }
      return y;
    }

    /** The current row's step index (0-based, counting dropped rows). */
    public long step() {
      return step;
    }

    /** The current row's timestamp, microseconds since the epoch. */
    public long timeMicros() {
      return startMicros + step * stepMicros;
    }

    /** The current row's value of channel {@code c}. */
    public double value(int c) {
      return value[c];
    }
  }

  private static double gaussian(SplittableRandom r) {
    double u1 = 1.0 - r.nextDouble(); // (0, 1]: log(0) cannot occur
    double u2 = r.nextDouble();
    return StrictMath.sqrt(-2 * StrictMath.log(u1)) * StrictMath.cos(2 * Math.PI * u2);
  }

  /** Stafford's mix13 (the finalizer SplittableRandom uses): nearby inputs give unrelated seeds. */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
