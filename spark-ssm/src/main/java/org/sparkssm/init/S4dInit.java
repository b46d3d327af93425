package org.sparkssm.init;

import org.sparkssm.Checks;
import org.sparkssm.linalg.SymmetricEigen;

/**
 * S4D initializations of a complex diagonal A (Gu, Gupta, Goel, Ré, "On the Parameterization and
 * Initialization of Diagonal State Space Models", NeurIPS 2022). N is the real state size of the
 * S4 model it stands for; conjugate pairs are folded, so each returns N/2 complex modes
 * (N even) with {@code Im a_j >= 0}, in ascending order of {@code Im a_j}.
 */
public final class S4dInit {
  private S4dInit() {}

  /**
   * S4D-Lin: {@code a_j = -1/2 + iπj}, {@code b_j = 1}, j = 0 .. N/2-1.
   *
   * @param n the real state size N, even and {@code >= 2}
   */
  public static DiagonalSystem lin(int n) {
    int m = modes(n);
    double[] aRe = new double[m];
    double[] aIm = new double[m];
    double[] bRe = new double[m];
    for (int j = 0; j < m; j++) {
      aRe[j] = -0.5;
      aIm[j] = Math.PI * j;
      bRe[j] = 1;
    }
    return new DiagonalSystem(aRe, aIm, bRe, new double[m], null, null);
  }

  /**
   * S4D-Inv: {@code a_j = -1/2 + i (N/π)(N/(2j+1) - 1)}, {@code b_j = 1}, j = 0 .. N/2-1. The
   * imaginary parts decrease with j; they are returned as the formula orders them (j ascending).
   *
   * @param n the real state size N, even and {@code >= 2}
   */
  public static DiagonalSystem inv(int n) {
    int m = modes(n);
    double[] aRe = new double[m];
    double[] aIm = new double[m];
    double[] bRe = new double[m];
    for (int j = 0; j < m; j++) {
      aRe[j] = -0.5;
      aIm[j] = n / Math.PI * ((double) n / (2 * j + 1) - 1);
      bRe[j] = 1;
    }
    return new DiagonalSystem(aRe, aIm, bRe, new double[m], null, null);
  }

  /**
   * S4D-LegS: the diagonalized normal part of HiPPO-LegS. With {@code P_n = sqrt(n + 1/2)},
   * {@code S = A_LegS + P Pᵀ = -I/2 + K}, K real skew-symmetric; S is normal, so
   * {@code S = W Λ W^H} with W unitary. This returns the N/2 eigenvalues with {@code Im λ > 0}
   * (the others are their conjugates), their unit eigenvectors V (N×N/2) and
   * {@code b̃ = V^H B_LegS}, so that for real B and C the dense system
   * {@code (S, B, C)} equals the diagonal one {@code (Λ, b̃, C V)} with output {@code 2 Re(·)}.
   *
   * <p>Method: iK is Hermitian; a Hermitian {@code H = X + iY} has the same eigenvalues, each
   * twice, as the real symmetric {@code [[X, -Y], [Y, X]]}, an eigenvector {@code (x, y)} of which
   * gives {@code v = x + iy} with {@code H v = μ v}. For {@code H = iK} (X = 0, Y = K) that is
   * {@code [[0, -K], [K, 0]]}, solved by {@link SymmetricEigen} (Jacobi); then
   * {@code S v = (-1/2 - iμ) v}, and the modes kept are those with {@code μ < 0}, one vector per doubled
   * eigenvalue. The real parts are -1/2 exactly, as the identity {@code S + Sᵀ = -I} requires.
   *
   * @param n the real state size N, even and {@code >= 2}
   */
  public static DiagonalSystem legS(int n) {
    int m = modes(n);
    ContinuousSystem legs = Hippo.legS(n);
    double[] a = legs.A();
    double[] b = legs.B();
    double[] s = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        s[i * n + j] = a[i * n + j] + Math.sqrt(i + 0.5) * Math.sqrt(j + 0.5);
      }
    }
    // K = (S - Sᵀ)/2 is the exact skew part; the symmetric part is -I/2 up to rounding.
    int w = 2 * n;
    double[] emb = new double[w * w];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double k = 0.5 * (s[i * n + j] - s[j * n + i]);
        emb[i * w + n + j] = -k;
        emb[(n + i) * w + j] = k;
      }
    }
    SymmetricEigen eig = SymmetricEigen.of(emb, w);
    double[] mu = eig.values();
    double[] vec = eig.vectors();
    double[] aRe = new double[m];
    double[] aIm = new double[m];
    double[] bRe = new double[m];
    double[] bIm = new double[m];
    double[] vRe = new double[n * m];
    double[] vIm = new double[n * m];
    for (int j = 0; j < m; j++) {
      // Ascending μ: μ_0 = μ_1 < μ_2 = μ_3 < ... < 0 for the first N values. Mode j (ascending
      // Im λ = -μ) takes the first vector of the pair ending at N-1-2j.
      int col = n - 2 - 2 * j;
      aRe[j] = -0.5;
      aIm[j] = -0.5 * (mu[col] + mu[col + 1]);
      double br = 0;
      double bi = 0;
      for (int i = 0; i < n; i++) {
        double x = vec[i * w + col];
        double y = vec[(n + i) * w + col];
        vRe[i * m + j] = x;
        vIm[i * m + j] = y;
        // b̃_j = Σ_i conj(v_ij) B_i.
        br += x * b[i];
        bi -= y * b[i];
      }
      bRe[j] = br;
      bIm[j] = bi;
    }
    return new DiagonalSystem(aRe, aIm, bRe, bIm, vRe, vIm);
  }

  private static int modes(int n) {
    Checks.positive("n", n);
    if (n % 2 != 0) {
      Checks.fail("n: expected an even state size (N/2 conjugate pairs), got %d", n);
    }
    return n / 2;
  }
}
