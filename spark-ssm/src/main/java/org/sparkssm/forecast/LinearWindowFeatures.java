package org.sparkssm.forecast;

import org.sparkssm.Checks;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.init.ContinuousSystem;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.Hippo;
import org.sparkssm.init.S4dInit;
import org.sparkssm.scan.VectorSupport;

/**
 * Features that are a fixed linear map of the level-subtracted window: the first {@code R}
 * coordinates are raw values {@code w_k - level}, the remaining {@code F - R} are rows of a
 * precomputed matrix M (F-R × L) applied to it.
 *
 * <p>Why a matrix: the state of any LTI (or time-varying but input-independent) SSM scanned over
 * the window from the zero state is linear in the window, {@code h_L = Σ_k Φ(L, k) B̄_k u_k}, so
 * the scan collapses to one matrix-vector product with {@code M[:, k] = Φ(L, k) B̄_k}, computed
 * once at construction. That costs (F-R)·L multiply-adds per window, no per-step state and no
 * allocation. Level subtraction is applied after the product, using the precomputed row sums
 * {@code M 1}: {@code M (w - level 1) = M w - level (M 1)}.
 *
 * <p>State normalization: the features are not standardized here; {@link RidgeStats#solve}
 * penalizes every coordinate relative to its training standard deviation, which is ridge on
 * z-scored features, so LegT, LegS, S4D and raw coordinates share one penalty. Where an analytic
 * scale is natural it is applied too (LegT coefficients are put on the orthonormal Legendre
 * basis), so the features also have the window's scale for nonlinear use
 * ({@link RandomFeatures}).
 */
public final class LinearWindowFeatures implements WindowFeatures {
  private static final long serialVersionUID = 1L;

  private final String name;
  private final int lookback;
  private final boolean subtractLevel;
  private final int raw;
  private final int mapRows;
  private final double[] map; // (mapRows, L) row-major
  private final double[] rowSums; // M 1

  private LinearWindowFeatures(String name, int lookback, boolean subtractLevel, int raw, int mapRows,
      double[] map) {
    this.name = name;
    this.lookback = lookback;
    this.subtractLevel = subtractLevel;
    this.raw = raw;
    this.mapRows = mapRows;
    this.map = map;
    this.rowSums = new double[mapRows];
    for (int r = 0; r < mapRows; r++) {
      double s = 0;
      for (int k = 0; k < lookback; k++) {
        s += map[r * lookback + k];
      }
      rowSums[r] = s;
    }
  }

  /**
   * A general linear featurization (for callers with their own memory, and for tests).
   *
   * @param name the name reported by {@link #name()}
   * @param lookback L, {@code >= 1}
   * @param subtractLevel whether the level is the window's last value (else 0)
   * @param raw R, the number of leading raw coordinates, {@code 0 <= R <= L}
   * @param map M, (rows, L) row-major, finite; may have 0 rows
   */
  public static LinearWindowFeatures of(String name, int lookback, boolean subtractLevel, int raw, double[] map) {
    Checks.notNull("name", name);
    Checks.positive("lookback (L)", lookback);
    Checks.nonNegative("raw (R)", raw);
    if (raw > lookback) {
      Checks.fail("raw (R): expected at most L = %d raw coordinates, got %d", lookback, raw);
    }
    Checks.allFinite("map", Checks.notNull("map", map));
    if (map.length % lookback != 0) {
      Checks.fail("map: expected a multiple of L = %d entries (rows of M), got %d", lookback, map.length);
    }
    return new LinearWindowFeatures(name, lookback, subtractLevel, raw, map.length / lookback, map.clone());
  }

  /** The last-value forecast's featurization: no features, level = last value. */
  public static LinearWindowFeatures naive(int lookback) {
    Checks.positive("lookback (L)", lookback);
    return new LinearWindowFeatures("naive", lookback, true, 0, 0, new double[0]);
  }

  /** LTSF-Linear's Linear: the raw window, level 0. */
  public static LinearWindowFeatures linear(int lookback) {
    Checks.positive("lookback (L)", lookback);
    return new LinearWindowFeatures("linear", lookback, false, lookback, 0, new double[0]);
  }

  /**
   * LTSF-Linear's NLinear: the window minus its last value. The last coordinate would be
   * identically 0, so F = L - 1.
   */
  public static LinearWindowFeatures nlinear(int lookback) {
    Checks.positive("lookback (L)", lookback);
    return new LinearWindowFeatures("nlinear", lookback, true, lookback - 1, 0, new double[0]);
  }

