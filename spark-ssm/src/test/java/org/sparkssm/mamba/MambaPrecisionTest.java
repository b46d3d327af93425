package org.sparkssm.mamba;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.sparkssm.nn.Precision;
import org.sparkssm.weights.Safetensors;

/**
 * The float32 modes against the float64 reference on every golden checkpoint: logits and
 * log-probabilities within stated tolerances, pieces with a carried state equal to the one-shot
 * pass bit for bit (for Mamba-2, pieces of whole SSD blocks; cut anywhere, within float32
 * rounding), and a long sequence whose float32 state stays within a bound of float64's.
 */
class MambaPrecisionTest {
  /**
   * Float32 rounds every projection input, weight and product sum and every scan step to 2^-24
   * relative; through the golden models' two layers the logits, hidden states and log-probs land
   * within 1e-7 to 3.7e-7 of the reference's scale (measured, both float32 modes: mamba1 1.0e-7 to
   * 1.5e-7; mamba2, whose SSD scan is float32 too, 2.4e-7 to 3.7e-7; 4000 tokens: mamba1 1.9e-7 and
   * 2.7e-7, mamba2 3.6e-7). The bound leaves a factor of about 8.
   */
  static final double LOGIT_RELATIVE_TOLERANCE = 3e-6;

  /**
   * A float32 Mamba-2 scored in pieces cut anywhere (or batched in rounds that cut it) vs. one shot,
   * relative to the logits' scale: the SSD blocks start where a piece starts, so the scan rounds
   * differently (see {@code Tolerances.F32_SSD_CHUNKED}). Measured on the golden mamba2, 700 tokens
   * in pieces of 1..3 and 1..300: at most 2.3e-7 (float32 state) and 1.7e-7 (float64 state); the
   * bound leaves a factor of 4.
   */
  static final double PIECES_RELATIVE_TOLERANCE = 1e-6;

  /** Log-probabilities (log-softmax of the logits): the same bound relative to their own scale. */
  static final double LOG_PROB_RELATIVE_TOLERANCE = 3e-6;

  static double scale(double[] x) {
    double m = 0;
    for (double v : x) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  private static double maxDiff(double[] a, double[] b) {
    assertEquals(a.length, b.length);
    double worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    return worst;
  }

  /** log_softmax over each row of {@code vocab} logits. */
  static double[] logSoftmax(double[] logits, int vocab) {
    double[] out = new double[logits.length];
    for (int r = 0; r < logits.length / vocab; r++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < vocab; k++) {
        max = Math.max(max, logits[r * vocab + k]);
      }
      double sum = 0;
      for (int k = 0; k < vocab; k++) {
        sum += Math.exp(logits[r * vocab + k] - max);
      }
      double log = max + Math.log(sum);
      for (int k = 0; k < vocab; k++) {
        out[r * vocab + k] = logits[r * vocab + k] - log;
      }
    }
    return out;
  }

  @ParameterizedTest
  @CsvSource({"mamba1, float32", "mamba1, float32-state64", "mamba2, float32", "mamba2, float32-state64"})
  void logitsAndLogProbsWithinTheToleranceOfTheFloat64Reference(String name, String mode) throws Exception {
    Path dir = MambaModelTest.golden(name);
    MambaModel model = MambaModel.load(dir, Precision.parse("mode", mode));
    Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"));
    int[] tokens = MambaModelTest.tokens(expected);
    double[] logits = new double[tokens.length * model.vocab()];
    double[] hidden = new double[tokens.length * model.dModel()];
    model.forward(tokens, 0, tokens.length, model.newState(), logits, 0, hidden, 0);
    double[] reference = expected.read("logits");
    double logitError = maxDiff(reference, logits) / scale(reference);
    assertTrue(logitError <= LOGIT_RELATIVE_TOLERANCE, name + " " + mode + " logits: relative error " + logitError);
    double[] refHidden = expected.read("hidden");
    double hiddenError = maxDiff(refHidden, hidden) / scale(refHidden);
    assertTrue(hiddenError <= LOGIT_RELATIVE_TOLERANCE, name + " " + mode + " hidden: relative error " + hiddenError);
    double[] refLogProbs = logSoftmax(reference, model.vocab());
    double logProbError = maxDiff(refLogProbs, logSoftmax(logits, model.vocab())) / scale(refLogProbs);
    assertTrue(logProbError <= LOG_PROB_RELATIVE_TOLERANCE, name + " " + mode + " log-probs: relative error "
        + logProbError);
    // Not float64 by accident: float32 differs from the reference, by more than float64's 1e-9.
    assertTrue(maxDiff(reference, logits) > 1e-9, name + " " + mode + ": identical to float64");
  }

