package org.sparkssm.init;

/**
 * An immutable continuous-time complex diagonal system {@code x_j' = a_j x_j + b_j u} with M modes
 * (S4D: M = N/2, one mode per conjugate pair; the real output is {@code y = 2 Re Σ_j c_j x_j}).
 * Complex values are split into re/im arrays of length M. Accessors return copies.
 */
public final class DiagonalSystem {
  private final double[] aRe;
  private final double[] aIm;
  private final double[] bRe;
  private final double[] bIm;
  private final double[] vRe;
  private final double[] vIm;

  DiagonalSystem(double[] aRe, double[] aIm, double[] bRe, double[] bIm, double[] vRe, double[] vIm) {
    this.aRe = aRe;
    this.aIm = aIm;
    this.bRe = bRe;
    this.bIm = bIm;
    this.vRe = vRe;
    this.vIm = vIm;
  }

  /** The number of complex modes M. */
  public int modes() {
    return aRe.length;
  }

  /** Re a_j, length M. */
  public double[] aRe() {
    return aRe.clone();
  }

  /** Im a_j, length M. */
  public double[] aIm() {
    return aIm.clone();
  }

  /** Re b_j, length M. */
  public double[] bRe() {
    return bRe.clone();
  }

  /** Im b_j, length M. */
  public double[] bIm() {
    return bIm.clone();
  }

  /** Whether the system came from diagonalizing a dense matrix and carries its eigenvectors. */
  public boolean hasEigenvectors() {
    return vRe != null;
  }

  /**
   * Real parts of the eigenvectors V of the dense matrix this system diagonalizes (N×M row-major,
   * column j = unit eigenvector of a_j, {@code V[i * M + j]}); null when {@link #hasEigenvectors()}
   * is false. Maps the diagonal state back: dense state {@code x = 2 Re(V x̃)}, dense output matrix
   * C becomes {@code C̃ = C V}.
   */
  public double[] vRe() {
    return vRe == null ? null : vRe.clone();
  }

  /** Imaginary parts of V, layout as {@link #vRe()}; null when there are no eigenvectors. */
  public double[] vIm() {
    return vIm == null ? null : vIm.clone();
  }
}
