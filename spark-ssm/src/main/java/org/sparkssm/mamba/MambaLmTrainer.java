package org.sparkssm.mamba;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparkssm.Checks;
import org.sparkssm.nn.MambaBlock;
import org.sparkssm.nn.MatMul;
import org.sparkssm.nn.Norm;
import org.sparkssm.nn.ParameterLayout;
import org.sparkssm.weights.Safetensors;
import org.sparkssm.weights.SafetensorsWriter;

/**
 * The trainable twin of {@link MambaModel} for Mamba (Mamba1) checkpoints: the same network, with
 * every tensor of the checkpoint in one {@link ParameterLayout} under the checkpoint's own names
 * and shapes ({@code backbone.embedding.weight}, {@code backbone.layers.{i}.norm.weight} [+
 * {@code .bias} for LayerNorm configs], {@code backbone.layers.{i}.mixer.*} as
 * {@link MambaBlock}, {@code backbone.norm_f.weight} [+ {@code .bias}], and {@code lm_head.weight}
 * when the head is untied), a next-token cross-entropy and its gradient with respect to all of
 * them:
 *
 * <pre>
 *   R_0 = embedding[tokens];  R_{i+1} = R_i + mixer_i(norm_i(R_i));  logits = norm_f(R_L) · headᵀ
 *   loss = mean_{t < len-1} ( logsumexp(logits[t]) - logits[t, tokens[t+1]] )    (over the padded vocabulary)
 * </pre>
 *
 * The head is the embedding when {@code tie_embeddings} holds and the file has no
 * {@code lm_head.weight} (as {@link MambaModel#load}: a file with that tensor is read untied), so a
 * tied head's gradient adds onto the embedding's. Only the first {@code len - 1} positions are run
 * for the loss: the last token is only a target, and the model is causal.
 *
 * <p>Backward: the head ({@code dF = dlogits · head}, {@code g_head += dlogitsᵀ F}), norm_f, then
 * per layer from the top {@code g_{R_i} = g_{R_{i+1}} + norm_i'(mixer_i'(g_{R_{i+1}}))}, and the
 * embedding rows of the tokens {@code += g_{R_0}}. Activations live in one workspace, allocated for
 * the longest sequence seen and reused (no allocation per step), so an instance is not thread-safe.
 *
 * <p>Mamba-2 checkpoints are rejected naming the layer type (no Mamba-2 backward here);
 * {@link MambaModel} runs them for inference.
 */
public final class MambaLmTrainer {
  /** Steps between the states the selective scan keeps for its backward. */
  static final int SCAN_CHUNK = 64;

  private final MambaConfig config;
  private final String configJson;
  private final ParameterLayout layout;
  private final int embedding;
  private final int head; // the embedding's offset when tied
  private final Norm[] norms;
  private final MambaBlock[] mixers;
  private final Norm normF;
  private final double[] w;
  private Workspace ws;

  private MambaLmTrainer(MambaConfig config, String configJson, boolean untiedHead) {
    this.config = config;
    this.configJson = configJson;
    int dm = config.dModel;
    layout = new ParameterLayout();
    embedding = layout.add("backbone.embedding.weight", config.paddedVocab, dm);
    norms = new Norm[config.nLayer];
    mixers = new MambaBlock[config.nLayer];
    for (int i = 0; i < config.nLayer; i++) {
      String p = "backbone.layers." + i + ".";
      norms[i] = norm(layout, p + "norm", config);
      mixers[i] = new MambaBlock(layout, p + "mixer.", dm, config.dInner, config.dState, config.dtRank, config.dConv,
          SCAN_CHUNK);
    }
    normF = norm(layout, "backbone.norm_f", config);
    head = untiedHead ? layout.add("lm_head.weight", config.paddedVocab, dm) : embedding;
    layout.freeze();
    w = new double[layout.size()];
  }

  private static Norm norm(ParameterLayout layout, String name, MambaConfig c) {
    return c.rmsNorm ? Norm.rmsNorm(layout, name, c.dModel, MambaModel.NORM_EPS)
        : Norm.layerNorm(layout, name, c.dModel, MambaModel.NORM_EPS);
  }

