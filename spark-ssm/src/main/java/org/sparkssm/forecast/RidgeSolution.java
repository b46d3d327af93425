package org.sparkssm.forecast;

import java.io.Serializable;
import org.sparkssm.Checks;

/**
 * Weights of a multi-output linear map {@code ŷ = βᵀ x + b}: β is F×H row-major
 * ({@code beta[i * H + c]}), b has H entries. Immutable; what {@link RidgeStats#solve} returns
 * and {@link LinearForecaster} applies.
 */
public final class RidgeSolution implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int features;
  private final int outputs;
  final double[] beta;
  final double[] intercept;
  private final double lambdaRel;

  RidgeSolution(int features, int outputs, double[] beta, double[] intercept, double lambdaRel) {
    this.features = features;
    this.outputs = outputs;
    this.beta = beta;
    this.intercept = intercept;
    this.lambdaRel = lambdaRel;
  }

  /**
   * Weights from caller arrays (copied), e.g. loaded from a saved model.
   *
   * @param features F
   * @param outputs H
   * @param beta F×H row-major
   * @param intercept H entries
   * @param lambdaRel the penalty they were fitted with (informational; NaN if unknown)
   */
  public static RidgeSolution of(int features, int outputs, double[] beta, double[] intercept, double lambdaRel) {
    Checks.nonNegative("features (F)", features);
    Checks.positive("outputs (H)", outputs);
    Checks.allFinite("beta", Checks.length("beta", beta, features * outputs, "F*H = " + features + "*" + outputs));
    Checks.allFinite("intercept", Checks.length("intercept", intercept, outputs, "H"));
    return new RidgeSolution(features, outputs, beta.clone(), intercept.clone(), lambdaRel);
  }

  /** The same map over {@code f >= F} features, the extra ones with weight 0. */
  RidgeSolution padded(int f) {
    double[] wider = new double[f * outputs];
    System.arraycopy(beta, 0, wider, 0, beta.length);
    return new RidgeSolution(f, outputs, wider, intercept.clone(), lambdaRel);
  }

  /** F. */
  public int features() {
    return features;
  }

  /** H. */
  public int outputs() {
    return outputs;
  }

  /** β, F×H row-major (a copy). */
  public double[] beta() {
    return beta.clone();
  }

  /** b, H entries (a copy). */
  public double[] intercept() {
    return intercept.clone();
  }

  /** The λ_rel these weights were fitted with. */
  public double lambdaRel() {
    return lambdaRel;
  }
}
