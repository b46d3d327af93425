package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Fingerprint;

/**
 * A discretized dense LTI system with a small state (HiPPO-LegT/LegS memories):
 * {@code h_t = Ā h_{t-1} + B̄ u_t}, {@code y_t = C h_t + D u_t}, with N states, M inputs and P
 * outputs. Matrices are row-major: Ā (N, N) as {@code [i * N + j]}, B̄ (N, M), C (P, N), D (P, M).
 * C may be null when only the state trajectory is wanted ({@link DenseScan#scanStates}); D may be
 * null for no feed-through. Immutable; validated once at construction.
 */
public final class DenseSsm implements ScanModel {
  private static final long serialVersionUID = 1L;

  final int stateDim;
  final int inputs;
  final int outputs;
  final double[] abar;
  final double[] bbar;
  final double[] c; // null: no readout
  final double[] d; // null: no feed-through
  private final long fingerprint;

  private DenseSsm(int stateDim, int inputs, int outputs, double[] abar, double[] bbar, double[] c, double[] d) {
    this.stateDim = stateDim;
    this.inputs = inputs;
    this.outputs = outputs;
    this.abar = abar;
    this.bbar = bbar;
    this.c = c;
    this.d = d;
    this.fingerprint = new Fingerprint().add("DenseSsm").add(stateDim).add(inputs).add(outputs).add(abar).add(bbar)
        .add(c).add(d).value();
  }

  /**
   * @param stateDim N
   * @param inputs M
   * @param abar Ā (N, N)
   * @param bbar B̄ (N, M)
   * @param outputs P; 0 when {@code c} is null
   * @param c C (P, N) or null
   * @param d D (P, M) or null
   */
  public static DenseSsm of(int stateDim, int inputs, double[] abar, double[] bbar, int outputs, double[] c,
      double[] d) {
    Checks.positive("stateDim (N)", stateDim);
    Checks.positive("inputs (M)", inputs);
    Checks.nonNegative("outputs (P)", outputs);
    Checks.allFinite("Abar", Checks.length("Abar", abar, stateDim * stateDim, "N*N = " + stateDim + "*" + stateDim));
    Checks.allFinite("Bbar", Checks.length("Bbar", bbar, stateDim * inputs, "N*M = " + stateDim + "*" + inputs));
    if (c == null && outputs != 0) {
      Checks.fail("outputs (P): expected 0 when C is null, got %d", outputs);
    }
    if (c != null) {
      Checks.positive("outputs (P)", outputs);
      Checks.allFinite("C", Checks.length("C", c, outputs * stateDim, "P*N = " + outputs + "*" + stateDim));
    }
    if (d != null) {
      if (c == null) {
        Checks.fail("D: expected null when C is null (no outputs), got an array of length %d", d.length);
      }
      Checks.allFinite("D", Checks.length("D", d, outputs * inputs, "P*M = " + outputs + "*" + inputs));
    }
    return new DenseSsm(stateDim, inputs, outputs, abar.clone(), bbar.clone(), c == null ? null : c.clone(),
        d == null ? null : d.clone());
  }

  /** N. */
  public int stateDim() {
    return stateDim;
  }

  /** M. */
  @Override
  public int inputs() {
    return inputs;
  }

  /** P, or N without a readout (the state is the output, see {@link #scan}). */
  @Override
  public int outputs() {
    return c == null ? stateDim : outputs;
  }

  public double[] abar() {
    return abar.clone();
  }

  public double[] bbar() {
    return bbar.clone();
  }

  /** A copy of C, or null. */
  public double[] c() {
    return c == null ? null : c.clone();
  }

  /** A copy of D, or null. */
  public double[] d() {
    return d == null ? null : d.clone();
  }

  @Override
  public long fingerprint() {
    return fingerprint;
  }

  /** N. */
  @Override
  public int stateSize() {
    return stateDim;
  }

  /**
   * {@link DenseScan#scan} when the model has a readout C; without one the outputs are the state
   * itself ({@link #outputs()} then reports N), which is what a HiPPO memory used as features wants.
   */
  @Override
  public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
    if (c == null) {
      DenseScan.scanStates(this, u, uOff, y, yOff, length, h);
    } else {
      DenseScan.scan(this, u, uOff, y, yOff, length, h);
    }
  }

  /** {@code h ← Ā^steps h} (matrix power by repeated squaring). */
  @Override
  public void decay(double[] h, long steps) {
    Checks.length("h", h, stateDim, "N");
    double[] power = DenseScan.matrixPower(abar, stateDim, steps);
    double[] in = h.clone();
    for (int i = 0; i < stateDim; i++) {
      double acc = 0;
      for (int j = 0; j < stateDim; j++) {
        acc += power[i * stateDim + j] * in[j];
      }
      h[i] = acc;
    }
  }
}
