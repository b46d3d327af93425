package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;
import org.sparkssm.testing.Tolerances.Tolerance;

/**
 * {@link RidgeStats} against references computed from the explicit samples X (n×F), Y (n×H):
 * <ul>
 *   <li>the statistics: the sums n, Σx, Σy, XᵀX, XᵀY, Σ‖y‖² by plain loops;</li>
 *   <li>{@link RidgeStats#solve}: the documented estimator written from its formula
 *       ({@link #ridgeReference}): centre X and Y, scale column j by its training (population)
 *       standard deviation s_j, drop columns of variance ≤ 1e-12 × the largest, solve
 *       {@code (XsᵀXs + λ_rel·n·I) β_s = XsᵀYc} by Gaussian elimination
 *       ({@link NaiveLinearAlgebra#solve}), then {@code β = β_s / s}, {@code b = ȳ − x̄ᵀβ};</li>
 *   <li>{@link RidgeStats#sse}/{@link RidgeStats#mse}: the squared error of explicit predictions
 *       {@code βᵀx + b};</li>
 *   <li>{@link RidgeStats#select}: a loop over the grid with both references.</li>
 * </ul>
 * Tolerances: re-grouped sums (blocks, merges) and solutions from them differ from one
 * accumulation by rounding only, {@link #REGROUPED} = {@link Tolerances#F64}. The library solves
 * from one-pass sums ({@code XᵀX − n x̄x̄ᵀ}, Cholesky) where the reference centres the data first
 * (two-pass, Gaussian elimination). One-pass centring loses about (|mean|/sd)² in relative
 * precision and the intercept {@code ȳ − x̄ᵀβ} cancels about |mean|/sd more, so the data keep
 * |mean|/sd below 20 (means in [−2, 2], scales 0.1 … 10, unit noise); with that and n ≥ F + 3 the
 * two agree to about 2e-11 relative, {@link #SOLVE} (1e-9) leaves a margin of 50. (Means of ±5 at
 * scale 0.01 already cost 2e-9: a property of the one-pass statistics, not something this test
 * pins.) {@link RidgeStats#sse} expands the square into sums that cancel down to the residual, so
 * its error is relative to Σ‖y‖², not to the SSE: {@link #sseTolerance}. The OLS limit recovers an
 * exact linear map to {@link #RECOVERED} (1e-6, as asked; the observed error is about 1e-9).
 */
class RidgeStatsTest {
  /** One-pass vs. two-pass centring and Cholesky vs. Gaussian elimination, small condition numbers. */
  private static final Tolerance SOLVE = new Tolerance(1e-10, 1e-9);
  /** Statistics summed in another grouping, then solved: rounding of the sums, times the condition. */
  private static final Tolerance REGROUPED = Tolerances.F64;
  /** B and b of an exactly linear Y recovered in the λ → 0 limit. */
  private static final Tolerance RECOVERED = new Tolerance(1e-6, 1e-6);

  /** The SSE expansion cancels Σ‖y‖² down to the residual: its error is relative to Σ‖y‖². */
  private static Tolerance sseTolerance(double[][] y) {
    double yy = 0;
    for (double[] row : y) {
      for (double v : row) {
        yy += v * v;
      }
    }
    return new Tolerance(1e-12 * yy, 1e-10);
  }

  // ---- data and references ----------------------------------------------------------------

  /** A regression problem whose columns have different means and scales, Y = X B + b + noise. */
  private static final class Problem {
    final double[][] x;
    final double[][] y;

    Problem(double[][] x, double[][] y) {
      this.x = x;
      this.y = y;
    }

    int n() {
      return x.length;
    }

    double[] xFlat(int pad) {
      return flatten(x, pad);
    }

    double[] yFlat(int pad) {
      return flatten(y, pad);
    }
  }

