package org.sparkssm.forecast;

import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import org.sparkssm.Checks;
import org.sparkssm.scan.VectorSupport;

/**
 * Sufficient statistics of a multi-output linear regression {@code y ≈ βᵀ x + b} (x of F
 * features, y of H outputs): n, Σx, Σy, XᵀX, XᵀY and Σ‖y‖². They are sums, so statistics of
 * disjoint sample sets {@link #merge merge} by addition in any grouping: Spark accumulates one
 * instance per partition ({@code treeAggregate} with {@link #add}/{@link #merge}) and the driver
 * solves from the merged result without a second pass over the data.
 *
 * <p>Why statistics and not the samples: the same statistics of a held-out set also give the
 * held-out squared error of <em>any</em> weights ({@link #sse}), so the penalty is chosen on the
 * validation set ({@link #select}) from two small objects, one data pass in all.
 *
 * <p>Rows are buffered into a block of {@value #BLOCK} samples and folded in by a tiled rank-k
 * update, so {@link #add} allocates nothing and XᵀX costs about F²/2 multiply-adds per sample
 * with the touched part of XᵀX kept in cache. Only the upper triangle of XᵀX is accumulated.
 * Layouts: XᵀX {@code [i * F + j]} (i ≤ j), XᵀY {@code [i * H + c]}.
 *
 * <p>Not thread-safe: one instance per task, merged afterwards. Serialization folds the pending
 * block in first, so a partially filled block is never lost between executor and driver.
 */