  /**
   * FiLM's Legendre memory of the level-subtracted window: HiPPO-LegT ({@link Hippo#legT}, window
   * θ = 1) discretized by the bilinear rule at Δt = 1/L, so the L steps span exactly one window,
   * and scanned over the window from the zero state. Coefficient n is divided by √(2n+1), which
   * puts it on the orthonormal basis √(2n+1) P_n(2s-1) of [0, 1]: the features' squared norm is
   * then about the window's mean square (Parseval), whatever N.
   *
   * @param order N, {@code >= 1}
   */
  public static LinearWindowFeatures legt(int lookback, int order) {
    Checks.positive("lookback (L)", lookback);
    Checks.positive("order (N)", order);
    int n = order;
    ContinuousSystem sys = Hippo.legT(n);
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    Discretize.dense(Discretization.BILINEAR, 1.0 / lookback, sys.A(), n, sys.B(), 1, abar, bbar);
    double[] m = new double[n * lookback];
    double[] v = bbar.clone();
    double[] next = new double[n];
    // Column k is Ā^(L-1-k) B̄: walk from the newest input back to the oldest.
    for (int k = lookback - 1; k >= 0; k--) {
      for (int i = 0; i < n; i++) {
        m[i * lookback + k] = v[i] / Math.sqrt(2 * i + 1);
      }
      if (k > 0) {
        matVec(abar, v, next, n);
        System.arraycopy(next, 0, v, 0, n);
      }
    }
    return new LinearWindowFeatures("legt", lookback, true, 0, n, m);
  }

  /**
   * HiPPO-LegS memory of the level-subtracted window: the scaled Legendre measure weights the
   * whole window uniformly whatever its length (scale invariance), discretized as LegS itself is
   * (HiPPO's {@code HiPPOScale}): step k = 1 … L uses A/k, B/k by the bilinear rule,
   * {@code c_k = (I - A/2k)⁻¹(I + A/2k) c_{k-1} + (I - A/2k)⁻¹ (B/k) u_k}. The coefficients are
   * already on the orthonormal basis (B_n = √(2n+1)), so no rescaling.
   *
   * @param order N, {@code >= 1}
   */
  public static LinearWindowFeatures legs(int lookback, int order) {
    Checks.positive("lookback (L)", lookback);
    Checks.positive("order (N)", order);
    int n = order;
    ContinuousSystem sys = Hippo.legS(n);
    double[] a = sys.A();
    double[] b = sys.B();
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    double[] m = new double[n * lookback];
    // P = Ā_L Ā_{L-1} … Ā_{k+1}; column k-1 of M is P B̄_k.
    double[] p = new double[n * n];
    for (int i = 0; i < n; i++) {
      p[i * n + i] = 1;
    }
    double[] col = new double[n];
    for (int k = lookback; k >= 1; k--) {
      Discretize.dense(Discretization.BILINEAR, 1.0 / k, a, n, b, 1, abar, bbar);
      matVec(p, bbar, col, n);
      for (int i = 0; i < n; i++) {
        m[i * lookback + k - 1] = col[i];
      }
      if (k > 1) {
        p = matMul(p, abar, n);
      }
    }
    return new LinearWindowFeatures("legs", lookback, true, 0, n, m);
  }

  /**
   * Banks of S4D-Lin channels ({@link S4dInit#lin}: {@code a_j = -1/2 + iπj}, b_j = 1) at several
   * time scales, each discretized by ZOH at its own Δt and scanned over the level-subtracted
   * window from zero. A bank at Δt remembers about 2/Δt steps and resolves frequencies up to
   * πjΔt per step, so log-spaced Δt cover both the last few steps and the whole window. Features
   * per bank: Re h_j for every mode and Im h_j for the modes j ≥ 1 (Im h_0 is identically 0,
   * a_0 being real): N - 1 real numbers, which is what a complex readout 2 Re(C h) can use. No
   * analytic scale: the state's size varies with Δt and the signal, and the ridge solver
   * standardizes every coordinate.
   *
   * @param order the S4D state size N (even, N/2 complex modes)
   * @param dts the Δt of each bank, each finite and {@code > 0}
   */
  public static LinearWindowFeatures s4d(int lookback, int order, double[] dts) {
    Checks.positive("lookback (L)", lookback);
    Checks.notNull("dts", dts);
    if (dts.length == 0) {
      Checks.fail("dts: expected at least one time scale, got none");
    }
    for (int s = 0; s < dts.length; s++) {
      if (!(dts[s] > 0) || !Double.isFinite(dts[s])) {
        Checks.fail("dts[%d]: expected a finite Δt > 0, got %s", s, dts[s]);
      }
    }
    if (order < 2 || order % 2 != 0) {
      Checks.fail("order (N): expected an even S4D state size >= 2 (N/2 complex modes), got %d", order);
    }
    DiagonalSystem sys = S4dInit.lin(order);
    int modes = sys.modes();
    int perBank = 2 * modes - 1;
    double[] m = new double[dts.length * perBank * lookback];
    double[] abarRe = new double[modes];
    double[] abarIm = new double[modes];
    double[] bbarRe = new double[modes];
    double[] bbarIm = new double[modes];
    for (int s = 0; s < dts.length; s++) {
      Discretize.diagonal(Discretization.ZOH, dts[s], sys.aRe(), sys.aIm(), sys.bRe(), sys.bIm(), abarRe, abarIm,
          bbarRe, bbarIm);
      int base = s * perBank;
      for (int j = 0; j < modes; j++) {
        // Column k is Ā^(L-1-k) B̄, walked from the newest input back.
        double vr = bbarRe[j];
        double vi = bbarIm[j];
        int reRow = base + j;
        int imRow = j == 0 ? -1 : base + modes + j - 1;
        for (int k = lookback - 1; k >= 0; k--) {
          m[reRow * lookback + k] = vr;
          if (imRow >= 0) {
            m[imRow * lookback + k] = vi;
          }
          double nr = abarRe[j] * vr - abarIm[j] * vi;
          vi = abarRe[j] * vi + abarIm[j] * vr;
          vr = nr;
        }
      }
    }
    return new LinearWindowFeatures("s4d", lookback, true, 0, dts.length * perBank, m);
  }