  /** The logits of {@code length} random tokens, one shot and in random pieces of {@code grain} × 1..bound tokens. */
  private static double[][] oneShotAndPieces(MambaModel model, SplittableRandom rnd, int length, int grain,
      int bound) {
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = rnd.nextInt(model.config().vocabSize());
    }
    double[] oneShot = new double[length * model.vocab()];
    model.forward(tokens, 0, length, model.newState(), oneShot, 0, null, 0);
    double[] pieces = new double[length * model.vocab()];
    MambaModel.State state = model.newState();
    int at = 0;
    while (at < length) {
      int n = Math.min(length - at, grain * (1 + rnd.nextInt(bound)));
      model.forward(tokens, at, n, state, pieces, at * model.vocab(), null, 0);
      at += n;
    }
    return new double[][] {oneShot, pieces};
  }

  @ParameterizedTest
  @CsvSource({"mamba1, float32", "mamba1, float32-state64", "mamba2, float32", "mamba2, float32-state64"})
  void piecesWithACarriedStateEqualTheOneShotPassBitForBit(String name, String mode) throws Exception {
    MambaModel model = MambaModel.load(MambaModelTest.golden(name), Precision.parse("mode", mode));
    // Mamba-2's SSD blocks start where a piece starts: pieces of whole blocks keep the blocks.
    boolean mamba2 = model.config().layer != MambaConfig.Layer.MAMBA1;
    int grain = mamba2 ? model.config().chunkSize : 1;
    // 600 tokens cross the internal chunk of 256 tokens (a multiple of the golden chunk_size 16).
    double[][] got = oneShotAndPieces(model, new SplittableRandom(7), 600, grain, mamba2 ? 12 : 200);
    // Every row's projection is independent of the rows beside it, the scan of where it is cut (of
    // which whole blocks, for Mamba-2), and a float32 state survives its float64 storage exactly.
    assertArrayEquals(got[0], got[1], name + " " + mode);
  }

  @ParameterizedTest
  @CsvSource({"float32", "float32-state64"})
  void mamba2PiecesCutAnywhereStayWithinFloat32RoundingOfTheOneShotPass(String mode) throws Exception {
    MambaModel model = MambaModel.load(MambaModelTest.golden("mamba2"), Precision.parse("mode", mode));
    SplittableRandom rnd = new SplittableRandom(8);
    for (int trial = 0; trial < 3; trial++) {
      double[][] got = oneShotAndPieces(model, rnd, 700, 1, trial == 0 ? 3 : 300);
      double error = maxDiff(got[0], got[1]) / scale(got[0]);
      assertTrue(error <= PIECES_RELATIVE_TOLERANCE, "mamba2 " + mode + " pieces, trial " + trial
          + ": relative error " + error);
    }
  }

  /** A long sequence: the float32 state's drift from float64 stays bounded (the recurrence decays). */
  @ParameterizedTest
  @CsvSource({"mamba1, float32", "mamba1, float32-state64", "mamba2, float32", "mamba2, float32-state64"})
  void aLongSequenceStaysWithinTheToleranceOfFloat64(String name, String mode) throws Exception {
    Path dir = MambaModelTest.golden(name);
    MambaModel f64 = MambaModel.load(dir);
    MambaModel f32 = MambaModel.load(dir, Precision.parse("mode", mode));
    SplittableRandom rnd = new SplittableRandom(11);
    int length = 4000;
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = rnd.nextInt(f64.config().vocabSize());
    }
    double[] a = new double[length * f64.vocab()];
    double[] b = new double[length * f64.vocab()];
    f64.forward(tokens, 0, length, f64.newState(), a, 0, null, 0);
    f32.forward(tokens, 0, length, f32.newState(), b, 0, null, 0);
    double error = maxDiff(a, b) / scale(a);
    assertTrue(error <= LOGIT_RELATIVE_TOLERANCE, name + " " + mode + " over " + length + " tokens: relative error "
        + error);
  }

  /**
   * The two-pass path of a sequence cut into blocks scored apart (MambaLongScore's): per layer, each
   * block's summary from its convolution halo, the entering states chained through the summaries
   * in float64, then each block's mixer from its entering states. Within the float32 tolerance of
   * the float64 one-shot logits (measured: mamba1 1.9e-7, mamba2 3.1e-7 with a float32 state and
   * 2.5e-7 with a float64 one; a state chained wrongly is off by O(1)).
   */
  @ParameterizedTest
  @CsvSource({"mamba1, float32", "mamba1, float32-state64", "mamba2, float32", "mamba2, float32-state64"})
  void blocksChainedThroughSummariesStayWithinTheToleranceOfFloat64(String name, String mode) throws Exception {
    Path dir = MambaModelTest.golden(name);
    MambaModel f64 = MambaModel.load(dir);
    MambaModel model = MambaModel.load(dir, Precision.parse("mode", mode));
    SplittableRandom rnd = new SplittableRandom(13);
    int[] cuts = {0, 137, 150, 400, 601};
    int length = cuts[cuts.length - 1];
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = rnd.nextInt(model.config().vocabSize());
    }
    double[] reference = new double[length * model.vocab()];
    f64.forward(tokens, 0, length, f64.newState(), reference, 0, null, 0);

    int dm = model.dModel();
    int blocks = cuts.length - 1;
    double[][] residual = new double[blocks][];
    double[][] hidden = new double[blocks][];
    for (int b = 0; b < blocks; b++) {
      int rows = cuts[b + 1] - cuts[b];
      residual[b] = new double[rows * dm];
      hidden[b] = new double[rows * dm];
      model.embed(tokens, cuts[b], rows, hidden[b]);
    }
    for (int layer = 0; layer < model.layers(); layer++) {
      double[][] normed = new double[blocks][];
      double[][] conv = new double[blocks][];
      for (int b = 0; b < blocks; b++) {
        int rows = cuts[b + 1] - cuts[b];
        normed[b] = new double[rows * dm];
        model.layerInput(layer, residual[b], hidden[b], rows, normed[b]);
        for (int k = 0; k < rows * dm; k++) {
          residual[b][k] += hidden[b][k];
        }
        conv[b] = b == 0 ? model.convStateAfter(layer, new double[0], 0)
            : model.convStateAfter(layer, normed[b - 1], cuts[b] - cuts[b - 1]);
      }
      double[] ssm = new double[model.layerStateSize(layer)];
      for (int b = 0; b < blocks; b++) {
        int rows = cuts[b + 1] - cuts[b];
        double[] entering = ssm.clone();
        model.summarizeLayer(layer, normed[b], rows, conv[b]).applyTo(ssm);
        model.mixLayer(layer, normed[b], rows, conv[b], entering, hidden[b]);
      }
    }
    double[] logits = new double[length * model.vocab()];
    for (int b = 0; b < blocks; b++) {
      int rows = cuts[b + 1] - cuts[b];
      double[] blockLogits = new double[rows * model.vocab()];
      model.head(residual[b], hidden[b], rows, new double[rows * dm], blockLogits);
      System.arraycopy(blockLogits, 0, logits, cuts[b] * model.vocab(), blockLogits.length);
    }
    double error = maxDiff(reference, logits) / scale(reference);
    assertTrue(error <= LOGIT_RELATIVE_TOLERANCE, name + " " + mode + " in blocks: relative error " + error);
  }

  @Test
  void precisionNamesParseAndOthersFailNamingTheSetting() {
    assertEquals(Precision.FLOAT64, Precision.parse("p", "float64"));
    assertEquals(Precision.FLOAT32, Precision.parse("p", "Float32"));
    assertEquals(Precision.FLOAT32_STATE64, Precision.parse("p", "float32-state64"));
    String message = assertThrows(IllegalArgumentException.class, () -> Precision.parse("--precision", "fp16"))
        .getMessage();
    assertEquals("--precision: expected float64, float32 or float32-state64, got 'fp16'", message);
  }
}