  /**
   * Loads {@code dir/config.json} and {@code dir/model.safetensors} (any dtype the reader takes,
   * widened to float64). Errors name the file and the tensor: a missing tensor, a wrong shape, a
   * tensor the config does not expect, or a Mamba-2 config.
   */
  public static MambaLmTrainer load(Path dir) throws IOException {
    Checks.notNull("dir", dir);
    Path configFile = dir.resolve("config.json");
    MambaConfig c = MambaConfig.read(configFile);
    if (c.layer != MambaConfig.Layer.MAMBA1) {
      throw new IllegalArgumentException(configFile + ": ssm_cfg.layer Mamba2: training supports Mamba1 layers only"
          + " (no Mamba-2 backward); MambaModel runs Mamba-2 for inference");
    }
    String json = new String(Files.readAllBytes(configFile), StandardCharsets.UTF_8);
    Safetensors st = Safetensors.open(dir.resolve("model.safetensors"));
    MambaLmTrainer m = new MambaLmTrainer(c, json, st.contains("lm_head.weight") || !c.tieEmbeddings);
    java.util.Set<String> expected = new java.util.HashSet<>();
    for (ParameterLayout.Tensor t : m.layout.tensors()) {
      expected.add(t.name());
      long[] shape = new long[t.shape().length];
      for (int k = 0; k < shape.length; k++) {
        shape[k] = t.shape()[k];
      }
      double[] values = st.read(t.name(), shape);
      System.arraycopy(values, 0, m.w, t.offset(), t.size());
    }
    for (String name : st.names()) {
      if (!expected.contains(name)) {
        throw new IllegalArgumentException(st.file() + ": unexpected tensor '" + name + "' for a " + c.layer
            + " model of " + c.nLayer + " layers (a config that disagrees with the tensors?)");
      }
    }
    return m;
  }

  public MambaConfig config() {
    return config;
  }

  /** Every tensor's name, shape and offset in {@link #weights()} and in a gradient array. */
  public ParameterLayout layout() {
    return layout;
  }

  /** The model's own parameters (live, not a copy): what {@link #loss(int[], int, int)} and {@link #save} use. */
  public double[] weights() {
    return w;
  }

  /** Logits per position: the padded vocabulary. */
  public int vocab() {
    return config.paddedVocab;
  }

  /** Mean next-token cross-entropy of {@code tokens[off .. off+len)} under {@link #weights()}. */
  public double loss(int[] tokens, int off, int len) {
    return loss(w, tokens, off, len);
  }

  /** Mean next-token cross-entropy under the parameters {@code w} (laid out as {@link #layout()}). */
  public double loss(double[] w, int[] tokens, int off, int len) {
    checkLossArgs(w, tokens, off, len, null);
    int steps = len - 1;
    forward(w, tokens, off, steps);
    return crossEntropy(tokens, off, steps, false);
  }

  /**
   * The loss under {@code w} (as {@link #loss(double[], int[], int, int)}) and its gradient with
   * respect to every tensor, accumulated ({@code +=}) into {@code gw} (same layout).
   *
   * @throws IllegalArgumentException for fewer than 2 tokens (no target), a token outside
   *     {@code [0, vocab())} (naming its index), or arrays not of the layout's size
   */
  public double lossAndGradient(double[] w, int[] tokens, int off, int len, double[] gw) {
    checkLossArgs(w, tokens, off, len, gw);
    int steps = len - 1;
    forward(w, tokens, off, steps);
    double loss = crossEntropy(tokens, off, steps, true);
    backward(w, gw, tokens, off, steps);
    return loss;
  }

  /**
   * The logits of every position of {@code tokens[off .. off+len)} under {@code w}
   * ({@code len × vocab()}, from {@code logitsOff}): {@link MambaModel#forward}'s from a fresh state.
   */
  public void logits(double[] w, int[] tokens, int off, int len, double[] logits, int logitsOff) {
    checkWeights("w", w);
    Checks.positive("len", len);
    checkTokens(tokens, off, len);
    Checks.range("logits", logits, logitsOff, (long) len * vocab());
    forward(w, tokens, off, len);
    System.arraycopy(ws.logits, 0, logits, logitsOff, len * vocab());
  }