  /**
   * The features of all parts side by side, under a new name. The parts must share L and the
   * level convention, and at most one may have raw coordinates (they come first).
   */
  public static LinearWindowFeatures concat(String name, LinearWindowFeatures... parts) {
    Checks.notNull("name", name);
    Checks.notNull("parts", parts);
    if (parts.length == 0) {
      Checks.fail("parts: expected at least one featurization, got none");
    }
    LinearWindowFeatures first = parts[0];
    int raw = 0;
    int rows = 0;
    for (int p = 0; p < parts.length; p++) {
      LinearWindowFeatures f = Checks.notNull("parts[" + p + "]", parts[p]);
      if (f.lookback != first.lookback || f.subtractLevel != first.subtractLevel) {
        Checks.fail("parts[%d]: expected L = %d and level subtraction %s as parts[0], got L = %d, %s", p,
            first.lookback, first.subtractLevel, f.lookback, f.subtractLevel);
      }
      if (f.raw > 0 && raw > 0) {
        Checks.fail("parts[%d]: expected raw window coordinates in one part only, got a second", p);
      }
      raw = Math.max(raw, f.raw);
      rows += f.mapRows;
    }
    double[] map = new double[rows * first.lookback];
    int at = 0;
    for (LinearWindowFeatures f : parts) {
      System.arraycopy(f.map, 0, map, at, f.map.length);
      at += f.map.length;
    }
    return new LinearWindowFeatures(name, first.lookback, first.subtractLevel, raw, rows, map);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int rowsRead() {
    return lookback;
  }

  @Override
  public int featureCount() {
    return raw + mapRows;
  }

  /** R: the leading raw coordinates. */
  public int rawCount() {
    return raw;
  }

  /** M (F-R × L) row-major, a copy. */
  public double[] map() {
    return map.clone();
  }

  @Override
  public double level(double[] window, int off) {
    return subtractLevel ? window[off + lookback - 1] : 0;
  }

  @Override
  public void features(double[] window, int off, double[] out, int outOff) {
    assert off >= 0 && off + lookback <= window.length : "window range";
    assert outOff >= 0 && outOff + raw + mapRows <= out.length : "out range";
    final int len = lookback;
    double level = subtractLevel ? window[off + len - 1] : 0;
    for (int k = 0; k < raw; k++) {
      out[outOff + k] = window[off + k] - level;
    }
    if (VectorSupport.ENABLED) {
      FeatureMapVector.apply(map, mapRows, len, rowSums, window, off, level, out, outOff + raw);
    } else {
      applyScalar(map, mapRows, len, rowSums, window, off, level, out, outOff + raw);
    }
  }

  /** The scalar path of the map: {@code out[outOff + r] = (M w)[r] − level · (M 1)[r]} (see {@link FeatureMapVector}). */
  static void applyScalar(double[] map, int rows, int len, double[] rowSums, double[] w, int off, double level,
      double[] out, int outOff) {
    // Four partial sums: a single sum chains every add to the previous one (the JIT may not
    // reorder floating-point adds), four keep the FMA units busy.
    final int tail = len & ~3;
    for (int r = 0; r < rows; r++) {
      int row = r * len;
      double s0 = 0;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      for (int k = 0; k < tail; k += 4) {
        s0 += map[row + k] * w[off + k];
        s1 += map[row + k + 1] * w[off + k + 1];
        s2 += map[row + k + 2] * w[off + k + 2];
        s3 += map[row + k + 3] * w[off + k + 3];
      }
      for (int k = tail; k < len; k++) {
        s0 += map[row + k] * w[off + k];
      }
      out[outOff + r] = (s0 + s1) + (s2 + s3) - level * rowSums[r];
    }
  }

  private static void matVec(double[] a, double[] x, double[] y, int n) {
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += a[i * n + j] * x[j];
      }
      y[i] = s;
    }
  }

  private static double[] matMul(double[] a, double[] b, int n) {
    double[] c = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        double aik = a[i * n + k];
        for (int j = 0; j < n; j++) {
          c[i * n + j] += aik * b[k * n + j];
        }
      }
    }
    return c;
  }
}
