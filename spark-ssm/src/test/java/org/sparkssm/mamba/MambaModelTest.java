package org.sparkssm.mamba;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.sparkssm.nn.Precision;
import org.sparkssm.weights.Safetensors;

/**
 * Golden parity of the Mamba and Mamba-2 models with the independent float64 reference
 * ({@code src/test/python/mamba_reference.py}, golden/mamba/README.md), and chunked recurrent
 * inference equal to the one-shot forward pass.
 */
class MambaModelTest {
  /** Both sides compute in float64 from the same float32 weights: only summation order differs. */
  static final double LOGIT_TOLERANCE = 1e-9;

  @TempDir
  Path tmp;

  static Path golden(String name) throws Exception {
    return Paths.get(MambaModelTest.class.getResource("/golden/mamba/" + name + "/config.json").toURI()).getParent();
  }

  static int[] tokens(Safetensors expected) throws Exception {
    double[] t = expected.read("tokens");
    int[] out = new int[t.length];
    for (int i = 0; i < t.length; i++) {
      out[i] = (int) t[i];
    }
    return out;
  }

  private static void assertClose(double[] expected, double[] got, double tolerance, String what) {
    assertEquals(expected.length, got.length, what + " length");
    double worst = 0;
    int at = -1;
    for (int i = 0; i < got.length; i++) {
      double d = Math.abs(expected[i] - got[i]);
      if (!(d <= worst)) {
        worst = d;
        at = i;
      }
    }
    assertTrue(worst <= tolerance, String.format("%s: max |diff| %.3g at %d (expected %.17g, got %.17g)", what, worst,
        at, at < 0 ? 0 : expected[at], at < 0 ? 0 : got[at]));
  }

  @ParameterizedTest
  @ValueSource(strings = {"mamba1", "mamba2"})
  void logitsAndHiddenStatesEqualTheFloat64Reference(String name) throws Exception {
    Path dir = golden(name);
    MambaModel model = MambaModel.load(dir);
    Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"));
    int[] tokens = tokens(expected);
    double[] logits = new double[tokens.length * model.vocab()];
    double[] hidden = new double[tokens.length * model.dModel()];
    model.forward(tokens, 0, tokens.length, model.newState(), logits, 0, hidden, 0);
    assertClose(expected.read("logits"), logits, LOGIT_TOLERANCE, name + " logits");
    assertClose(expected.read("hidden"), hidden, LOGIT_TOLERANCE, name + " hidden");
  }

  @ParameterizedTest
  @ValueSource(strings = {"mamba1", "mamba2"})
  void piecesWithACarriedStateEqualTheOneShotPass(String name) throws Exception {
    MambaModel model = MambaModel.load(golden(name));
    SplittableRandom rnd = new SplittableRandom(name.hashCode());
    int length = 700; // crosses the internal chunk of 256 tokens
    int[] tokens = new int[length];
    for (int i = 0; i < length; i++) {
      tokens[i] = rnd.nextInt(model.config().vocabSize());
    }
    double[] oneShot = new double[length * model.vocab()];
    MambaModel.State whole = model.newState();
    model.forward(tokens, 0, length, whole, oneShot, 0, null, 0);
    for (int trial = 0; trial < 3; trial++) {
      double[] pieces = new double[length * model.vocab()];
      MambaModel.State state = model.newState();
      int at = 0;
      while (at < length) {
        int n = Math.min(length - at, 1 + rnd.nextInt(trial == 0 ? 3 : 300)); // pieces of 1..3, then up to 300
        model.forward(tokens, at, n, state, pieces, at * model.vocab(), null, 0);
        at += n;
      }
      assertEquals(length, state.position());
      // Same kernels, same per-step arithmetic, whatever the cuts: equal to rounding.
      assertClose(oneShot, pieces, 1e-10, name + " pieces, trial " + trial);
    }
    MambaModel.State copy = whole.copy();
    double[] a = new double[model.vocab()];
    double[] b = new double[model.vocab()];
    model.forward(new int[] {3}, 0, 1, whole, a, 0, null, 0);
    model.forward(new int[] {3}, 0, 1, copy, b, 0, null, 0);
    assertClose(a, b, 0.0, "a copied state continues identically");
  }

