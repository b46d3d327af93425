package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * A discretized diagonal LTI system of D independent channels with N state components each (S4D,
 * LRU, diagonal HiPPO): {@code h_t[d,n] = Ā[d,n] h_{t-1}[d,n] + B̄[d,n] u_t[d]},
 * {@code y_t[d] = Re Σ_n C[d,n] h_t[d,n] + Dskip[d] u_t[d]}. Real or complex.
 *
 * <p>Layout: every per-state array is {@code [d * N + n]} (length D*N); complex parts come as
 * separate {@code re}/{@code im} arrays. The state {@code h} a kernel takes has
 * {@link #stateSize()} elements: D*N for a real system; 2*D*N for a complex one, real parts first
 * ({@code h[d*N+n]}) then imaginary parts ({@code h[D*N + d*N+n]}). For conjugate-pair models
 * (S4D keeps one mode of each pair and reads {@code 2 Re(C h)}), pass {@code 2C}.
 *
 * <p>Immutable: arrays are copied in and never handed out. Construction validates shapes and
 * finiteness once, so kernels only {@code assert}.
 */
public final class DiagonalSsm implements ScanModel {
  private static final long serialVersionUID = 1L;

  final int channels;
  final int stateDim;
  final double[] abarRe;
  final double[] abarIm; // null when real
  final double[] bbarRe;
  final double[] bbarIm; // null when real
  final double[] cRe;
  final double[] cIm; // null when real
  final double[] dSkip; // null when absent
  private final long fingerprint;

  private DiagonalSsm(int channels, int stateDim, double[] abarRe, double[] abarIm, double[] bbarRe,
      double[] bbarIm, double[] cRe, double[] cIm, double[] dSkip) {
    this.channels = channels;
    this.stateDim = stateDim;
    this.abarRe = abarRe;
    this.abarIm = abarIm;
    this.bbarRe = bbarRe;
    this.bbarIm = bbarIm;
    this.cRe = cRe;
    this.cIm = cIm;
    this.dSkip = dSkip;
    this.fingerprint = new Fingerprint().add(abarIm == null ? "DiagonalSsm/real" : "DiagonalSsm/complex")
        .add(channels).add(stateDim).add(abarRe).add(abarIm).add(bbarRe).add(bbarIm).add(cRe).add(cIm)
        .add(dSkip).value();
  }

  /**
   * A real diagonal system. {@code abar}, {@code bbar}, {@code c}: (D, N) as {@code [d * N + n]};
   * {@code dSkip}: (D), or null for none.
   */
  public static DiagonalSsm real(int channels, int stateDim, double[] abar, double[] bbar, double[] c,
      double[] dSkip) {
    int size = checkDims(channels, stateDim);
    String shape = "D*N = " + channels + "*" + stateDim;
    Checks.allFinite("Abar", Checks.length("Abar", abar, size, shape));
    Checks.allFinite("Bbar", Checks.length("Bbar", bbar, size, shape));
    Checks.allFinite("C", Checks.length("C", c, size, shape));
    return new DiagonalSsm(channels, stateDim, abar.clone(), null, bbar.clone(), null, c.clone(), null,
        checkSkip(dSkip, channels));
  }

  /** A complex diagonal system; each complex (D, N) parameter as a {@code re}, {@code im} pair. */
  public static DiagonalSsm complex(int channels, int stateDim, double[] abarRe, double[] abarIm,
      double[] bbarRe, double[] bbarIm, double[] cRe, double[] cIm, double[] dSkip) {
    int size = checkDims(channels, stateDim);
    String shape = "D*N = " + channels + "*" + stateDim;
    Checks.allFinite("AbarRe", Checks.length("AbarRe", abarRe, size, shape));
    Checks.allFinite("AbarIm", Checks.length("AbarIm", abarIm, size, shape));
    Checks.allFinite("BbarRe", Checks.length("BbarRe", bbarRe, size, shape));
    Checks.allFinite("BbarIm", Checks.length("BbarIm", bbarIm, size, shape));
    Checks.allFinite("CRe", Checks.length("CRe", cRe, size, shape));
    Checks.allFinite("CIm", Checks.length("CIm", cIm, size, shape));
    return new DiagonalSsm(channels, stateDim, abarRe.clone(), abarIm.clone(), bbarRe.clone(), bbarIm.clone(),
        cRe.clone(), cIm.clone(), checkSkip(dSkip, channels));
  }

  private static int checkDims(int channels, int stateDim) {
    Checks.positive("channels (D)", channels);
    Checks.positive("stateDim (N)", stateDim);
    long size = (long) channels * stateDim;
    if (size > Integer.MAX_VALUE / 2) {
      Checks.fail("D*N: expected at most %d state components, got %d", Integer.MAX_VALUE / 2, size);
    }
    return (int) size;
  }

  private static double[] checkSkip(double[] dSkip, int channels) {
    if (dSkip == null) {
      return null;
    }
    return Checks.allFinite("Dskip", Checks.length("Dskip", dSkip, channels, "D = " + channels)).clone();
  }

  /** Rejects a system whose recurrence grows: every {@code |Ā| <= 1}. */
  public DiagonalSsm requireStable() {
    Checks.allInUnitDisk("Abar", abarRe, abarIm);
    return this;
  }

  /** D: channels. */
  public int channels() {
    return channels;
  }

  /** N: state components per channel. */
  public int stateDim() {
    return stateDim;
  }

  public boolean isComplex() {
    return abarIm != null;
  }

  /** Length of the state array {@code h}: D*N, or 2*D*N for a complex system. */
  @Override
  public int stateSize() {
    return (isComplex() ? 2 : 1) * channels * stateDim;
  }

  /** A fingerprint of the shape and every parameter, stored with saved states. */
  @Override
  public long fingerprint() {
    return fingerprint;
  }

  /** A copy of Ā (real part). */
  public double[] abarRe() {
    return abarRe.clone();
  }

  /** A copy of Ā's imaginary part, or null for a real system. */
  public double[] abarIm() {
    return abarIm == null ? null : abarIm.clone();
  }

  public double[] bbarRe() {
    return bbarRe.clone();
  }

  public double[] bbarIm() {
    return bbarIm == null ? null : bbarIm.clone();
  }

  public double[] cRe() {
    return cRe.clone();
  }

  public double[] cIm() {
    return cIm == null ? null : cIm.clone();
  }

  /** A copy of the D-skip, or null when absent. */
  public double[] dSkip() {
    return dSkip == null ? null : dSkip.clone();
  }

  /** D: one value per channel in. */
  @Override
  public int inputs() {
    return channels;
  }

  /** D: one value per channel out. */
  @Override
  public int outputs() {
    return channels;
  }

  /** {@link DiagonalScan#scan}. */
  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    DiagonalScan.scan(this, u, uOff, y, yOff, length, h);
  }

  /** {@code h ← Ā^steps ⊙ h}, element by element (complex powers by repeated squaring). */
  @Override
  public void decay(double[] h, long steps) {
    Checks.length("h", h, stateSize(), isComplex() ? "2*D*N for a complex system" : "D*N");
    int size = channels * stateDim;
    if (!isComplex()) {
      for (int i = 0; i < size; i++) {
        h[i] *= DiagonalScan.powReal(abarRe[i], steps);
      }
      return;
    }
    double[] pow = new double[2];
    for (int i = 0; i < size; i++) {
      DiagonalScan.powComplex(abarRe[i], abarIm[i], steps, pow);
      double re = h[i];
      double im = h[size + i];
      h[i] = pow[0] * re - pow[1] * im;
      h[size + i] = pow[0] * im + pow[1] * re;
    }
  }
}
