package org.sparkssm.scan;

import org.sparkssm.Checks;
import org.sparkssm.state.Carry;

/**
 * The carry of a chunk of an LTI model ({@link ScanModel#carry}): {@code steps} steps of zero-input
 * evolution ({@link ScanModel#decay}, element-wise or dense) plus the chunk's end state from zero.
 * Exact by linearity; immutable.
 */
final class DecayCarry implements Carry {
  private static final long serialVersionUID = 1L;

  private final ScanModel model;
  private final long steps;
  private final double[] end;

  DecayCarry(ScanModel model, long steps, double[] endFromZero) {
    this.model = Checks.notNull("model", model);
    if (steps < 0) {
      Checks.fail("steps: expected >= 0, got %d", steps);
    }
    Checks.length("endFromZero", endFromZero, model.stateSize(), "the model's state size");
    this.steps = steps;
    this.end = endFromZero.clone();
  }

  @Override
  public int stateSize() {
    return end.length;
  }

  @Override
  public void applyTo(double[] h) {
    Checks.length("h", h, end.length, "the model's state size");
    model.decay(h, steps);
    for (int k = 0; k < end.length; k++) {
      h[k] += end[k];
    }
  }

  /** {@code end} as it is: decaying the zero state adds nothing, and this saves a decay per block. */
  @Override
  public double[] endFromZero() {
    return end.clone();
  }

  @Override
  public Carry then(Carry next) {
    if (!(next instanceof DecayCarry) || ((DecayCarry) next).model.fingerprint() != model.fingerprint()) {
      Checks.fail("next: expected a carry of the same model, got %s", next);
    }
    DecayCarry n = (DecayCarry) next;
    double[] combined = end.clone();
    n.applyTo(combined); // decay(e1, n2) + e2
    return new DecayCarry(model, steps + n.steps, combined);
  }

  @Override
  public String toString() {
    return "DecayCarry(" + model.getClass().getSimpleName() + ", steps=" + steps + ")";
  }
}
