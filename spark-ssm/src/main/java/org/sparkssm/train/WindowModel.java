package org.sparkssm.train;

import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.nn.Precision;

/**
 * A forecasting network over multichannel windows: it reads {@code L × C} values (the lookback,
 * time-major {@code x[(b * L + t) * C + c]}) and predicts {@code H × C}
 * ({@code pred[(b * H + t) * C + c]}), on the scale of its input (instance normalization, where a
 * model uses it, happens inside). Weights and gradients are flat arrays in {@link #layout()};
 * everything a forward keeps for its backward lives in a {@link Workspace}, one per thread.
 */
public interface WindowModel {
  /** Marker for a model's per-thread activations and scratch, sized for a maximum batch. */
  interface Workspace {}

  /** The model's name and hyperparameters, e.g. {@code smamba(d_model=64, layers=2, ...)}. */
  String describe();

  ParameterLayout layout();

  int lookback();

  int horizon();

  int channels();

  /** Seeded initialization of every tensor. */
  void init(double[] w, long seed);

  Workspace workspace(int maxBatch);

  /**
   * Predicts {@code batch} windows. {@code rows} holds each window's first row in its series (the
   * phase of a periodic component; rows are evenly spaced). {@code dropoutSeeds} (one per window)
   * switches training mode on (dropout active); null is evaluation mode. Either way the
   * activations are kept for {@link #backward}.
   */
  void forward(double[] w, double[] x, long[] rows, int batch, double[] pred, Workspace ws, long[] dropoutSeeds);

  /** Accumulates into {@code gw} the gradient of the loss whose gradient with respect to pred is {@code dPred}. */
  void backward(double[] w, double[] gw, double[] dPred, int batch, Workspace ws);

  /**
   * Lets the workspace's heavy layer operations run on a device (an S4D layer's convolution, a
   * Mamba block's selective scan: see {@link org.sparkssm.nn.LayerDevice}); models without such
   * layers ignore it.
   */
  default void runOn(Workspace ws, org.sparkssm.nn.LayerDevice device) {}

  /**
   * Lets the workspace compute in {@code precision} ({@link Precision}: float64 by default; the
   * float32 modes run the model's linear layers, its Mamba blocks' scans and its S4D layers'
   * convolutions where it has them, in float32, with float64 weights, gradients and norms). Call it right after {@link #workspace},
   * before {@link #runOn}.
   */
  void computeIn(Workspace ws, Precision precision);
}
