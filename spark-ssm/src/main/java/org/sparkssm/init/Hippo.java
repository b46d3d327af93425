package org.sparkssm.init;

import org.sparkssm.Checks;

/**
 * HiPPO transition matrices (Gu et al., "HiPPO: Recurrent Memory with Optimal Polynomial
 * Projections", NeurIPS 2020): continuous systems {@code c' = A c + B u} whose state c(t) holds the
 * coefficients of the projection of the input history onto an orthogonal basis. Discretize them
 * with {@link org.sparkssm.discretize.Discretize#dense}.
 */
public final class Hippo {
  private Hippo() {}

  /**
   * HiPPO-LegT in the LMU/FiLM form (Voelker et al. 2019; Zhou et al. 2022), window θ = 1:
   * {@code A_ij = (2i+1) · (-1 if i < j, else (-1)^(i-j+1))}, {@code B_i = (2i+1)(-1)^i}.
   *
   * <p>The state reconstructs the last unit window: {@code u(t - s) ≈ Σ_n c_n(t) P_n(2s - 1)} for
   * the lag {@code s ∈ [0, 1]}, P_n the Legendre polynomials, i.e. the shifted Legendre
   * polynomials {@code P̃_n(s) = P_n(2s - 1)} of the LMU paper (newest input at {@code P_n(-1)};
   * equivalently {@code Σ_n (-1)^n c_n P_n(1 - 2s)}). This convention was verified numerically
   * (HippoTest). For a window of length θ divide A and B by θ. The reconstruction is exact for a
   * polynomial window of degree {@code < N} once the
   * transient from the initial state has decayed.
   *
   * @param n the state size N, {@code >= 1}
   */
  public static ContinuousSystem legT(int n) {
    Checks.positive("n", n);
    double[] a = new double[n * n];
    double[] b = new double[n];
    for (int i = 0; i < n; i++) {
      double r = 2 * i + 1;
      for (int j = 0; j < n; j++) {
        double sign = i < j ? -1 : ((i - j + 1) % 2 == 0 ? 1 : -1);
        a[i * n + j] = r * sign;
      }
      b[i] = i % 2 == 0 ? r : -r;
    }
    return new ContinuousSystem(n, a, b);
  }

  /**
   * HiPPO-LegS (scaled Legendre, the S4 matrix) in its time-invariant form:
   * {@code A_nk = -sqrt(2n+1) sqrt(2k+1)} for {@code n > k}, {@code -(n+1)} for {@code n = k}, 0 for {@code n < k};
   * {@code B_n = sqrt(2n+1)}. A is lower triangular with eigenvalues -1, ..., -N.
   *
   * @param n the state size N, {@code >= 1}
   */
  public static ContinuousSystem legS(int n) {
    Checks.positive("n", n);
    double[] a = new double[n * n];
    double[] b = new double[n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < i; k++) {
        a[i * n + k] = -Math.sqrt(2 * i + 1) * Math.sqrt(2 * k + 1);
      }
      a[i * n + i] = -(i + 1);
      b[i] = Math.sqrt(2 * i + 1);
    }
    return new ContinuousSystem(n, a, b);
  }

  /**
   * HiPPO-FouT (translated Fourier, uniform measure on the window [t-1, t]), as defined by
   * {@code transition('fourier', N)} in state-spaces/s4 {@code src/models/hippo/hippo.py}
   * (Gu et al., "How to Train Your HiPPO", 2022). States come in pairs k = 0 .. N/2-1: index 2k is
   * the cosine and 2k+1 the sine of frequency k. With {@code p_0 = sqrt(2)}, {@code p_{2k} = 2}
   * (k >= 1) and {@code p_{2k+1} = 0}:
   * <pre>
   *   A = J - p pᵀ,  J_{2k, 2k+1} = -2πk,  J_{2k+1, 2k} = 2πk  (0 elsewhere; J skew-symmetric),
   *   B = sqrt(2) p,  i.e. B_0 = 2, B_{2k} = 2 sqrt(2), B_{2k+1} = 0.
   * </pre>
   * The rank-one term {@code -p pᵀ = -B Bᵀ / 2} is the correction for the input leaving the window
   * at its far end. State 1 (the sine of frequency 0) is identically zero: kept so indices follow
   * the reference.
   *
   * @param n the state size N, even and {@code >= 2}
   */
  public static ContinuousSystem fouT(int n) {
    Checks.positive("n", n);
    if (n % 2 != 0) {
      Checks.fail("n: expected an even state size (cosine/sine pairs), got %d", n);
    }
    double[] p = new double[n];
    for (int k = 0; k < n / 2; k++) {
      p[2 * k] = k == 0 ? Math.sqrt(2) : 2;
    }
    double[] a = new double[n * n];
    double[] b = new double[n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        a[i * n + j] = -p[i] * p[j];
      }
      b[i] = Math.sqrt(2) * p[i];
    }
    for (int k = 1; k < n / 2; k++) {
      a[(2 * k) * n + 2 * k + 1] += -2 * Math.PI * k;
      a[(2 * k + 1) * n + 2 * k] += 2 * Math.PI * k;
    }
    return new ContinuousSystem(n, a, b);
  }
}
