package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * A discretized S5 layer (Smith et al. 2023): a MIMO system with one diagonalized complex state
 * of P modes shared by all H input channels:
 * {@code h_t = Λ̄ ⊙ h_{t-1} + B̄ u_t}, {@code y_t = Re(C̃ h_t) + D ⊙ u_t}.
 *
 * <p>Shapes and layout: Λ̄ (P) complex; B̄ (P, H) complex, row-major {@code [p * H + j]}; C̃ (H, P)
 * complex, {@code [i * P + p]}; D (H) real, or null. The state {@code h} has 2P elements, real
 * parts first. Complex arrays come as {@code re}/{@code im} pairs. For conjugate-symmetric models
 * that keep one mode per pair, pass {@code 2 C̃}. Immutable.
 */
public final class S5Ssm implements ScanModel {
  private static final long serialVersionUID = 1L;

  final int features;
  final int modes;
  final double[] lambdaRe;
  final double[] lambdaIm;
  final double[] bRe;
  final double[] bIm;
  final double[] cRe;
  final double[] cIm;
  final double[] dSkip;
  private final long fingerprint;

  private S5Ssm(int features, int modes, double[] lambdaRe, double[] lambdaIm, double[] bRe, double[] bIm,
      double[] cRe, double[] cIm, double[] dSkip) {
    this.features = features;
    this.modes = modes;
    this.lambdaRe = lambdaRe;
    this.lambdaIm = lambdaIm;
    this.bRe = bRe;
    this.bIm = bIm;
    this.cRe = cRe;
    this.cIm = cIm;
    this.dSkip = dSkip;
    this.fingerprint = new Fingerprint().add("S5Ssm").add(features).add(modes).add(lambdaRe).add(lambdaIm).add(bRe)
        .add(bIm).add(cRe).add(cIm).add(dSkip).value();
  }

  /**
   * @param features H, input and output channels
   * @param modes P, complex state modes
   */
  public static S5Ssm of(int features, int modes, double[] lambdaBarRe, double[] lambdaBarIm, double[] bBarRe,
      double[] bBarIm, double[] cRe, double[] cIm, double[] dSkip) {
    Checks.positive("features (H)", features);
    Checks.positive("modes (P)", modes);
    String p = "P = " + modes;
    String ph = "P*H = " + modes + "*" + features;
    String hp = "H*P = " + features + "*" + modes;
    Checks.allFinite("LambdaBarRe", Checks.length("LambdaBarRe", lambdaBarRe, modes, p));
    Checks.allFinite("LambdaBarIm", Checks.length("LambdaBarIm", lambdaBarIm, modes, p));
    Checks.allFinite("BbarRe", Checks.length("BbarRe", bBarRe, modes * features, ph));
    Checks.allFinite("BbarIm", Checks.length("BbarIm", bBarIm, modes * features, ph));
    Checks.allFinite("CRe", Checks.length("CRe", cRe, features * modes, hp));
    Checks.allFinite("CIm", Checks.length("CIm", cIm, features * modes, hp));
    if (dSkip != null) {
      Checks.allFinite("Dskip", Checks.length("Dskip", dSkip, features, "H = " + features));
    }
    return new S5Ssm(features, modes, lambdaBarRe.clone(), lambdaBarIm.clone(), bBarRe.clone(), bBarIm.clone(),
        cRe.clone(), cIm.clone(), dSkip == null ? null : dSkip.clone());
  }

  /** H. */
  public int features() {
    return features;
  }

  /** P. */
  public int modes() {
    return modes;
  }

  /** Length of the state array: 2P. */
  @Override
  public int stateSize() {
    return 2 * modes;
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }

  /** Rejects a growing recurrence: every {@code |λ̄| <= 1}. */
  public S5Ssm requireStable() {
    Checks.allInUnitDisk("LambdaBar", lambdaRe, lambdaIm);
    return this;
  }

  /** H. */
  @Override
  public int inputs() {
    return features;
  }

  /** H. */
  @Override
  public int outputs() {
    return features;
  }

  /** {@link S5Scan#scan}. */
  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    S5Scan.scan(this, u, uOff, y, yOff, length, h);
  }

  /** {@code h ← Λ̄^steps ⊙ h} over the P complex modes. */
  @Override
  public void decay(double[] h, long steps) {
    Checks.length("h", h, stateSize(), "2P");
    double[] pow = new double[2];
    for (int p = 0; p < modes; p++) {
      DiagonalScan.powComplex(lambdaRe[p], lambdaIm[p], steps, pow);
      double re = h[p];
      double im = h[modes + p];
      h[p] = pow[0] * re - pow[1] * im;
      h[modes + p] = pow[0] * im + pow[1] * re;
    }
  }
}
