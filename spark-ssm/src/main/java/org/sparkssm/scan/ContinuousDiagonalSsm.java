package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.state.Fingerprint;

/**
 * A stable continuous-time diagonal system {@code x' = A x + B u}, {@code y = Re(C x) + D u}, of D
 * channels with N components each (S4D, LRU before discretization), together with the rule that
 * discretizes it. It gives a fixed-step {@link DiagonalSsm} ({@link #discretize}) or is scanned
 * directly with a step size per time step by {@link IrregularDiagonalScan}, so irregular
 * timestamps discretize with their real gaps.
 *
 * <p>Per-state arrays are {@code [d * N + n]}; complex parts come as {@code re}/{@code im} pairs
 * ({@code aIm}, {@code bIm}, {@code cIm} all null for a real system). Stability is required:
 * every {@code Re(A) < 0}. Immutable.
 */
public final class ContinuousDiagonalSsm implements IrregularScanModel {
  private static final long serialVersionUID = 1L;

  final int channels;
  final int stateDim;
  final Discretization rule;
  final double[] aRe;
  final double[] aIm;
  final double[] bRe;
  final double[] bIm;
  final double[] cRe;
  final double[] cIm;
  final double[] dSkip;
  private final long fingerprint;
  private transient DiagonalSsm unitStep; // discretize(1.0), made on first use

  private ContinuousDiagonalSsm(int channels, int stateDim, Discretization rule, double[] aRe, double[] aIm,
      double[] bRe, double[] bIm, double[] cRe, double[] cIm, double[] dSkip) {
    this.channels = channels;
    this.stateDim = stateDim;
    this.rule = rule;
    this.aRe = aRe;
    this.aIm = aIm;
    this.bRe = bRe;
    this.bIm = bIm;
    this.cRe = cRe;
    this.cIm = cIm;
    this.dSkip = dSkip;
    this.fingerprint = new Fingerprint().add("ContinuousDiagonalSsm").add(rule.name()).add(channels).add(stateDim)
        .add(aRe).add(aIm).add(bRe).add(bIm).add(cRe).add(cIm).add(dSkip).value();
  }

  /**
   * @param rule how each step is discretized (ZOH, BILINEAR or MAMBA)
   * @param aRe Re(A) (D, N), all {@code < 0}; {@code aIm} Im(A) or null for a real system
   * @param bRe B (D, N); {@code bIm} or null
   * @param cRe C (D, N); {@code cIm} or null
   * @param dSkip (D) or null
   */
  public static ContinuousDiagonalSsm of(int channels, int stateDim, Discretization rule, double[] aRe, double[] aIm,
      double[] bRe, double[] bIm, double[] cRe, double[] cIm, double[] dSkip) {
    Checks.positive("channels (D)", channels);
    Checks.positive("stateDim (N)", stateDim);
    Checks.notNull("rule", rule);
    int size = channels * stateDim;
    String shape = "D*N = " + channels + "*" + stateDim;
    Checks.allNegative("Re(A)", Checks.length("Re(A)", aRe, size, shape));
    boolean complex = aIm != null;
    if (complex) {
      Checks.allFinite("Im(A)", Checks.length("Im(A)", aIm, size, shape));
    }
    Checks.allFinite("B", Checks.length("B", bRe, size, shape));
    Checks.allFinite("C", Checks.length("C", cRe, size, shape));
    for (Object[] part : new Object[][] {{"Im(B)", bIm}, {"Im(C)", cIm}}) {
      double[] im = (double[]) part[1];
      if (im != null) {
        if (!complex) {
          Checks.fail("%s: expected null for a real system (Im(A) is null), got an array of length %d", part[0], im.length);
        }
        Checks.allFinite((String) part[0], Checks.length((String) part[0], im, size, shape));
      }
    }
    if (dSkip != null) {
      Checks.allFinite("Dskip", Checks.length("Dskip", dSkip, channels, "D = " + channels));
    }
    return new ContinuousDiagonalSsm(channels, stateDim, rule, aRe.clone(), complex ? aIm.clone() : null, bRe.clone(),
        complex ? zerosIfNull(bIm, size) : null, cRe.clone(), complex ? zerosIfNull(cIm, size) : null,
        dSkip == null ? null : dSkip.clone());
  }

  private static double[] zerosIfNull(double[] im, int size) {
    return im == null ? new double[size] : im.clone();
  }

  /** The fixed-step system for step size {@code dt}. */
  public DiagonalSsm discretize(double dt) {
    Checks.positiveFinite("dt", dt);
    int size = channels * stateDim;
    double[] abarRe = new double[size];
    double[] bbarRe = new double[size];
    if (!isComplex()) {
      Discretize.diagonal(rule, dt, aRe, null, bRe, null, abarRe, null, bbarRe, null);
      return DiagonalSsm.real(channels, stateDim, abarRe, bbarRe, cRe, dSkip);
    }
    double[] abarIm = new double[size];
    double[] bbarIm = new double[size];
    Discretize.diagonal(rule, dt, aRe, aIm, bRe, bIm, abarRe, abarIm, bbarRe, bbarIm);
    return DiagonalSsm.complex(channels, stateDim, abarRe, abarIm, bbarRe, bbarIm, cRe, cIm, dSkip);
  }

  /** D. */
  @Override
  public int inputs() {
    return channels;
  }

  /** D. */
  @Override
  public int outputs() {
    return channels;
  }

  /** The regular scan: every step is one model time unit, {@code Δ = 1}. */
  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    unitStep().scan(u, uOff, y, yOff, length, h);
  }

  /** {@code h ← Ā(1)^steps h}: zero input over {@code steps} unit steps. */
  @Override
  public void decay(double[] h, long steps) {
    unitStep().decay(h, steps);
  }

  /** {@link IrregularDiagonalScan#scan}. */
  @Override
  public void scanIrregular(double[] dt, int dtOff, double[] u, int uOff, double[] y, int yOff, int length,
      double[] h) {
    IrregularDiagonalScan.scan(this, dt, dtOff, u, uOff, y, yOff, length, h);
  }

  private DiagonalSsm unitStep() {
    DiagonalSsm d = unitStep;
    if (d == null) {
      d = discretize(1.0);
      unitStep = d;
    }
    return d;
  }

  public int channels() {
    return channels;
  }

  public int stateDim() {
    return stateDim;
  }

  public Discretization rule() {
    return rule;
  }

  public boolean isComplex() {
    return aIm != null;
  }

  /** Length of the state array: D*N, or 2*D*N for a complex system (real parts first). */
  @Override
  public int stateSize() {
    return (isComplex() ? 2 : 1) * channels * stateDim;
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }
}
