package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.discretize.Discretize;

/**
 * The diagonal scan with a step size per time step, for irregular timestamps: step t is
 * discretized with its own gap {@code Δ_t} (the time since the previous observation) before it is
 * applied,
 *
 * <pre>
 *   Ā_t, B̄_t = rule(Δ_t, A, B)                                       (D, N)
 *   h_t[d,n] = Ā_t[d,n] h_{t-1}[d,n] + B̄_t[d,n] u_t[d]
 *   y_t[d]   = Re Σ_n C[d,n] h_t[d,n] + Dskip[d] u_t[d]
 * </pre>
 *
 * <p>so a series observed at uneven times evolves its state over the real elapsed time, not over a
 * count of rows. With every {@code Δ_t = Δ} it equals {@link DiagonalScan} on
 * {@code m.discretize(Δ)}. Layouts as in {@link DiagonalScan}; {@code dt[dtOff + t]}; each
 * {@code Δ_t} must be finite and {@code > 0} (zero gaps, i.e. duplicate timestamps, are the
 * caller's policy to resolve). Ā_t and B̄_t are recomputed only when Δ changes; two workspaces of
 * D*N complex values are allocated per call, nothing per step.
 */
public final class IrregularDiagonalScan {
  private IrregularDiagonalScan() {}

  public static void scan(ContinuousDiagonalSsm m, double[] dt, int dtOff, double[] u, int uOff, double[] y, int yOff,
      int length, double[] h) {
    Checks.notNull("model", m);
    Checks.nonNegative("length (L)", length);
    Checks.range("dt", dt, dtOff, length);
    Checks.range("u", u, uOff, (long) length * m.channels);
    Checks.range("y", y, yOff, (long) length * m.channels);
    Checks.length("h", h, m.stateSize(), m.isComplex() ? "2*D*N for a complex system" : "D*N");
    for (int t = 0; t < length; t++) {
      double step = dt[dtOff + t];
      if (!(step > 0) || Double.isInfinite(step)) {
        Checks.fail("dt: expected a finite step > 0 at every time step, got %s at step %d", step, t);
      }
    }
    final int dim = m.channels;
    final int n = m.stateDim;
    final int size = dim * n;
    final boolean complex = m.isComplex();
    // Ā and B̄ of the current step size, recomputed when Δ changes.
    double[] abarRe = new double[size];
    double[] abarIm = new double[size];
    double[] bbarRe = new double[size];
    double[] bbarIm = new double[size];
    double[] element = new double[4];
    double current = Double.NaN;
    for (int t = 0; t < length; t++) {
      double step = dt[dtOff + t];
      if (step != current) {
        current = step;
        for (int i = 0; i < size; i++) {
          Discretize.diagonalStep(m.rule, step, m.aRe[i], complex ? m.aIm[i] : 0.0, element, 0);
          abarRe[i] = element[0];
          abarIm[i] = element[1];
          // B̄ = s · b (complex product; b real for a real system)
          double bi = complex ? m.bIm[i] : 0.0;
          bbarRe[i] = element[2] * m.bRe[i] - element[3] * bi;
          bbarIm[i] = element[2] * bi + element[3] * m.bRe[i];
        }
      }
      if (complex) {
        DiagonalScan.stepComplex(dim, n, abarRe, abarIm, bbarRe, bbarIm, m.cRe, m.cIm, m.dSkip, u, uOff + t * dim, y,
            yOff + t * dim, h);
      } else {
        DiagonalScan.stepReal(dim, n, abarRe, bbarRe, m.cRe, m.dSkip, u, uOff + t * dim, y, yOff + t * dim, h);
      }
    }
  }
}
