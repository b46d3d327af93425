package org.sparkssm.mamba;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.nn.AdamW;
import org.sparkssm.nn.GradientCheck;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.testing.Tolerances;
import org.sparkssm.weights.Safetensors;
import org.sparkssm.weights.SafetensorsWriter;

/**
 * The trainable Mamba LM: its forward against {@link MambaModel} on the same checkpoint, every
 * tensor's gradient against central differences and against an independent PyTorch float64
 * autograd reference (golden/mamba_grad, {@code src/test/python/mamba_grad_reference.py}), and a
 * fine-tune whose saved checkpoint {@link MambaModel} loads back.
 */
class MambaLmTrainerTest {
  /** The golden loss, logits and gradients: float64 on both sides, a few hundred operations deep. */
  private static final Tolerances.Tolerance GOLDEN = new Tolerances.Tolerance(1e-9, 1e-9);

  @TempDir
  Path tmp;

  /**
   * A random float64 checkpoint in mamba_ssm's layout, every tensor off its initialization (so no
   * gradient is degenerate): Δ = softplus(δ + bias) spans about 0.01 to 5.
   *
   * @param headInFile write {@code lm_head.weight} (untied configs always do)
   */
  static Path checkpoint(Path dir, int dm, int layers, int vocab, int dState, int dConv, int rank, boolean rms,
      boolean tie, boolean headInFile, long seed) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("config.json"), String.format(Locale.ROOT,
        "{\"d_model\": %d, \"n_layer\": %d, \"vocab_size\": %d, \"pad_vocab_size_multiple\": 8, \"rms_norm\": %s, "
            + "\"tie_embeddings\": %s, \"ssm_cfg\": {\"layer\": \"Mamba1\", \"d_state\": %d, \"d_conv\": %d, "
            + "\"expand\": 2, \"dt_rank\": %d}}",
        dm, layers, vocab, rms, tie, dState, dConv, rank));
    SplittableRandom rnd = new SplittableRandom(seed);
    int padded = (vocab + 7) / 8 * 8;
    int di = 2 * dm;
    SafetensorsWriter out = new SafetensorsWriter();
    add(out, "backbone.embedding.weight", rnd, 0, 1, padded, dm);
    for (int i = 0; i < layers; i++) {
      String p = "backbone.layers." + i + ".";
      add(out, p + "mixer.in_proj.weight", rnd, 0, 1 / Math.sqrt(dm), 2 * di, dm);
      add(out, p + "mixer.conv1d.weight", rnd, 0, 0.5, di, 1, dConv);
      add(out, p + "mixer.conv1d.bias", rnd, 0, 0.2, di);
      add(out, p + "mixer.x_proj.weight", rnd, 0, 1 / Math.sqrt(di), rank + 2 * dState, di);
      add(out, p + "mixer.dt_proj.weight", rnd, 0, 1 / Math.sqrt(rank), di, rank);
      add(out, p + "mixer.dt_proj.bias", rnd, -1, 1.5, di);
      double[] aLog = new double[di * dState];
      for (int k = 0; k < aLog.length; k++) {
        aLog[k] = Math.log(1 + k % dState) + 0.3 * rnd.nextGaussian();
      }
      out.add(p + "mixer.A_log", Safetensors.DType.F64, aLog, 0, di, dState);
      add(out, p + "mixer.D", rnd, 1, 0.3, di);
      add(out, p + "mixer.out_proj.weight", rnd, 0, 1 / Math.sqrt(di), dm, di);
      add(out, p + "norm.weight", rnd, 1, 0.2, dm);
      if (!rms) {
        add(out, p + "norm.bias", rnd, 0, 0.2, dm);
      }
    }
    add(out, "backbone.norm_f.weight", rnd, 1, 0.2, dm);
    if (!rms) {
      add(out, "backbone.norm_f.bias", rnd, 0, 0.2, dm);
    }
    if (headInFile || !tie) {
      add(out, "lm_head.weight", rnd, 0, 1 / Math.sqrt(dm), padded, dm);
    }
    out.write(dir.resolve("model.safetensors"));
    return dir;
  }

  private static void add(SafetensorsWriter out, String name, SplittableRandom rnd, double mean, double scale,
      long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    double[] v = new double[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = mean + scale * rnd.nextGaussian();
    }
    out.add(name, Safetensors.DType.F64, v, 0, shape);
  }

  private static int[] randomTokens(SplittableRandom rnd, int n, int vocab) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = rnd.nextInt(vocab);
    }
    return t;
  }

  /** The mean next-token cross-entropy of the first len - 1 rows of logits, written plainly. */
  private static double crossEntropy(double[] logits, int vocab, int[] tokens, int len) {
    double sum = 0;
    for (int t = 0; t < len - 1; t++) {
      double z = 0;
      for (int k = 0; k < vocab; k++) {
        z += Math.exp(logits[t * vocab + k]);
      }
      sum += Math.log(z) - logits[t * vocab + tokens[t + 1]];
    }
    return sum / (len - 1);
  }

  /** (a) Logits and loss equal the inference model's, for RMSNorm / LayerNorm and tied / untied heads. */
  @Test
  void forwardEqualsTheInferenceModel() throws IOException {
    SplittableRandom rnd = new SplittableRandom(41);
    // {rms, tie, lm_head in the file}: the last is a tied config with a head tensor, read untied by both.
    boolean[][] cases = {{true, true, false}, {true, false, true}, {false, true, false}, {false, false, true},
        {true, true, true}};
    for (int c = 0; c < cases.length; c++) {
      boolean rms = cases[c][0];
      boolean tie = cases[c][1];
      Path dir = checkpoint(tmp.resolve("fwd" + c), 8, 2, 13, 4, 4, 2, rms, tie, cases[c][2], 100 + c);
      MambaModel model = MambaModel.load(dir);
      MambaLmTrainer lm = MambaLmTrainer.load(dir);
      boolean untied = lm.layout().tensors().stream().anyMatch(t -> t.name().equals("lm_head.weight"));
      assertEquals(!tie || cases[c][2], untied, "case " + c);
      assertEquals(rms ? 0 : 3, lm.layout().tensors().stream().filter(t -> t.name().endsWith("norm.bias")
          || t.name().endsWith("norm_f.bias")).count(), "case " + c);
      for (int len : new int[] {1, 2, 17}) {
        int[] tokens = randomTokens(rnd, len, 13);
        double[] expected = new double[len * model.vocab()];
        model.forward(tokens, 0, len, model.newState(), expected, 0, null, 0);
        double[] got = new double[len * lm.vocab()];
        lm.logits(lm.weights(), tokens, 0, len, got, 0);
        String what = String.format(Locale.ROOT, "case %d (rms %s, tie %s) L=%d", c, rms, tie, len);
        Tolerances.assertClose(what + " logits", expected, got, Tolerances.F64);
        if (len >= 2) {
          Tolerances.assertClose(what + " loss", crossEntropy(expected, model.vocab(), tokens, len),
              lm.loss(tokens, 0, len), Tolerances.F64);
        }
      }
      // A slice from an offset: the same as the tokens alone.
      int[] tokens = randomTokens(rnd, 12, 13);
      int[] slice = java.util.Arrays.copyOfRange(tokens, 3, 10);
      assertEquals(lm.loss(slice, 0, 7), lm.loss(tokens, 3, 7), 0.0);
    }
  }

  /**
   * (b) Every tensor's gradient against central differences of {@link MambaLmTrainer#loss} (a
   * sample of indices per tensor; all of the embedding's), on a tiny model: d_model 6, 2 layers,
   * vocabulary 11 (16 padded), 1, 2 and 9 predicted positions (2, 3 and 10 tokens).
   */
  @Test
  void everyGradientMatchesFiniteDifferences() throws IOException {
    SplittableRandom rnd = new SplittableRandom(42);
    boolean[][] cases = {{true, true}, {false, false}};
    for (int c = 0; c < cases.length; c++) {
      Path dir = checkpoint(tmp.resolve("grad" + c), 6, 2, 11, 3, 4, 2, cases[c][0], cases[c][1], false, 200 + c);
      MambaLmTrainer lm = MambaLmTrainer.load(dir);
      double[] w = lm.weights();
      for (int tokensLength : new int[] {2, 3, 10}) {
        int[] tokens = randomTokens(rnd, tokensLength, 11);
        double[] gw = new double[w.length];
        double loss = lm.lossAndGradient(w, tokens, 0, tokensLength, gw);
        assertEquals(lm.loss(tokens, 0, tokensLength), loss, 0.0, "the same loss with or without the gradient");
        String what = "rms " + cases[c][0] + " tie " + cases[c][1] + " tokens " + tokensLength;
        for (ParameterLayout.Tensor t : lm.layout().tensors()) {
          double[] values = java.util.Arrays.copyOfRange(w, t.offset(), t.offset() + t.size());
          double[] analytic = java.util.Arrays.copyOfRange(gw, t.offset(), t.offset() + t.size());
          DoubleSupplier f = () -> {
            System.arraycopy(values, 0, w, t.offset(), t.size());
            return lm.loss(tokens, 0, tokensLength);
          };
          int checks = t.name().equals("backbone.embedding.weight") ? t.size() : 24;
          GradientCheck.check(what + " " + t.name(), values, analytic, f, checks, rnd);
          System.arraycopy(values, 0, w, t.offset(), t.size());
        }
        // Gradients accumulate.
        double[] twice = gw.clone();
        lm.lossAndGradient(w, tokens, 0, tokensLength, twice);
        for (int i = 0; i < gw.length; i++) {
          assertEquals(2 * gw[i], twice[i], 1e-12 * (1 + Math.abs(gw[i])), what + " accumulated gradient " + i);
        }
      }
    }
  }

  static Path golden(String name) throws Exception {
    return Paths.get(MambaLmTrainerTest.class.getResource("/golden/mamba_grad/" + name + "/config.json").toURI())
        .getParent();
  }

  /** (c) Loss, logits and every tensor's gradient equal PyTorch float64 autograd's. */
  @Test
  void lossAndGradientsEqualThePyTorchReference() throws Exception {
    for (String name : new String[] {"tied_rmsnorm", "untied_layernorm"}) {
      Path dir = golden(name);
      Safetensors expected = Safetensors.open(dir.resolve("expected.safetensors"));
      double[] tokenValues = expected.read("tokens");
      int[] tokens = new int[tokenValues.length];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = (int) tokenValues[i];
      }
      MambaLmTrainer lm = MambaLmTrainer.load(dir);
      double[] gw = new double[lm.layout().size()];
      double loss = lm.lossAndGradient(lm.weights(), tokens, 0, tokens.length, gw);
      Tolerances.assertClose(name + " loss", expected.read("loss")[0], loss, GOLDEN);
      double[] logits = new double[tokens.length * lm.vocab()];
      lm.logits(lm.weights(), tokens, 0, tokens.length, logits, 0);
      Tolerances.assertClose(name + " logits", expected.read("logits"), logits, GOLDEN);
      double[] inference = new double[logits.length];
      MambaModel.load(dir).forward(tokens, 0, tokens.length, MambaModel.load(dir).newState(), inference, 0, null, 0);
      Tolerances.assertClose(name + " MambaModel logits", expected.read("logits"), inference, GOLDEN);
      Safetensors model = Safetensors.open(dir.resolve("model.safetensors"));
      List<String> names = new ArrayList<>();
      for (ParameterLayout.Tensor t : lm.layout().tensors()) {
        names.add(t.name());
        double[] g = java.util.Arrays.copyOfRange(gw, t.offset(), t.offset() + t.size());
        Tolerances.assertClose(name + " gradient of " + t.name(), expected.read("grad." + t.name()), g, GOLDEN);
      }
      assertEquals(new java.util.HashSet<>(model.names()), new java.util.HashSet<>(names), name + ": every tensor");
    }
  }

  /**
   * (d) A few AdamW steps lower the loss on a repeated pattern; the saved checkpoint loads back in
   * {@link MambaModel} (and here) with the trained weights' logits, exactly in F64, to float32
   * rounding in F32.
   */
  @Test
  void fineTuneLowersTheLossAndSavesACheckpointMambaModelReads() throws IOException {
    Path dir = checkpoint(tmp.resolve("base"), 8, 2, 11, 4, 4, 1, true, true, false, 300);
    MambaLmTrainer lm = MambaLmTrainer.load(dir);
    double[] before = lm.weights().clone();
    int[] tokens = new int[24];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 1 + i % 5;
    }
    AdamW opt = AdamW.standard(lm.layout(), 0.01);
    double[] gw = new double[lm.layout().size()];
    double first = lm.loss(tokens, 0, tokens.length);
    double last = first;
    for (int step = 0; step < 20; step++) {
      java.util.Arrays.fill(gw, 0.0);
      last = lm.lossAndGradient(lm.weights(), tokens, 0, tokens.length, gw);
      opt.step(lm.weights(), gw, 0.02);
    }
    last = lm.loss(tokens, 0, tokens.length);
    assertTrue(last < 0.5 * first, "loss " + first + " -> " + last);

    Path saved = tmp.resolve("tuned");
    lm.save(saved);
    assertEquals(Files.readString(dir.resolve("config.json")), Files.readString(saved.resolve("config.json")));
    Safetensors st = Safetensors.open(saved.resolve("model.safetensors"));
    assertEquals(Safetensors.open(dir.resolve("model.safetensors")).names().stream().sorted().toList(),
        st.names().stream().sorted().toList(), "the checkpoint's tensor names");
    MambaModel model = MambaModel.load(saved);
    double[] expected = new double[tokens.length * lm.vocab()];
    lm.logits(lm.weights(), tokens, 0, tokens.length, expected, 0);
    double[] got = new double[expected.length];
    model.forward(tokens, 0, tokens.length, model.newState(), got, 0, null, 0);
    Tolerances.assertClose("saved F64 checkpoint's logits", expected, got, Tolerances.F64);
    double[] untrained = new double[expected.length];
    MambaModel.load(dir).forward(tokens, 0, tokens.length, model.newState(), untrained, 0, null, 0);
    assertTrue(Math.abs(untrained[0] - got[0]) + Math.abs(untrained[5] - got[5]) > 1e-3, "the weights moved");
    assertArrayEquals(lm.weights(), MambaLmTrainer.load(saved).weights(), 0.0, "F64 saves exactly");
    assertTrue(!java.util.Arrays.equals(before, lm.weights()));

    Path f32 = tmp.resolve("tuned-f32");
    lm.save(f32, Safetensors.DType.F32);
    MambaModel rounded = MambaModel.load(f32);
    rounded.forward(tokens, 0, tokens.length, rounded.newState(), got, 0, null, 0);
    Tolerances.assertClose("saved F32 checkpoint's logits", expected, got, Tolerances.F32);
    lm.save(saved); // over an existing checkpoint
    try (java.util.stream.Stream<Path> files = Files.list(saved)) {
      assertEquals(2, files.count(), "no temporary files left");
    }
  }

  @Test
  void rejectsMamba2AndBadArguments() throws Exception {
    Path mamba2 = Paths.get(MambaLmTrainerTest.class.getResource("/golden/mamba/mamba2/config.json").toURI())
        .getParent();
    String m2 = assertThrows(IllegalArgumentException.class, () -> MambaLmTrainer.load(mamba2)).getMessage();
    assertTrue(m2.contains("Mamba2") && m2.contains("config.json") && m2.contains("Mamba1"), m2);

    Path dir = checkpoint(tmp.resolve("bad"), 6, 1, 11, 3, 4, 1, true, true, false, 400);
    MambaLmTrainer lm = MambaLmTrainer.load(dir);
    double[] gw = new double[lm.layout().size()];
    String one = assertThrows(IllegalArgumentException.class,
        () -> lm.lossAndGradient(lm.weights(), new int[] {1}, 0, 1, gw)).getMessage();
    assertTrue(one.contains("at least 2 tokens"), one);
    String token = assertThrows(IllegalArgumentException.class, () -> lm.loss(new int[] {1, 2, 16}, 0, 3))
        .getMessage();
    assertTrue(token.contains("index 2") && token.contains("16"), token);
    String size = assertThrows(IllegalArgumentException.class,
        () -> lm.lossAndGradient(lm.weights(), new int[] {1, 2}, 0, 2, new double[3])).getMessage();
    assertTrue(size.contains("gw"), size);

    // A tensor the config does not expect (a second layer) is rejected naming it.
    Path extra = checkpoint(tmp.resolve("extra"), 6, 2, 11, 3, 4, 1, true, true, false, 401);
    Files.writeString(extra.resolve("config.json"),
        Files.readString(extra.resolve("config.json")).replace("\"n_layer\": 2", "\"n_layer\": 1"));
    String unexpected = assertThrows(IllegalArgumentException.class, () -> MambaLmTrainer.load(extra)).getMessage();
    assertTrue(unexpected.contains("unexpected tensor 'backbone.layers.1."), unexpected);
  }
}