  /** {@link #save(Path, Safetensors.DType)} in float64: exact. */
  public void save(Path dir) throws IOException {
    save(dir, Safetensors.DType.F64);
  }

  /**
   * Writes {@code dir/config.json} (the checkpoint's, unchanged) and {@code dir/model.safetensors}
   * ({@link #weights()} under the checkpoint's tensor names and shapes, F64 or F32), each
   * atomically; {@link MambaModel#load}, this class and PyTorch's safetensors read them back. The
   * directory is created if absent.
   */
  public void save(Path dir, Safetensors.DType dtype) throws IOException {
    Checks.notNull("dir", dir);
    Files.createDirectories(dir);
    SafetensorsWriter out = new SafetensorsWriter().metadata("format", "pt");
    for (ParameterLayout.Tensor t : layout.tensors()) {
      long[] shape = new long[t.shape().length];
      for (int k = 0; k < shape.length; k++) {
        shape[k] = t.shape()[k];
      }
      out.add(t.name(), dtype, w, t.offset(), shape);
    }
    out.write(dir.resolve("model.safetensors"));
    SafetensorsWriter.writeAtomically(dir.resolve("config.json"), configJson);
  }

  // ---- Internals ----

  private void checkWeights(String name, double[] a) {
    Checks.notNull(name, a);
    Checks.length(name, a, layout.size(), "the layout's size");
  }

  private void checkLossArgs(double[] w, int[] tokens, int off, int len, double[] gw) {
    checkWeights("w", w);
    if (gw != null) {
      checkWeights("gw", gw);
    }
    if (len < 2) {
      Checks.fail("len: expected at least 2 tokens (the first target is the second token), got %d", len);
    }
    checkTokens(tokens, off, len);
  }

  private void checkTokens(int[] tokens, int off, int len) {
    Checks.notNull("tokens", tokens);
    if (off < 0 || len < 0 || (long) off + len > tokens.length) {
      Checks.fail("tokens: expected %d tokens from offset %d, got an array of %d", len, off, tokens.length);
    }
    for (int t = 0; t < len; t++) {
      int token = tokens[off + t];
      if (token < 0 || token >= config.paddedVocab) {
        Checks.fail("token at index %d: expected an id in [0, %d), got %d", t, config.paddedVocab, token);
      }
    }
  }

  private Workspace workspace(int steps) {
    if (ws == null || ws.steps < steps) {
      ws = new Workspace(steps);
    }
    return ws;
  }

  /** Runs {@code steps} positions from {@code tokens[off]}: the residual streams, norms' stats, caches and logits. */
  private void forward(double[] w, int[] tokens, int off, int steps) {
    Workspace s = workspace(steps);
    int dm = config.dModel;
    int n = steps * dm;
    int layers = mixers.length;
    for (int t = 0; t < steps; t++) {
      System.arraycopy(w, embedding + tokens[off + t] * dm, s.res, t * dm, dm);
    }
    for (int i = 0; i < layers; i++) {
      int r = i * s.rowsStride;
      norms[i].forward(w, s.res, r, steps, s.normed, 0, s.stats, i * s.statsStride);
      mixers[i].forward(w, s.normed, 0, 1, steps, s.mixed, 0, s.caches[i]);
      int next = r + s.rowsStride;
      for (int k = 0; k < n; k++) {
        s.res[next + k] = s.res[r + k] + s.mixed[k];
      }
    }
    normF.forward(w, s.res, layers * s.rowsStride, steps, s.fin, 0, s.stats, layers * s.statsStride);
    MatMul.xWt(s.fin, 0, steps, dm, w, head, config.paddedVocab, s.logits, 0);
  }