  private static double[] flatten(double[][] a, int pad) {
    int w = a.length == 0 ? 0 : a[0].length;
    double[] flat = new double[pad + a.length * w];
    for (int i = 0; i < a.length; i++) {
      System.arraycopy(a[i], 0, flat, pad + i * w, w);
    }
    return flat;
  }

  private static Problem problem(SplittableRandom rnd, int n, int f, int h, double noise) {
    // |mean| / sd stays below 20: one-pass centring (XᵀX − n x̄x̄ᵀ) loses about (|mean| / sd)²
    // in relative precision, and b = ȳ − x̄ᵀβ cancels about |mean| / sd more.
    double[] mean = TestData.uniform(rnd, f, -2, 2);
    double[] scale = new double[f];
    for (int j = 0; j < f; j++) {
      scale[j] = Math.pow(10, rnd.nextDouble() * 2 - 1); // 0.1 .. 10
    }
    double[][] b = new double[f][];
    for (int j = 0; j < f; j++) {
      b[j] = TestData.gaussian(rnd, h, 1.0 / scale[j]);
    }
    double[] intercept = TestData.gaussian(rnd, h, 1.0);
    double[][] x = new double[n][f];
    double[][] y = new double[n][h];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < f; j++) {
        x[i][j] = mean[j] + scale[j] * TestData.gaussian(rnd);
      }
      for (int c = 0; c < h; c++) {
        double s = intercept[c] + noise * TestData.gaussian(rnd);
        for (int j = 0; j < f; j++) {
          s += x[i][j] * b[j][c];
        }
        y[i][c] = s;
      }
    }
    return new Problem(x, y);
  }

  private static RidgeStats statsOf(Problem p) {
    RidgeStats s = new RidgeStats(p.x[0].length, p.y[0].length);
    for (int i = 0; i < p.n(); i++) {
      s.add(p.x[i], 0, p.y[i], 0);
    }
    return s;
  }

  /** β (F×H row-major) then b (H), concatenated, of the documented standardized ridge. */
  static double[] ridgeReference(double[][] x, double[][] y, double lambdaRel) {
    int n = x.length;
    int f = x[0].length;
    int h = y[0].length;
    double[] meanX = new double[f];
    double[] meanY = new double[h];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < f; j++) {
        meanX[j] += x[i][j] / n;
      }
      for (int c = 0; c < h; c++) {
        meanY[c] += y[i][c] / n;
      }
    }
    double[] sd = new double[f];
    double maxVar = 0;
    for (int j = 0; j < f; j++) {
      double v = 0;
      for (int i = 0; i < n; i++) {
        v += (x[i][j] - meanX[j]) * (x[i][j] - meanX[j]);
      }
      sd[j] = v / n;
      maxVar = Math.max(maxVar, sd[j]);
    }
    List<Integer> kept = new ArrayList<>();
    for (int j = 0; j < f; j++) {
      if (sd[j] > 1e-12 * maxVar) {
        kept.add(j);
      }
      sd[j] = Math.sqrt(sd[j]);
    }
    int k = kept.size();
    double[][] xs = new double[n][k];
    double[][] yc = new double[n][h];
    for (int i = 0; i < n; i++) {
      for (int q = 0; q < k; q++) {
        int j = kept.get(q);
        xs[i][q] = (x[i][j] - meanX[j]) / sd[j];
      }
      for (int c = 0; c < h; c++) {
        yc[i][c] = y[i][c] - meanY[c];
      }
    }
    double[] out = new double[f * h + h];
    System.arraycopy(meanY, 0, out, f * h, h);
    if (k == 0) {
      return out;
    }
    double[][] xst = NaiveLinearAlgebra.transpose(xs);
    double[][] a = NaiveLinearAlgebra.multiply(xst, xs);
    for (int q = 0; q < k; q++) {
      a[q][q] += lambdaRel * n;
    }
    double[][] betaS = NaiveLinearAlgebra.solve(a, NaiveLinearAlgebra.multiply(xst, yc));
    for (int q = 0; q < k; q++) {
      int j = kept.get(q);
      for (int c = 0; c < h; c++) {
        double beta = betaS[q][c] / sd[j];
        out[j * h + c] = beta;
        out[f * h + c] -= meanX[j] * beta;
      }
    }
    return out;
  }

  private static double[] packed(RidgeSolution s) {
    double[] beta = s.beta();
    double[] b = s.intercept();
    double[] out = new double[beta.length + b.length];
    System.arraycopy(beta, 0, out, 0, beta.length);
    System.arraycopy(b, 0, out, beta.length, b.length);
    return out;
  }

  /** Σ_i Σ_c (y_ic − Σ_j x_ij β_jc − b_c)² from explicit predictions. */
  static double sseReference(double[][] x, double[][] y, double[] beta, double[] b) {
    int h = b.length;
    double sse = 0;
    for (int i = 0; i < x.length; i++) {
      for (int c = 0; c < h; c++) {
        double pred = b[c];
        for (int j = 0; j < x[i].length; j++) {
          pred += x[i][j] * beta[j * h + c];
        }
        double r = y[i][c] - pred;
        sse += r * r;
      }
    }
    return sse;
  }

  private static void assertFailsNaming(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"),
        "expected the message to name '" + argument + "', got: " + e.getMessage());
  }

  // ---- the statistics ---------------------------------------------------------------------

  @Test
  void statisticsAreThePlainSumsOfTheSamples() {
    SplittableRandom rnd = new SplittableRandom(301);
    // 150 samples: two full blocks folded in plus a pending one; some exact zeros in X.
    Problem p = problem(rnd, 150, 7, 3, 0.5);
    for (int i = 0; i < p.n(); i += 5) {
      p.x[i][i % 7] = 0;
    }
    RidgeStats s = statsOf(p);
    int f = 7;
    int h = 3;
    assertEquals(150, s.count());
    assertEquals(f, s.features());
    assertEquals(h, s.outputs());
    double[] gram = new double[f * f];
    double[] sumX = new double[f];
    double[] sumY = new double[h];
    double[] xy = new double[f * h];
    double yy = 0;
    for (int i = 0; i < p.n(); i++) {
      for (int a = 0; a < f; a++) {
        sumX[a] += p.x[i][a];
        for (int b = 0; b < f; b++) {
          gram[a * f + b] += p.x[i][a] * p.x[i][b];
        }
        for (int c = 0; c < h; c++) {
          xy[a * h + c] += p.x[i][a] * p.y[i][c];
        }
      }
      for (int c = 0; c < h; c++) {
        sumY[c] += p.y[i][c];
        yy += p.y[i][c] * p.y[i][c];
      }
    }
    assertClose("X'X", gram, s.gram(), Tolerances.F64);
    assertClose("sum x", sumX, s.sumX(), Tolerances.F64);
    assertClose("sum y", sumY, s.sumY(), Tolerances.F64);
    assertClose("X'Y", xy, s.crossXY(), Tolerances.F64);
    assertClose("sum y^2", yy, s.sumYY(), Tolerances.F64);
  }

  @Test
  void anyMixOfAddAddBlockAndMergeGivesTheSameSolutionAsOneAccumulation() {
    SplittableRandom rnd = new SplittableRandom(302);
    int f = 6;
    int h = 4;
    int pad = 3;
    Problem p = problem(rnd, 300, f, h, 1.0);
    double[] xFlat = p.xFlat(pad);
    double[] yFlat = p.yFlat(pad);
    RidgeStats whole = statsOf(p);
    double[] lambdas = {0, 1e-4, 0.1};
    double[][] expected = new double[lambdas.length][];
    for (int q = 0; q < lambdas.length; q++) {
      expected[q] = packed(whole.solve(lambdas[q]));
    }
    for (int trial = 0; trial < 25; trial++) {
      int[] cuts = TestData.randomCuts(rnd, p.n(), 8);
      List<RidgeStats> parts = new ArrayList<>();
      for (int piece = 0; piece + 1 < cuts.length; piece++) {
        RidgeStats s = new RidgeStats(f, h);
        int at = cuts[piece];
        while (at < cuts[piece + 1]) {
          if (rnd.nextBoolean()) {
            s.add(xFlat, pad + at * f, yFlat, pad + at * h);
            at++;
          } else {
            int rows = rnd.nextInt(cuts[piece + 1] - at + 1); // 0 rows included
            s.addBlock(xFlat, pad + at * f, yFlat, pad + at * h, rows);
            at += rows;
          }
        }
        assertEquals(cuts[piece + 1] - cuts[piece], s.count());
        parts.add(s);
      }
      parts.add(new RidgeStats(f, h)); // an empty partition merges as nothing
      while (parts.size() > 1) {
        RidgeStats a = parts.remove(rnd.nextInt(parts.size()));
        RidgeStats b = parts.remove(rnd.nextInt(parts.size()));
        assertTrue(a.merge(b) == a, "merge returns this");
        parts.add(a);
      }
      RidgeStats merged = parts.get(0);
      assertEquals(p.n(), merged.count());
      assertClose("X'X, trial " + trial, whole.gram(), merged.gram(), Tolerances.F64);
      for (int q = 0; q < lambdas.length; q++) {
        assertClose("solution at lambda " + lambdas[q] + ", trial " + trial, expected[q],
            packed(merged.solve(lambdas[q])), REGROUPED);
      }
    }
  }

  @Test
  void serializationFoldsInThePendingBlock() throws IOException, ClassNotFoundException {
    SplittableRandom rnd = new SplittableRandom(303);
    Problem p = problem(rnd, 90, 4, 2, 1.0);
    RidgeStats s = new RidgeStats(4, 2);
    for (int i = 0; i < 70; i++) { // one full block plus 6 pending
      s.add(p.x[i], 0, p.y[i], 0);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    RidgeStats copy;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      copy = (RidgeStats) in.readObject();
    }
    assertNotSame(s, copy);
    assertEquals(70, copy.count());
    for (int i = 70; i < 90; i++) { // and it still accepts samples
      s.add(p.x[i], 0, p.y[i], 0);
      copy.add(p.x[i], 0, p.y[i], 0);
    }
    assertArrayEquals(packed(s.solve(1e-3)), packed(copy.solve(1e-3)));
    assertClose("after a round trip", ridgeReference(p.x, p.y, 1e-3), packed(copy.solve(1e-3)), SOLVE);
  }

  // ---- the solution -----------------------------------------------------------------------

  @Test
  void solveIsStandardizedRidgeWithAnUnpenalizedIntercept() {
    SplittableRandom rnd = new SplittableRandom(304);
    int[][] shapes = {{1, 1}, {3, 1}, {5, 4}, {9, 2}};
    for (int[] shape : shapes) {
      int f = shape[0];
      int h = shape[1];
      for (int n : new int[] {f + 3, 40, 200}) {
        Problem p = problem(rnd, n, f, h, 1.0);
        RidgeStats s = statsOf(p);
        for (double lambda : new double[] {0, 1e-6, 1e-3, 0.1, 1, 10}) {
          RidgeSolution sol = s.solve(lambda);
          assertEquals(f, sol.features());
          assertEquals(h, sol.outputs());
          assertEquals(lambda, sol.lambdaRel());
          assertClose("F=" + f + " H=" + h + " n=" + n + " lambda=" + lambda, ridgeReference(p.x, p.y, lambda),
              packed(sol), SOLVE);
        }
      }
    }
  }

  @Test
  void thePenaltyIsOnStandardizedFeaturesSoRescalingAFeatureRescalesOnlyItsWeight() {
    SplittableRandom rnd = new SplittableRandom(305);
    int f = 4;
    int h = 2;
    Problem p = problem(rnd, 60, f, h, 2.0);
    double factor = 1e3;
    double[][] scaled = new double[p.n()][];
    for (int i = 0; i < p.n(); i++) {
      scaled[i] = p.x[i].clone();
      scaled[i][1] *= factor;
    }
    RidgeSolution base = statsOf(p).solve(0.5);
    RidgeSolution rescaled = statsOf(new Problem(scaled, p.y)).solve(0.5);
    double[] expected = base.beta();
    for (int c = 0; c < h; c++) {
      expected[1 * h + c] /= factor;
    }
    assertClose("beta", expected, rescaled.beta(), SOLVE);
    assertClose("intercept", base.intercept(), rescaled.intercept(), SOLVE);
  }

  @Test
  void constantFeaturesGetWeightZeroAndAnInterceptOnlyModelFitsTheMean() {
    SplittableRandom rnd = new SplittableRandom(306);
    Problem p = problem(rnd, 50, 4, 3, 1.0);
    for (int i = 0; i < p.n(); i++) {
      p.x[i][2] = 3.7;
    }
    RidgeStats s = statsOf(p);
    for (double lambda : new double[] {0, 0.01}) {
      RidgeSolution sol = s.solve(lambda);
      double[] beta = sol.beta();
      for (int c = 0; c < 3; c++) {
        assertEquals(0.0, beta[2 * 3 + c], "weight of the constant feature");
      }
      assertClose("with a constant feature, lambda " + lambda, ridgeReference(p.x, p.y, lambda), packed(sol),
          SOLVE);
    }

    double[][] none = new double[p.n()][0];
    RidgeStats intercept = new RidgeStats(0, 3);
    for (int i = 0; i < p.n(); i++) {
      intercept.add(none[i], 0, p.y[i], 0);
    }
    RidgeSolution mean = intercept.solve(1.0);
    assertEquals(0, mean.beta().length);
    assertClose("intercept-only model", ridgeReference(none, p.y, 1.0), mean.intercept(), Tolerances.F64);
  }

  @Test
  void inTheZeroPenaltyLimitAnExactLinearMapIsRecovered() {
    SplittableRandom rnd = new SplittableRandom(307);
    int f = 5;
    int h = 3;
    int n = 80;
    double[][] b = new double[f][];
    double[] flatB = new double[f * h];
    for (int j = 0; j < f; j++) {
      b[j] = TestData.gaussian(rnd, h, 1.0);
      System.arraycopy(b[j], 0, flatB, j * h, h);
    }
    double[] intercept = TestData.gaussian(rnd, h, 2.0);
    double[][] x = new double[n][];
    double[][] y = new double[n][h];
    for (int i = 0; i < n; i++) {
      x[i] = TestData.gaussian(rnd, f, 1.0);
      for (int c = 0; c < h; c++) {
        double s = intercept[c];
        for (int j = 0; j < f; j++) {
          s += x[i][j] * b[j][c];
        }
        y[i][c] = s;
      }
    }
    RidgeStats s = statsOf(new Problem(x, y));
    for (double lambda : new double[] {0, 1e-12, 1e-9}) {
      RidgeSolution sol = s.solve(lambda);
      assertClose("B at lambda " + lambda, flatB, sol.beta(), RECOVERED);
      assertClose("b at lambda " + lambda, intercept, sol.intercept(), RECOVERED);
      assertClose("training SSE at lambda " + lambda, 0.0, s.sse(sol), sseTolerance(y));
    }
  }

  // ---- held-out error and the penalty choice ----------------------------------------------

  @Test
  void sseAndMseEqualTheSquaredErrorOfExplicitPredictions() {
    SplittableRandom rnd = new SplittableRandom(308);
    for (int[] shape : new int[][] {{0, 2}, {1, 1}, {6, 3}}) {
      int f = shape[0];
      int h = shape[1];
      Problem validation = f == 0 ? new Problem(new double[70][0], problem(rnd, 70, 1, h, 1.0).y)
          : problem(rnd, 70, f, h, 1.0);
      RidgeStats v = new RidgeStats(f, h);
      for (int i = 0; i < validation.n(); i++) {
        v.add(validation.x[i], 0, validation.y[i], 0);
      }
      List<RidgeSolution> weights = new ArrayList<>();
      weights.add(RidgeSolution.of(f, h, TestData.gaussian(rnd, f * h, 0.3), TestData.gaussian(rnd, h, 1.0), 0));
      weights.add(RidgeSolution.of(f, h, new double[f * h], new double[h], 0));
      if (f > 0) {
        Problem train = problem(rnd, 40, f, h, 1.0);
        weights.add(statsOf(train).solve(0.01));
      }
      for (RidgeSolution w : weights) {
        double expected = sseReference(validation.x, validation.y, w.beta(), w.intercept());
        Tolerance tol = sseTolerance(validation.y);
        assertClose("sse F=" + f + " H=" + h, expected, v.sse(w), tol);
        double perValue = (double) validation.n() * h;
        assertClose("mse F=" + f + " H=" + h, expected / perValue, v.mse(w),
            new Tolerance(tol.abs / perValue, tol.rel));
      }
      assertFailsNaming("weights", () -> v.sse(RidgeSolution.of(f + 1, h, new double[(f + 1) * h],
          new double[h], 0)));
      assertFailsNaming("weights", () -> v.sse(null));
    }
    assertFailsNaming("statistics", () -> new RidgeStats(2, 1).mse(RidgeSolution.of(2, 1, new double[2],
        new double[1], 0)));
  }

  @Test
  void selectPicksThePenaltyWithTheSmallestValidationMse() {
    SplittableRandom rnd = new SplittableRandom(309);
    double[] grid = RidgeStats.DEFAULT_LAMBDAS;
    int picked = 0;
    for (int trial = 0; trial < 6; trial++) {
      int f = 8;
      int h = 2;
      // Few noisy training samples so that some shrinkage helps; validation from the same model.
      Problem all = problem(rnd, 30 + 200, f, h, 3.0 + trial);
      double[][] trainX = java.util.Arrays.copyOfRange(all.x, 0, 30);
      double[][] trainY = java.util.Arrays.copyOfRange(all.y, 0, 30);
      double[][] validX = java.util.Arrays.copyOfRange(all.x, 30, 230);
      double[][] validY = java.util.Arrays.copyOfRange(all.y, 30, 230);
      RidgeStats train = statsOf(new Problem(trainX, trainY));
      RidgeStats valid = statsOf(new Problem(validX, validY));

      double[] expectedMse = new double[grid.length];
      int best = 0;
      for (int k = 0; k < grid.length; k++) {
        double[] ref = ridgeReference(trainX, trainY, grid[k]);
        double[] beta = java.util.Arrays.copyOfRange(ref, 0, f * h);
        double[] b = java.util.Arrays.copyOfRange(ref, f * h, f * h + h);
        expectedMse[k] = sseReference(validX, validY, beta, b) / (validX.length * (double) h);
        if (expectedMse[k] < expectedMse[best]) {
          best = k;
        }
      }
      RidgeStats.Selection sel = RidgeStats.select(train, valid, grid);
      assertClose("validation MSE per lambda, trial " + trial, expectedMse, sel.validationMse(), SOLVE);
      assertArrayEquals(grid, sel.lambdaRels());
      // The reference minimum must be clear of rounding for the choice to be well defined.
      for (int k = 0; k < grid.length; k++) {
        assertTrue(k == best || expectedMse[k] > expectedMse[best] * (1 + 1e-8), "near-tie in trial " + trial);
      }
      assertEquals(grid[best], sel.best().lambdaRel(), "trial " + trial);
      assertArrayEquals(packed(train.solve(grid[best])), packed(sel.best()));
      if (best > 0 && best < grid.length - 1) {
        picked++;
      }
    }
    assertTrue(picked > 0, "no trial had an interior optimum: the test would not tell the grid apart");
  }

  @Test
  void nestedSelectionKeepsTheFeatureSetThatValidatesBestWithZeroWeightsBeyondIt() {
    SplittableRandom rnd = new SplittableRandom(4411);
    double[] grid = RidgeStats.DEFAULT_LAMBDAS;
    int k = 3;
    int f = 14;
    int h = 2;
    int nestedWon = 0;
    int fullWon = 0;
    for (int trial = 0; trial < 8; trial++) {
      // Y depends on the first k features; the other f - k are signal in odd trials, noise in even
      // ones, with few training samples: either feature set can win.
      Problem base = problem(rnd, 25 + 300, f, h, 0.5);
      double[][] x = base.x;
      double[][] y = new double[x.length][h];
      for (int i = 0; i < x.length; i++) {
        for (int c = 0; c < h; c++) {
          double v = 0.3 * TestData.gaussian(rnd);
          for (int j = 0; j < (trial % 2 == 0 ? k : f); j++) {
            v += x[i][j] * (1 + j + c);
          }
          y[i][c] = v;
        }
      }
      RidgeStats train = statsOf(new Problem(java.util.Arrays.copyOfRange(x, 0, 25),
          java.util.Arrays.copyOfRange(y, 0, 25)));
      RidgeStats valid = statsOf(new Problem(java.util.Arrays.copyOfRange(x, 25, x.length),
          java.util.Arrays.copyOfRange(y, 25, y.length)));

      // The nested statistics equal the first k columns accumulated on their own.
      RidgeStats trainK = new RidgeStats(k, h);
      RidgeStats validK = new RidgeStats(k, h);
      for (int i = 0; i < x.length; i++) {
        (i < 25 ? trainK : validK).add(java.util.Arrays.copyOf(x[i], k), 0, y[i], 0);
      }
      RidgeStats.Selection full = RidgeStats.select(train, valid, grid);
      RidgeStats.Selection nested = RidgeStats.select(trainK, validK, grid);
      assertClose("prefix statistics, trial " + trial, nested.validationMse(),
          RidgeStats.select(train.prefix(k), valid.prefix(k), grid).validationMse(), REGROUPED);

      RidgeStats.Selection both = RidgeStats.select(train, valid, grid, k);
      double bestFull = java.util.Arrays.stream(full.validationMse()).min().getAsDouble();
      double bestNested = java.util.Arrays.stream(nested.validationMse()).min().getAsDouble();
      assertEquals(f, both.best().features(), "the winner applies to all F features");
      double[] beta = both.best().beta();
      if (bestNested < bestFull) {
        nestedWon++;
        assertEquals(k, both.features());
        double[] nestedBeta = nested.best().beta();
        for (int i = 0; i < f * h; i++) {
          assertEquals(i < k * h ? nestedBeta[i] : 0.0, beta[i], 1e-12 * (1 + Math.abs(beta[i])), "beta[" + i + "]");
        }
        assertArrayEquals(nested.best().intercept(), both.best().intercept(), 1e-12);
        // Its validation MSE over the full statistics is the nested one.
        assertClose("padded validation MSE", bestNested, valid.mse(both.best()), SOLVE);
      } else {
        fullWon++;
        assertEquals(f, both.features());
        assertArrayEquals(packed(full.best()), packed(both.best()));
      }
    }
    assertTrue(nestedWon > 0 && fullWon > 0, "both outcomes occur: " + nestedWon + " nested, " + fullWon + " full");
    assertFailsNaming("prefixes", () -> RidgeStats.select(new RidgeStats(2, 1), new RidgeStats(2, 1), grid, 2));
  }

  @Test
  void selectBreaksTiesTowardTheLaterLargerPenalty() {
    SplittableRandom rnd = new SplittableRandom(310);
    // No features: every penalty gives the same intercept-only model, so every MSE ties exactly.
    RidgeStats train = new RidgeStats(0, 2);
    RidgeStats valid = new RidgeStats(0, 2);
    for (int i = 0; i < 20; i++) {
      train.add(new double[0], 0, TestData.gaussian(rnd, 2, 1.0), 0);
      valid.add(new double[0], 0, TestData.gaussian(rnd, 2, 1.0), 0);
    }
    double[] grid = {1e-3, 0.1, 10};
    RidgeStats.Selection sel = RidgeStats.select(train, valid, grid);
    assertEquals(sel.validationMse()[0], sel.validationMse()[2]);
    assertEquals(10.0, sel.best().lambdaRel());
  }

  // ---- arguments --------------------------------------------------------------------------

  @Test
  void badArgumentsAndSingularSystemsFailNamingTheCulprit() {
    assertFailsNaming("features (F)", () -> new RidgeStats(-1, 2));
    assertFailsNaming("outputs (H)", () -> new RidgeStats(2, 0));
    assertFailsNaming("statistics", () -> new RidgeStats(2, 1).solve(1.0));
    RidgeStats s = statsOf(problem(new SplittableRandom(311), 20, 3, 2, 1.0));
    for (double bad : new double[] {-1e-9, Double.NaN, Double.POSITIVE_INFINITY}) {
      assertFailsNaming("lambdaRel", () -> s.solve(bad));
      assertFailsNaming("lambdaRel", () -> RidgeStats.select(s, s, new double[] {1, bad}));
    }
    assertFailsNaming("other", () -> s.merge(new RidgeStats(3, 1)));
    assertFailsNaming("other", () -> s.merge(null));
    assertFailsNaming("validation", () -> RidgeStats.select(s, new RidgeStats(2, 2), new double[] {1}));
    assertFailsNaming("lambdaRels", () -> RidgeStats.select(s, s, new double[0]));
    assertFailsNaming("rows", () -> s.addBlock(new double[3], 0, new double[2], 0, -1));
    assertFailsNaming("x", () -> s.addBlock(new double[5], 0, new double[4], 0, 2));
    assertFailsNaming("y", () -> s.addBlock(new double[6], 0, new double[3], 0, 2));

    // OLS on exactly collinear features fails naming the matrix. x = (0, 0), (2, 4) standardize to
    // a correlation matrix of 2s whose second Cholesky pivot is 2 − (2·fl(1/√2))² = +4.4e-16: a
    // plain d > 0 test accepts it and returns one of the infinitely many least-squares solutions,
    // picked by rounding noise.
    RidgeStats collinear = new RidgeStats(2, 1);
    collinear.add(new double[] {0, 0}, 0, new double[] {1}, 0);
    collinear.add(new double[] {2, 4}, 0, new double[] {3}, 0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> collinear.solve(0));
    assertTrue(e.getMessage().startsWith("standardized X'X + lambda*n*I:"), e.getMessage());
    // A duplicated feature, in any position.
    SplittableRandom rnd = new SplittableRandom(313);
    for (int trial = 0; trial < 20; trial++) {
      Problem p = problem(rnd, 30, 5, 2, 1.0);
      int from = rnd.nextInt(5);
      int to = (from + 1 + rnd.nextInt(4)) % 5;
      for (double[] row : p.x) {
        row[to] = row[from];
      }
      RidgeStats dup = statsOf(p);
      e = assertThrows(IllegalArgumentException.class, () -> dup.solve(0), "duplicate, trial " + trial);
      assertTrue(e.getMessage().startsWith("standardized X'X + lambda*n*I:"), e.getMessage());
      assertClose("duplicate feature with a penalty", ridgeReference(p.x, p.y, 1e-3), packed(dup.solve(1e-3)),
          SOLVE);
    }
    // Fewer samples than features: a positive penalty makes it solvable.
    Problem wide = problem(new SplittableRandom(312), 3, 5, 1, 1.0);
    assertClose("underdetermined ridge", ridgeReference(wide.x, wide.y, 0.1), packed(statsOf(wide).solve(0.1)),
        SOLVE);
  }
}