public final class RidgeStats implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Samples buffered before a rank-k update. */
  static final int BLOCK = 64;
  /** Rows of XᵀX (and XᵀY) updated together while the block streams through: fits L1. */
  private static final int TILE = 8;

  /** The penalty grid of the LTSF driver: λ_rel = 1e-7, 1e-6, …, 1e2. */
  public static final double[] DEFAULT_LAMBDAS = {1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100};

  private final int features;
  private final int outputs;
  private long n;
  private final double[] sumX;
  private final double[] sumY;
  private final double[] xtx;
  private final double[] xty;
  private double sumYY;

  private transient double[] blockX;
  private transient double[] blockY;
  private transient int pending;

  /**
   * Empty statistics.
   *
   * @param features F, {@code >= 0} (0: an intercept-only model)
   * @param outputs H, {@code >= 1}
   */
  public RidgeStats(int features, int outputs) {
    Checks.nonNegative("features (F)", features);
    Checks.positive("outputs (H)", outputs);
    if ((long) features * features > Integer.MAX_VALUE || (long) features * outputs > Integer.MAX_VALUE) {
      Checks.fail("features (F): expected F*F and F*H to fit an array, got F = %d, H = %d", features, outputs);
    }
    this.features = features;
    this.outputs = outputs;
    this.sumX = new double[features];
    this.sumY = new double[outputs];
    this.xtx = new double[features * features];
    this.xty = new double[features * outputs];
  }

  /** F. */
  public int features() {
    return features;
  }

  /** H. */
  public int outputs() {
    return outputs;
  }

  /** The number of samples added, pending ones included. */
  public long count() {
    return n + pending;
  }

  /**
   * Adds one sample: features {@code x[xOff .. xOff+F)}, targets {@code y[yOff .. yOff+H)}. The
   * arrays are copied into the block buffer, so the caller may reuse them at once.
   */
  public void add(double[] x, int xOff, double[] y, int yOff) {
    assert xOff >= 0 && xOff + features <= x.length : "x range";
    assert yOff >= 0 && yOff + outputs <= y.length : "y range";
    if (blockX == null) {
      blockX = new double[BLOCK * features];
      blockY = new double[BLOCK * outputs];
    }
    System.arraycopy(x, xOff, blockX, pending * features, features);
    System.arraycopy(y, yOff, blockY, pending * outputs, outputs);
    if (++pending == BLOCK) {
      flush();
    }
  }

  /**
   * Adds {@code rows} samples stored row by row: {@code x[xOff + r * F + i]},
   * {@code y[yOff + r * H + c]}. The fast path for callers that featurize into their own block.
   */
  public void addBlock(double[] x, int xOff, double[] y, int yOff, int rows) {
    Checks.nonNegative("rows", rows);
    Checks.range("x", x, xOff, (long) rows * features);
    Checks.range("y", y, yOff, (long) rows * outputs);
    flush();
    rankUpdate(x, xOff, y, yOff, rows);
  }

  /**
   * Adds {@code other}'s samples to this one and returns this (a {@code treeAggregate} combiner).
   *
   * @throws IllegalArgumentException when F or H differ
   */
  public RidgeStats merge(RidgeStats other) {
    Checks.notNull("other", other);
    if (other.features != features || other.outputs != outputs) {
      Checks.fail("other: expected statistics of F = %d features and H = %d outputs, got F = %d, H = %d",
          features, outputs, other.features, other.outputs);
    }
    flush();
    other.flush();
    n += other.n;
    sumYY += other.sumYY;
    addInto(sumX, other.sumX);
    addInto(sumY, other.sumY);
    addInto(xtx, other.xtx);
    addInto(xty, other.xty);
    return this;
  }

  private static void addInto(double[] to, double[] from) {
    for (int i = 0; i < to.length; i++) {
      to[i] += from[i];
    }
  }

  /** Folds the pending block into the sums. */
  private void flush() {
    if (pending > 0) {
      int rows = pending;
      pending = 0;
      rankUpdate(blockX, 0, blockY, 0, rows);
    }
  }

  private void rankUpdate(double[] x, int xOff, double[] y, int yOff, int rows) {
    final int f = features;
    final int h = outputs;
    n += rows;
    for (int r = 0; r < rows; r++) {
      int xr = xOff + r * f;
      for (int i = 0; i < f; i++) {
        sumX[i] += x[xr + i];
      }
      int yr = yOff + r * h;
      for (int c = 0; c < h; c++) {
        double v = y[yr + c];
        sumY[c] += v;
        sumYY += v * v;
      }
    }
    if (VectorSupport.ENABLED) {
      RankUpdateVector.addAtB(x, xOff, f, x, xOff, f, rows, xtx, f, f, f, true);
      RankUpdateVector.addAtB(x, xOff, f, y, yOff, h, rows, xty, h, f, h, false);
    } else {
      crossScalar(x, xOff, y, yOff, rows, f, h, xtx, xty);
    }
  }

  /**
   * The scalar path of the rank-k update: the upper triangle of {@code xtx += XᵀX} and
   * {@code xty += XᵀY} for a block of {@code rows} samples stored row by row.
   */
  static void crossScalar(double[] x, int xOff, double[] y, int yOff, int rows, int f, int h, double[] xtx,
      double[] xty) {
    // A tile of TILE rows of XᵀX / XᵀY stays in L1 while all rows of the block pass through it;
    // the innermost loops are contiguous axpys that the JIT vectorizes.
    for (int i0 = 0; i0 < f; i0 += TILE) {
      int i1 = Math.min(f, i0 + TILE);
      for (int r = 0; r < rows; r++) {
        int xr = xOff + r * f;
        int yr = yOff + r * h;
        for (int i = i0; i < i1; i++) {
          double xi = x[xr + i];
          if (xi == 0) {
            continue;
          }
          int row = i * f;
          for (int j = i; j < f; j++) {
            xtx[row + j] += xi * x[xr + j];
          }
          int yrow = i * h;
          for (int c = 0; c < h; c++) {
            xty[yrow + c] += xi * y[yr + c];
          }
        }
      }
    }
  }

  private void writeObject(ObjectOutputStream out) throws IOException {
    flush();
    out.defaultWriteObject();
  }

  /** XᵀX as a full symmetric F×F matrix (a copy). */
  double[] gram() {
    flush();
    int f = features;
    double[] g = new double[f * f];
    for (int i = 0; i < f; i++) {
      for (int j = i; j < f; j++) {
        g[i * f + j] = xtx[i * f + j];
        g[j * f + i] = xtx[i * f + j];
      }
    }
    return g;
  }

  /** Σx, Σy, XᵀY, Σ‖y‖² as copies (for tests and diagnostics). */
  double[] sumX() {
    flush();
    return sumX.clone();
  }

  double[] sumY() {
    flush();
    return sumY.clone();
  }

  double[] crossXY() {
    flush();
    return xty.clone();
  }

  double sumYY() {
    flush();
    return sumYY;
  }

  /**
   * The ridge solution with an unpenalized intercept and penalty {@code λ = λ_rel · n} on
   * <em>standardized</em> features.
   *
   * <p>Why standardized: features of different kinds (raw window values, Legendre coefficients,
   * S4D states at several time scales) differ in scale by orders of magnitude, and one isotropic
   * penalty would shrink the small ones to nothing. Penalizing {@code Σ_j s_j² β_j²}, s_j the
   * training standard deviation of feature j, is exactly ridge on z-scored features; the
   * training statistics already hold s_j, so this costs no extra pass and leaves the features
   * themselves (and the Spark side) free of any fitted scaler. λ_rel is then relative to the
   * diagonal of the correlation matrix, which is what makes one grid fit every model. Features
   * constant on the training set (variance ≤ 1e-12 × the largest) get weight 0: they carry
   * nothing the intercept does not.
   *
   * @param lambdaRel λ_rel, finite and {@code >= 0}; 0 is ordinary least squares (which fails,
   *     naming the matrix, when the features are collinear)
   * @throws IllegalArgumentException when no sample was added, or on a bad λ_rel
   */
  public RidgeSolution solve(double lambdaRel) {
    return new Standardized().solve(lambdaRel);
  }

  /**
   * The sum of squared errors {@code Σ ‖y - βᵀx - b‖²} of the given weights over these samples,
   * from the statistics alone:
   * {@code Σ‖y‖² - 2 tr(βᵀ XᵀY) - 2 bᵀΣy + tr(βᵀ XᵀX β) + 2 bᵀ βᵀ Σx + n ‖b‖²}.
   */
  public double sse(RidgeSolution w) {
    Checks.notNull("weights", w);
    if (w.features() != features || w.outputs() != outputs) {
      Checks.fail("weights: expected F = %d, H = %d, got F = %d, H = %d", features, outputs, w.features(),
          w.outputs());
    }
    flush();
    final int f = features;
    final int h = outputs;
    double[] beta = w.beta;
    double[] b = w.intercept;
    double quad = 0;
    double cross = 0;
    // g = XᵀX β row by row (upper triangle read symmetrically), then tr(βᵀ g).
    double[] g = new double[h];
    for (int i = 0; i < f; i++) {
      java.util.Arrays.fill(g, 0);
      for (int j = 0; j < f; j++) {
        double gij = i <= j ? xtx[i * f + j] : xtx[j * f + i];
        if (gij == 0) {
          continue;
        }
        int bj = j * h;
        for (int c = 0; c < h; c++) {
          g[c] += gij * beta[bj + c];
        }
      }
      int bi = i * h;
      for (int c = 0; c < h; c++) {
        quad += beta[bi + c] * g[c];
        cross += beta[bi + c] * xty[bi + c];
      }
    }
    double interceptTerms = 0;
    for (int c = 0; c < h; c++) {
      double xb = 0;
      for (int i = 0; i < f; i++) {
        xb += sumX[i] * beta[i * h + c];
      }
      interceptTerms += -2 * b[c] * sumY[c] + 2 * b[c] * xb + n * b[c] * b[c];
    }
    return sumYY - 2 * cross + quad + interceptTerms;
  }

  /** {@link #sse} divided by n·H: the mean squared error per output value. */
  public double mse(RidgeSolution w) {
    if (count() == 0) {
      Checks.fail("statistics: expected at least one sample, got none");
    }
    return sse(w) / ((double) count() * outputs);
  }

  /**
   * Picks λ_rel from the grid by the validation MSE that {@code validation}'s statistics give for
   * each solution fitted on {@code train}; ties go to the larger penalty (the earlier minimum is
   * kept only when strictly better).
   *
   * @param train statistics of the training windows
   * @param validation statistics of the validation windows, same featurization
   * @param lambdaRels the grid, each finite and {@code >= 0}
   */
  public static Selection select(RidgeStats train, RidgeStats validation, double[] lambdaRels) {
    Checks.notNull("train", train);
    Checks.notNull("validation", validation);
    Checks.notNull("lambdaRels", lambdaRels);
    if (lambdaRels.length == 0) {
      Checks.fail("lambdaRels: expected at least one value, got none");
    }
    if (validation.features != train.features || validation.outputs != train.outputs) {
      Checks.fail("validation: expected F = %d, H = %d as in train, got F = %d, H = %d", train.features,
          train.outputs, validation.features, validation.outputs);
    }
    Standardized z = train.new Standardized();
    double[] mses = new double[lambdaRels.length];
    RidgeSolution best = null;
    double bestMse = Double.POSITIVE_INFINITY;
    for (int k = 0; k < lambdaRels.length; k++) {
      RidgeSolution s = z.solve(lambdaRels[k]);
      mses[k] = validation.mse(s);
      if (best == null || mses[k] <= bestMse) {
        best = s;
        bestMse = mses[k];
      }
    }
    return new Selection(best, lambdaRels.clone(), mses, train.features);
  }

  /**
   * {@link #select} over the full features and over each nested model made of the first
   * {@code prefixes[p]} features alone (the statistics of a prefix are a sub-block of the full
   * ones, so this costs no pass over the data): the λ_rel and the feature set with the smallest
   * validation MSE win, ties going to the larger model. A nested winner's weights are padded with
   * zeros to all F features, so it applies to the full featurization unchanged.
   *
   * @param prefixes feature counts k with {@code 0 <= k < F}
   */
  public static Selection select(RidgeStats train, RidgeStats validation, double[] lambdaRels, int... prefixes) {
    Checks.notNull("train", train);
    Checks.notNull("prefixes", prefixes);
    for (int k : prefixes) {
      if (k < 0 || k >= train.features) {
        Checks.fail("prefixes: expected feature counts in [0, %d), got %d", train.features, k);
      }
    }
    Selection best = select(train, validation, lambdaRels);
    for (int k : prefixes) {
      Selection nested = select(train.prefix(k), validation.prefix(k), lambdaRels);
      if (minimum(nested.validationMse()) < minimum(best.validationMse())) {
        best = new Selection(nested.best().padded(train.features), nested.lambdaRels(), nested.validationMse(), k);
      }
    }
    return best;
  }

  private static double minimum(double[] values) {
    double m = Double.POSITIVE_INFINITY;
    for (double v : values) {
      m = Math.min(m, v);
    }
    return m;
  }

  /** The statistics of the first {@code k} features alone (same samples and targets). */
  RidgeStats prefix(int k) {
    flush();
    RidgeStats p = new RidgeStats(k, outputs);
    p.n = n;
    p.sumYY = sumYY;
    System.arraycopy(sumX, 0, p.sumX, 0, k);
    System.arraycopy(sumY, 0, p.sumY, 0, outputs);
    for (int i = 0; i < k; i++) {
      System.arraycopy(xtx, i * features, p.xtx, i * k, k);
      System.arraycopy(xty, i * outputs, p.xty, i * outputs, outputs);
    }
    return p;
  }

  /**
   * The outcome of {@link #select}: the chosen solution (over all F features), the validation MSE
   * of every λ_rel for the chosen feature set, and how many leading features that set has (F
   * unless a nested model won).
   */
  public record Selection(RidgeSolution best, double[] lambdaRels, double[] validationMse, int features)
      implements Serializable {}

  /**
   * The centered, standardized normal equations of the training statistics, built once and
   * solved for as many penalties as asked (the λ grid).
   */
  private final class Standardized {
    final double[] corr; // D⁻¹ Cxx D⁻¹, F×F (n on the diagonal for non-constant features)
    final double[] rhs; // D⁻¹ Cxy, F×H
    final double[] scale; // s_j, 0 for a constant feature
    final double[] meanX;
    final double[] meanY;

    Standardized() {
      flush();
      if (n == 0) {
        Checks.fail("statistics: expected at least one sample to solve, got none");
      }
      final int f = features;
      final int h = outputs;
      meanX = new double[f];
      meanY = new double[h];
      for (int i = 0; i < f; i++) {
        meanX[i] = sumX[i] / n;
      }
      for (int c = 0; c < h; c++) {
        meanY[c] = sumY[c] / n;
      }
      scale = new double[f];
      double maxVar = 0;
      for (int i = 0; i < f; i++) {
        double v = Math.max(0, xtx[i * f + i] - n * meanX[i] * meanX[i]) / n;
        scale[i] = v;
        maxVar = Math.max(maxVar, v);
      }
      for (int i = 0; i < f; i++) {
        scale[i] = scale[i] > 1e-12 * maxVar ? Math.sqrt(scale[i]) : 0;
      }
      corr = new double[f * f];
      rhs = new double[f * h];
      for (int i = 0; i < f; i++) {
        if (scale[i] == 0) {
          continue;
        }
        for (int j = i; j < f; j++) {
          if (scale[j] == 0) {
            continue;
          }
          double v = (xtx[i * f + j] - n * meanX[i] * meanX[j]) / (scale[i] * scale[j]);
          corr[i * f + j] = v;
          corr[j * f + i] = v;
        }
        for (int c = 0; c < h; c++) {
          rhs[i * h + c] = (xty[i * h + c] - n * meanX[i] * meanY[c]) / scale[i];
        }
      }
    }

    RidgeSolution solve(double lambdaRel) {
      if (!(lambdaRel >= 0) || Double.isInfinite(lambdaRel)) {
        Checks.fail("lambdaRel: expected a finite value >= 0, got %s", lambdaRel);
      }
      final int f = features;
      final int h = outputs;
      double[] a = corr.clone();
      double[] x = rhs.clone();
      double penalty = lambdaRel * n;
      for (int i = 0; i < f; i++) {
        // A constant feature gets the identity row: with a zero right-hand side its weight is 0.
        a[i * f + i] = scale[i] == 0 ? 1 : a[i * f + i] + penalty;
      }
      if (f > 0) {
        Cholesky.solveInPlace("standardized X'X + lambda*n*I", a, f, x, h);
      }
      double[] beta = new double[f * h];
      double[] intercept = meanY.clone();
      for (int i = 0; i < f; i++) {
        if (scale[i] == 0) {
          continue;
        }
        for (int c = 0; c < h; c++) {
          double bic = x[i * h + c] / scale[i];
          beta[i * h + c] = bic;
          intercept[c] -= bic * meanX[i];
        }
      }
      return new RidgeSolution(f, h, beta, intercept, lambdaRel);
    }
  }
}
