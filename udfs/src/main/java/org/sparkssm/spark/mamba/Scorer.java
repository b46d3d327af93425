package org.sparkssm.spark.mamba;

import java.util.ArrayList;
import java.util.List;
import org.sparkssm.gpu.GpuMamba;
import org.sparkssm.mamba.MambaModel;

/**
 * One sequence's scoring state: the model's carried state, the logits of the last position (for
 * the next token's log-probability) and running sums. Tokens are fed in pieces; nothing grows with
 * the sequence except the log-probabilities kept until {@link #forgetLogProbs} (and, when asked
 * for, the logits of every position).
 */
final class Scorer {
  private final MambaModel model;
  private final GpuMamba gpu; // null: the CPU
  private final MambaModel.State state;
  private final int vocab;
  private final int dModel;
  private final boolean keepAllLogits;
  private final double[] previousLogits;
  private final double[] lastHidden;
  private double[] chunkLogits = new double[0];
  private double[] chunkHidden = new double[0];
  private final List<Double> logProbs = new ArrayList<>();
  private final List<List<Double>> allLogits = new ArrayList<>();
  private int logProbBase;
  private int tokens;
  private double logLikelihood;

  /** Scores with {@code model}, on the GPU through {@code gpu} (its device copy) unless that is null. */
  Scorer(MambaModel model, GpuMamba gpu, boolean keepAllLogits) {
    this.model = model;
    this.gpu = gpu;
    this.state = model.newState();
    this.vocab = model.vocab();
    this.dModel = model.dModel();
    this.keepAllLogits = keepAllLogits;
    this.previousLogits = new double[vocab];
    this.lastHidden = new double[dModel];
  }

  /** Feeds {@code n} tokens; their log-probabilities become available from {@link #logProbAt}. */
  void feed(int[] ids, int off, int n) {
    if (n == 0) {
      return;
    }
    reserve(n);
    if (gpu != null) {
      gpu.forward(ids, off, n, state, chunkLogits, 0, chunkHidden, 0);
    } else {
      model.forward(ids, off, n, state, chunkLogits, 0, chunkHidden, 0);
    }
    consume(ids, off, n);
  }

  /**
   * {@link #feed} of each scorer's whole token array, on the CPU in one batched forward (the
   * sequences share each pass over the weights), or one by one where a scorer computes on a GPU.
   * The scorers must share one model.
   */
  static void feedAll(Scorer[] scorers, int[][] ids) {
    int k = scorers.length;
    if (k == 0) {
      return;
    }
    for (int s = 0; s < k; s++) {
      if (scorers[s].gpu != null) {
        for (int t = 0; t < k; t++) {
          scorers[t].feed(ids[t], 0, ids[t].length);
        }
        return;
      }
    }
    MambaModel.State[] states = new MambaModel.State[k];
    double[][] logits = new double[k][];
    double[][] hidden = new double[k][];
    for (int s = 0; s < k; s++) {
      scorers[s].reserve(ids[s].length);
      states[s] = scorers[s].state;
      logits[s] = scorers[s].chunkLogits;
      hidden[s] = scorers[s].chunkHidden;
    }
    scorers[0].model.forward(ids, states, logits, hidden);
    for (int s = 0; s < k; s++) {
      if (ids[s].length > 0) {
        scorers[s].consume(ids[s], 0, ids[s].length);
      }
    }
  }

  private void reserve(int n) {
    if (chunkLogits.length < n * vocab) {
      chunkLogits = new double[n * vocab];
      chunkHidden = new double[n * dModel];
    }
  }

  /** Log-probabilities and sums from the logits and hidden states of {@code n} fed tokens. */
  private void consume(int[] ids, int off, int n) {
    for (int i = 0; i < n; i++) {
      if (tokens == 0) {
        logProbs.add(Double.NaN); // the first token has no context
      } else {
        // p(token_t | before t) comes from the logits of position t - 1 (the previous feed's last for i = 0).
        double lp = i == 0 ? logSoftmaxAt(previousLogits, 0, ids[off]) : logSoftmaxAt(chunkLogits, (i - 1) * vocab,
            ids[off + i]);
        logProbs.add(lp);
        logLikelihood += lp;
      }
      if (keepAllLogits) {
        allLogits.add(boxed(chunkLogits, i * vocab, vocab));
      }
      tokens++;
    }
    System.arraycopy(chunkLogits, (n - 1) * vocab, previousLogits, 0, vocab);
    System.arraycopy(chunkHidden, (n - 1) * dModel, lastHidden, 0, dModel);
  }

  private double logSoftmaxAt(double[] logits, int off, int token) {
    return MambaLongScore.logSoftmaxAt(logits, off, vocab, token);
  }

  private static List<Double> boxed(double[] values, int off, int n) {
    List<Double> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(values[off + i]);
    }
    return out;
  }

  int tokens() {
    return tokens;
  }

  /** The log-probability of token {@code index} (from 0 in the sequence); NaN for the first. */
  double logProbAt(int index) {
    return logProbs.get(index - logProbBase);
  }

  /** Drops the log-probabilities kept so far (long sequences: after they are emitted). */
  void forgetLogProbs() {
    logProbBase += logProbs.size();
    logProbs.clear();
  }

  /** Log-probabilities of tokens 1 .. n-1 (the first has none). */
  List<Double> logProbs() {
    return new ArrayList<>(logProbs.subList(logProbBase == 0 ? 1 : 0, logProbs.size()));
  }

  double logLikelihood() {
    return logLikelihood;
  }

  /** {@code exp(-mean log p)} over tokens 1 .. n-1; null with fewer than two tokens. */
  Double perplexity() {
    return tokens < 2 ? null : Math.exp(-logLikelihood / (tokens - 1));
  }

  double[] lastHidden() {
    return lastHidden.clone();
  }

  /** Every position's logits (only when kept). */
  List<List<Double>> logits() {
    return allLogits;
  }

  /** The logits of position {@code i} of the last {@link #feed}. */
  List<Double> chunkLogits(int i) {
    return boxed(chunkLogits, i * vocab, vocab);
  }
}