  /**
   * The mean cross-entropy of the logits in the workspace against the next tokens; with
   * {@code gradient}, overwrites the logits with {@code d loss / d logits}.
   */
  private double crossEntropy(int[] tokens, int off, int steps, boolean gradient) {
    int v = config.paddedVocab;
    double[] logits = ws.logits;
    double sum = 0;
    double scale = 1.0 / steps;
    for (int t = 0; t < steps; t++) {
      int row = t * v;
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < v; k++) {
        max = Math.max(max, logits[row + k]);
      }
      double z = 0;
      for (int k = 0; k < v; k++) {
        z += Math.exp(logits[row + k] - max);
      }
      double lse = max + Math.log(z);
      int target = tokens[off + t + 1];
      sum += lse - logits[row + target];
      if (gradient) {
        for (int k = 0; k < v; k++) {
          logits[row + k] = Math.exp(logits[row + k] - lse) * scale;
        }
        logits[row + target] -= scale;
      }
    }
    return sum * scale;
  }

  /** The backward of the last forward, from {@code d loss / d logits} in the workspace's logits. */
  private void backward(double[] w, double[] gw, int[] tokens, int off, int steps) {
    Workspace s = ws;
    int dm = config.dModel;
    int v = config.paddedVocab;
    int n = steps * dm;
    int layers = mixers.length;
    // Head: logits = F · headᵀ (a tied head's gradient lands on the embedding: the same offset).
    MatMul.accumulateDyTx(s.logits, 0, steps, v, s.fin, 0, dm, gw, head);
    MatMul.dyW(s.logits, 0, steps, v, w, head, dm, s.g, 0);
    normF.backward(w, gw, s.res, layers * s.rowsStride, s.stats, layers * s.statsStride, s.g, 0, steps, s.g, 0);
    for (int i = layers - 1; i >= 0; i--) {
      // g = d loss / d R_{i+1}: it reaches R_i directly and through mixer_i(norm_i(R_i)).
      mixers[i].backward(w, gw, s.g, 0, 1, steps, s.dtmp, 0, s.caches[i]);
      norms[i].backward(w, gw, s.res, i * s.rowsStride, s.stats, i * s.statsStride, s.dtmp, 0, steps, s.dtmp, 0);
      for (int k = 0; k < n; k++) {
        s.g[k] += s.dtmp[k];
      }
    }
    for (int t = 0; t < steps; t++) {
      int e = embedding + tokens[off + t] * dm;
      for (int k = 0; k < dm; k++) {
        gw[e + k] += s.g[t * dm + k];
      }
    }
  }

  /** Activations and scratch for up to {@code steps} positions. */
  private final class Workspace {
    final int steps;
    final int rowsStride; // steps × d_model: one residual stream R_i
    final int statsStride; // steps × 2: one norm's (mean, rstd) per row
    final double[] res; // R_0 .. R_L
    final double[] stats; // the L layer norms' and norm_f's
    final double[] normed;
    final double[] mixed;
    final double[] fin;
    final double[] logits; // then d loss / d logits
    final double[] g;
    final double[] dtmp;
    final MambaBlock.Cache[] caches;

    Workspace(int steps) {
      int dm = config.dModel;
      int layers = mixers.length;
      long rows = (long) steps * Math.max(dm, config.paddedVocab) * (layers + 1);
      if (rows > Integer.MAX_VALUE - 8) {
        Checks.fail("len: %d positions need more than %d doubles per activation array", steps, Integer.MAX_VALUE - 8);
      }
      this.steps = steps;
      this.rowsStride = steps * dm;
      this.statsStride = steps * 2;
      res = new double[(layers + 1) * rowsStride];
      stats = new double[(layers + 1) * statsStride];
      normed = new double[rowsStride];
      mixed = new double[rowsStride];
      fin = new double[rowsStride];
      logits = new double[steps * config.paddedVocab];
      g = new double[rowsStride];
      dtmp = new double[rowsStride];
      caches = new MambaBlock.Cache[layers];
      for (int i = 0; i < layers; i++) {
        caches[i] = mixers[i].newCache(1, steps);
      }
    }
  }
}