  /** Several sequences in one call (one pass over the weights per round) equal each scored alone. */
  @ParameterizedTest
  @ValueSource(strings = {"mamba1", "mamba2"})
  void aBatchOfSequencesEqualsEachScoredAlone(String name) throws Exception {
    for (Precision precision : new Precision[] {Precision.FLOAT64, Precision.FLOAT32, Precision.FLOAT32_STATE64}) {
      MambaModel model = MambaModel.load(golden(name), precision);
      SplittableRandom rnd = new SplittableRandom(5);
      int[] lengths = {17, 0, 300, 1, 90, 256, 40, 700, 5};
      int[][] tokens = new int[lengths.length][];
      MambaModel.State[] states = new MambaModel.State[lengths.length];
      double[][] logits = new double[lengths.length][];
      double[][] hidden = new double[lengths.length][];
      for (int s = 0; s < lengths.length; s++) {
        tokens[s] = new int[lengths[s]];
        for (int i = 0; i < lengths[s]; i++) {
          tokens[s][i] = rnd.nextInt(model.config().vocabSize());
        }
        states[s] = model.newState();
        if (s % 3 == 1) { // a sequence that resumes from an earlier call
          model.forward(new int[] {1, 2, 3}, 0, 3, states[s], null, 0, null, 0);
        }
        logits[s] = new double[lengths[s] * model.vocab()];
        hidden[s] = s == 2 ? null : new double[lengths[s] * model.dModel()];
      }
      MambaModel.State[] alone = new MambaModel.State[lengths.length];
      for (int s = 0; s < lengths.length; s++) {
        alone[s] = states[s].copy();
      }
      model.forward(tokens, states, logits, hidden);
      for (int s = 0; s < lengths.length; s++) {
        double[] l = new double[lengths[s] * model.vocab()];
        double[] h = new double[lengths[s] * model.dModel()];
        model.forward(tokens[s], 0, lengths[s], alone[s], l, 0, h, 0);
        assertEquals(alone[s].position(), states[s].position(), "position of sequence " + s);
        // The rounds cut sequences elsewhere than a call of their own: equal to rounding, as pieces
        // are (float32 rounding for a float32 Mamba-2, whose SSD blocks start where a round cuts).
        double rel = name.equals("mamba2") && precision != Precision.FLOAT64
            ? MambaPrecisionTest.PIECES_RELATIVE_TOLERANCE : 0;
        assertClose(l, logits[s], Math.max(1e-10, rel * MambaPrecisionTest.scale(l)),
            name + " " + precision + " logits of sequence " + s);
        if (hidden[s] != null) {
          assertClose(h, hidden[s], Math.max(1e-10, rel * MambaPrecisionTest.scale(h)),
              name + " " + precision + " hidden of sequence " + s);
        }
        double[] nextA = new double[model.vocab()];
        double[] nextB = new double[model.vocab()];
        model.forward(new int[] {4}, 0, 1, alone[s], nextA, 0, null, 0);
        model.forward(new int[] {4}, 0, 1, states[s], nextB, 0, null, 0);
        assertClose(nextA, nextB, Math.max(1e-10, rel * MambaPrecisionTest.scale(nextA)),
            name + " " + precision + " state after sequence " + s);
      }
    }
    MambaModel model = MambaModel.load(golden(name));
    String mismatch = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[2][], 
        new MambaModel.State[1], null, null)).getMessage();
    assertTrue(mismatch.contains("expected one per sequence (2), got 1"), mismatch);
    String token = assertThrows(IllegalArgumentException.class, () -> model.forward(new int[][] {{1}, {2, 999}},
        new MambaModel.State[] {model.newState(), model.newState()}, null, null)).getMessage();
    assertTrue(token.startsWith("sequence 1: token at position 1") && token.contains("999"), token);
  }

  @ParameterizedTest
  @ValueSource(strings = {"mamba1"})
  void badTokensAndConfigsAreRejectedNamingWhatIsWrong(String name) throws Exception {
    MambaModel model = MambaModel.load(golden(name));
    String token = assertThrows(IllegalArgumentException.class,
        () -> model.forward(new int[] {1, 2, 99}, 0, 3, model.newState(), null, 0, null, 0)).getMessage();
    assertTrue(token.contains("position 2") && token.contains("99"), token);

    Path dir = Files.createDirectories(tmp.resolve("wrong-config"));
    Files.copy(golden(name).resolve("model.safetensors"), dir.resolve("model.safetensors"));
    String config = Files.readString(golden(name).resolve("config.json"));
    Files.writeString(dir.resolve("config.json"), config.replace("\"n_layer\": 2", "\"n_layer\": 1"));
    String extra = assertThrows(IllegalArgumentException.class, () -> MambaModel.load(dir)).getMessage();
    assertTrue(extra.contains("unexpected tensor 'backbone.layers.1.") && extra.contains("model.safetensors"), extra);
    Files.writeString(dir.resolve("config.json"), config.replace("\"n_layer\": 2", "\"n_layer\": 3"));
    String missing = assertThrows(IllegalArgumentException.class, () -> MambaModel.load(dir)).getMessage();
    assertTrue(missing.contains("'backbone.layers.2.norm.weight'"), missing);
    Files.writeString(dir.resolve("config.json"), config.replace("\"d_state\": 4", "\"d_state\": 8"));
    String shape = assertThrows(IllegalArgumentException.class, () -> MambaModel.load(dir)).getMessage();
    assertTrue(shape.contains("expected shape [32, 8], got [32, 4]") && shape.contains("mixer.A_log"), shape);
    Files.writeString(dir.resolve("config.json"), config.replace("\"Mamba1\"", "\"Mamba3\""));
    String layer = assertThrows(IllegalArgumentException.class, () -> MambaModel.load(dir)).getMessage();
    assertTrue(layer.contains("config.json") && layer.contains("Mamba3"), layer);
  }
}
