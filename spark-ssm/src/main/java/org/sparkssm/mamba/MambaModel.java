package org.sparkssm.mamba;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.sparkssm.Checks;
import org.sparkssm.nn.MatMul;
import org.sparkssm.nn.PackedLinear;
import org.sparkssm.nn.Precision;
import org.sparkssm.scan.CausalConv1d;
import org.sparkssm.scan.FloatMath;
import org.sparkssm.scan.SelectiveScan;
import org.sparkssm.scan.SsdScan;
import org.sparkssm.state.ChunkSummary;
import org.sparkssm.weights.Safetensors;

/**
 * A Mamba or Mamba-2 language model loaded from a {@code mamba_ssm} checkpoint directory
 * ({@code config.json} + {@code model.safetensors}, the tensor names of {@code MambaLMHeadModel}),
 * run recurrently from the checkpoint's weights, in float64 or in one of the float32 modes of
 * {@link Precision}:
 *
 * <pre>
 *   h = embedding[token]                                          (L, d_model)
 *   per layer:  residual = h + residual;  h = mixer(norm(residual))
 *   hidden = norm_f(h + residual);  logits = hidden · lm_headᵀ     (L, vocab padded)
 * </pre>
 *
 * Mamba mixer: {@code x, z = in_proj(u)}; {@code x = silu(conv1d(x))}; {@code Δ, B, C = x_proj(x)};
 * {@code Δ = softplus(dt_proj(Δ))}; {@code y = selective_scan(x, Δ, A = -exp(A_log), B, C, D) ·
 * silu(z)}; {@code out_proj(y)}. Mamba-2 mixer: {@code z, xBC, dt = in_proj(u)};
 * {@code xBC = silu(conv1d(xBC))}; {@code x, B, C = xBC}; {@code y = SSD(x, softplus(dt + dt_bias),
 * A = -exp(A_log), B, C, D)}; {@code y = RMSNorm_group(y · silu(z))}; {@code out_proj(y)}.
 *
 * <h2>Precision</h2>
 * {@link Precision#FLOAT64} computes everything in float64. In the float32 modes every projection
 * ({@code in_proj}, {@code x_proj}, {@code dt_proj}, {@code out_proj}, the LM head) runs in float32
 * on weights packed at load; the embedding, the residual stream, the layer norms and the causal
 * convolution stay float64. Mamba: the SiLU of the scan input and the selective scan in float32
 * with a float32 state (FLOAT32), or the scan in float64 on the float32 inputs (FLOAT32_STATE64).
 * Mamba-2: the SiLUs of xBC and z and the chunked SSD scan in float32 ({@link SsdScan#scan32}), its
 * state in float32 (FLOAT32) or float64 with the state terms in float64 (FLOAT32_STATE64); the
 * gated norm in float64 on the float32 values, rounded once. States are stored as {@code double[]}
 * in every mode (a float32 state exactly). The float32 arrays of a forward call are reused across
 * its layers and chunks ({@code Scratch}).
 *
 * <p>{@link #forward} scans tokens from a {@link State} (per layer: the convolution's last
 * {@code d_conv - 1} inputs and the SSM state) and leaves the state after them, so a sequence fed in
 * pieces gives the one-shot logits; it works through at most {@link #CHUNK} tokens at a time, so
 * memory does not grow with the sequence. (A float32 Mamba-2 gives the one-shot logits to float32
 * rounding unless the pieces are cut at multiples of {@code chunk_size}: its SSD blocks start where
 * a piece starts.) Immutable and Serializable (a Spark broadcast).
 */
public final class MambaModel implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Tokens per internal step of {@link #forward}: bounds its workspace. */
  public static final int CHUNK = 256;

  static final double NORM_EPS = 1e-5;

  private final MambaConfig config;
  private final Precision precision;
  private final double[] embedding; // (V, d_model)
  private final Projection lmHead; // (V, d_model); the embedding's weights when tied
  private final Norm normF;
  private final Block[] blocks;

  private MambaModel(MambaConfig config, Precision precision, double[] embedding, Projection lmHead, Norm normF,
      Block[] blocks) {
    this.config = config;
    this.precision = precision;
    this.embedding = embedding;
    this.lmHead = lmHead;
    this.normF = normF;
    this.blocks = blocks;
  }

  /** Loads {@code dir/config.json} and {@code dir/model.safetensors} in float64; errors name the file and the tensor. */
  public static MambaModel load(Path dir) throws IOException {
    return load(dir, Precision.FLOAT64);
  }

  /** {@link #load(Path)} computing in {@code precision}. */
  public static MambaModel load(Path dir, Precision precision) throws IOException {
    Checks.notNull("precision", precision);
    MambaConfig c = MambaConfig.read(dir.resolve("config.json"));
    Safetensors st = Safetensors.open(dir.resolve("model.safetensors"));
    Set<String> used = new HashSet<>();
    Weights w = new Weights(st, used);
    int dm = c.dModel;
    double[] embedding = w.get("backbone.embedding.weight", c.paddedVocab, dm);
    double[] lmHead;
    if (st.contains("lm_head.weight") || !c.tieEmbeddings) {
      lmHead = w.get("lm_head.weight", c.paddedVocab, dm);
    } else {
      lmHead = embedding;
    }
    Block[] blocks = new Block[c.nLayer];
    for (int i = 0; i < c.nLayer; i++) {
      String p = "backbone.layers." + i + ".";
      Norm norm = Norm.load(w, p + "norm", c);
      Mixer mixer = c.layer == MambaConfig.Layer.MAMBA1 ? Mamba1.load(w, p + "mixer.", c, precision)
          : Mamba2.load(w, p + "mixer.", c, precision);
      blocks[i] = new Block(norm, mixer);
    }
    Norm normF = Norm.load(w, "backbone.norm_f", c);
    for (String name : st.names()) {
      if (!used.contains(name)) {
        throw new IllegalArgumentException(st.file() + ": unexpected tensor '" + name + "' for a " + c.layer
            + " model of " + c.nLayer + " layers (a config that disagrees with the tensors?)");
      }
    }
    return new MambaModel(c, precision, embedding, Projection.of(lmHead, c.paddedVocab, dm, precision), normF, blocks);
  }

  public MambaConfig config() {
    return config;
  }

  public Precision precision() {
    return precision;
  }

  /** Logits per position: the padded vocabulary. */
  public int vocab() {
    return config.paddedVocab;
  }

  public int dModel() {
    return config.dModel;
  }

  /** A fresh state: every layer's convolution inputs and SSM state at zero (the start of a sequence). */
  public State newState() {
    double[][] conv = new double[blocks.length][];
    double[][] ssm = new double[blocks.length][];
    for (int i = 0; i < blocks.length; i++) {
      conv[i] = new double[blocks[i].mixer.convStateSize()];
      ssm[i] = new double[blocks[i].mixer.ssmStateSize()];
    }
    return new State(conv, ssm, 0);
  }

  /**
   * Runs {@code length} tokens from {@code tokens[off]} on from {@code state}, leaving the state
   * after them. Writes the logits ({@code length × vocab()}, from {@code logitsOff}) and/or the
   * final-norm hidden states ({@code length × dModel()}, from {@code hiddenOff}) where the arrays
   * are not null.
   *
   * @throws IllegalArgumentException naming the position of a token outside {@code [0, vocab())}
   */
  public void forward(int[] tokens, int off, int length, State state, double[] logits, int logitsOff, double[] hidden,
      int hiddenOff) {
    checkForward(config.paddedVocab, config.dModel, tokens, off, length, state, logits, logitsOff, hidden, hiddenOff);
    Workspace ws = new Workspace(Math.min(CHUNK, Math.max(1, length)));
    for (int start = 0; start < length; start += CHUNK) {
      int n = Math.min(CHUNK, length - start);
      chunk(tokens, off + start, n, state, ws);
      if (hidden != null) {
        System.arraycopy(ws.normed, 0, hidden, hiddenOff + start * dModel(), n * dModel());
      }
      if (logits != null) {
        lmHead.apply(ws.normed, 0, n, logits, logitsOff + start * vocab());
      }
      state.position += n;
    }
  }

  /**
   * The argument checks of {@link #forward} for a model of {@code vocab} logits and {@code dModel}
   * hidden units (its device twin makes the same): a token outside the vocabulary fails naming its
   * position in the sequence.
   */
  public static void checkForward(int vocab, int dModel, int[] tokens, int off, int length, State state,
      double[] logits, int logitsOff, double[] hidden, int hiddenOff) {
    Checks.notNull("tokens", tokens);
    Checks.notNull("state", state);
    Checks.nonNegative("length", length);
    if (off < 0 || off + length > tokens.length) {
      Checks.fail("tokens: expected %d tokens from offset %d, got an array of %d", length, off, tokens.length);
    }
    for (int t = 0; t < length; t++) {
      int token = tokens[off + t];
      if (token < 0 || token >= vocab) {
        Checks.fail("token at position %d: expected an id in [0, %d), got %d", state.position + t, vocab, token);
      }
    }
    if (logits != null) {
      Checks.range("logits", logits, logitsOff, (long) length * vocab);
    }
    if (hidden != null) {
      Checks.range("hidden", hidden, hiddenOff, (long) length * dModel);
    }
  }

  private void chunk(int[] tokens, int off, int n, State state, Workspace ws) {
    copyEmbeddings(tokens, off, n, ws.hidden, 0);
    layers(new int[] {0, n}, new State[] {state}, ws);
  }

  /**
   * {@link #forward} of several sequences at once, each from its own state ({@code states[s]},
   * advanced past its tokens): the tokens are packed into rounds of at most {@link #CHUNK} rows, and
   * each layer's projections run once per round over every sequence in it, so short sequences
   * share one pass over the weights. Writes each sequence's logits ({@code tokens[s].length ×
   * vocab()}) and final-norm hidden states into {@code logits[s]} and {@code hidden[s]} where the
   * outer array is not null. Equal to {@link #forward} on each sequence alone.
   */
  public void forward(int[][] tokens, State[] states, double[][] logits, double[][] hidden) {
    Checks.notNull("tokens", tokens);
    Checks.notNull("states", states);
    int k = tokens.length;
    if (states.length != k || (logits != null && logits.length != k) || (hidden != null && hidden.length != k)) {
      Checks.fail("states, logits, hidden: expected one per sequence (%d), got %d, %s, %s", k, states.length,
          logits == null ? "null" : logits.length, hidden == null ? "null" : hidden.length);
    }
    for (int s = 0; s < k; s++) {
      Checks.notNull("tokens[" + s + "]", tokens[s]);
      try {
        checkForward(config.paddedVocab, config.dModel, tokens[s], 0, tokens[s].length, states[s],
            logits == null ? null : logits[s], 0, hidden == null ? null : hidden[s], 0);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("sequence " + s + ": " + e.getMessage(), e);
      }
    }
    int dm = config.dModel;
    int v = vocab();
    Workspace ws = new Workspace(CHUNK);
    double[] roundLogits = logits == null ? null : new double[CHUNK * v];
    int[] done = new int[k];
    int[] seq = new int[k];
    int[] bounds = new int[k + 1];
    int first = 0;
    while (true) {
      while (first < k && done[first] == tokens[first].length) {
        first++;
      }
      int segments = 0;
      int rows = 0;
      for (int s = first; s < k && rows < CHUNK; s++) {
        int n = Math.min(tokens[s].length - done[s], CHUNK - rows);
        if (n > 0) {
          seq[segments] = s;
          bounds[segments] = rows;
          copyEmbeddings(tokens[s], done[s], n, ws.hidden, rows * dm);
          rows += n;
          segments++;
        }
      }
      if (segments == 0) {
        return;
      }
      bounds[segments] = rows;
      State[] in = new State[segments];
      for (int g = 0; g < segments; g++) {
        in[g] = states[seq[g]];
      }
      layers(java.util.Arrays.copyOf(bounds, segments + 1), in, ws);
      if (roundLogits != null) {
        lmHead.apply(ws.normed, 0, rows, roundLogits, 0);
      }
      for (int g = 0; g < segments; g++) {
        int s = seq[g];
        int n = bounds[g + 1] - bounds[g];
        if (hidden != null && hidden[s] != null) {
          System.arraycopy(ws.normed, bounds[g] * dm, hidden[s], done[s] * dm, n * dm);
        }
        if (roundLogits != null && logits[s] != null) {
          System.arraycopy(roundLogits, bounds[g] * v, logits[s], done[s] * v, n * v);
        }
        done[s] += n;
        states[s].position += n;
      }
    }
  }

  /**
   * The layers and the final norm over the embedded rows in {@code ws.hidden}: sequence {@code s}
   * is rows {@code [bounds[s], bounds[s + 1])}, from and advancing {@code states[s]}. Leaves the
   * final-norm hidden states in {@code ws.normed}.
   */
  private void layers(int[] bounds, State[] states, Workspace ws) {
    int dm = config.dModel;
    int n = bounds[bounds.length - 1];
    java.util.Arrays.fill(ws.residual, 0, n * dm, 0.0);
    double[][] conv = new double[states.length][];
    double[][] ssm = new double[states.length][];
    for (int i = 0; i < blocks.length; i++) {
      for (int k = 0; k < n * dm; k++) {
        ws.residual[k] += ws.hidden[k];
      }
      blocks[i].norm.apply(ws.residual, n, ws.normed);
      for (int s = 0; s < states.length; s++) {
        conv[s] = states[s].conv[i];
        ssm[s] = states[s].ssm[i];
      }
      blocks[i].mixer.forward(ws.normed, bounds, ws.hidden, conv, ssm, ws.scratch);
    }
    for (int k = 0; k < n * dm; k++) {
      ws.residual[k] += ws.hidden[k];
    }
    normF.apply(ws.residual, n, ws.normed);
  }

  /**
   * The weights of this model for a device twin that computes this forward
   * ({@code org.sparkssm.gpu.GpuMamba}). The arrays are this model's own, or copies: read them only.
   * A float32 model gives its packed projections widened back (the float32 values, exactly).
   * The view holds no reference to the model, so a cache may key on the model weakly.
   */
  public DeviceWeights deviceWeights() {
    DeviceWeights.Layer[] layers = new DeviceWeights.Layer[blocks.length];
    for (int i = 0; i < blocks.length; i++) {
      Norm norm = blocks[i].norm;
      if (blocks[i].mixer instanceof Mamba1) {
        Mamba1 m = (Mamba1) blocks[i].mixer;
        layers[i] = new DeviceWeights.Layer(norm.weight, norm.bias, m.inProj.weights(), m.conv.weight(), m.conv.bias(),
            m.xProj.weights(), m.dtProj.weights(), m.ssm.a(), m.ssm.dSkip(), m.ssm.deltaBias(), null,
            m.outProj.weights());
      } else {
        Mamba2 m = (Mamba2) blocks[i].mixer;
        layers[i] = new DeviceWeights.Layer(norm.weight, norm.bias, m.inProj.weights(), m.conv.weight(), m.conv.bias(),
            null, null, m.ssd.a(), m.ssd.dSkip(), m.ssd.dtBias(), m.normWeight, m.outProj.weights());
      }
    }
    return new DeviceWeights(config, embedding, lmHead.weights(), normF.weight, normF.bias, layers);
  }

  /**
   * See {@link #deviceWeights}: row-major PyTorch layouts, shapes in the comments. Mamba (S6)
   * layers use {@code xProj} and {@code dtProj} and have per-channel {@code a} (d_inner, N),
   * {@code dSkip} and {@code dtBias}; Mamba-2 layers have per-head ones (H) and the gated norm's
   * {@code groupNormWeight}.
   */
  public static final class DeviceWeights {
    public final boolean mamba2;
    public final int dModel;
    public final int dInner;
    public final int dState; // N
    public final int dConv;
    public final int vocab; // V, padded
    public final int dtRank; // Mamba (S6)
    public final int heads; // Mamba-2: H = d_inner / headdim
    public final int groups; // Mamba-2: G of B and C
    public final boolean dtSoftplus;
    public final double normEps;
    public final double[] embedding; // (V, d_model)
    public final double[] lmHead; // (V, d_model); the embedding itself when tied
    public final double[] normFWeight; // (d_model)
    public final double[] normFBias; // (d_model), null for RMSNorm
    public final Layer[] layers;

    DeviceWeights(MambaConfig config, double[] embedding, double[] lmHead, double[] normFWeight, double[] normFBias,
        Layer[] layers) {
      this.mamba2 = config.layer != MambaConfig.Layer.MAMBA1;
      this.dModel = config.dModel;
      this.dInner = config.dInner;
      this.dState = config.dState;
      this.dConv = config.dConv;
      this.vocab = config.paddedVocab;
      this.dtRank = config.dtRank;
      this.heads = mamba2 ? config.dInner / config.headDim : 0;
      this.groups = mamba2 ? config.nGroups : 1;
      this.dtSoftplus = true;
      this.normEps = NORM_EPS;
      this.embedding = embedding;
      this.lmHead = lmHead;
      this.normFWeight = normFWeight;
      this.normFBias = normFBias;
      this.layers = layers;
    }

    /** One block: its norm and its mixer. */
    public static final class Layer {
      public final double[] normWeight; // (d_model)
      public final double[] normBias; // (d_model), null for RMSNorm
      public final double[] inProj; // S6: (2 d_inner, d_model); Mamba-2: (2 d_inner + 2 G N + H, d_model)
      public final double[] convWeight; // (conv channels, d_conv)
      public final double[] convBias; // (conv channels), may be null
      public final double[] xProj; // S6: (dt_rank + 2 N, d_inner)
      public final double[] dtProj; // S6: (d_inner, dt_rank)
      public final double[] a; // S6: (d_inner, N) = -exp(A_log); Mamba-2: (H)
      public final double[] dSkip; // S6: (d_inner); Mamba-2: (H); may be null
      public final double[] dtBias; // S6: (d_inner); Mamba-2: (H); may be null
      public final double[] groupNormWeight; // Mamba-2: (d_inner)
      public final double[] outProj; // (d_model, d_inner)

      Layer(double[] normWeight, double[] normBias, double[] inProj, double[] convWeight, double[] convBias,
          double[] xProj, double[] dtProj, double[] a, double[] dSkip, double[] dtBias, double[] groupNormWeight,
          double[] outProj) {
        this.normWeight = normWeight;
        this.normBias = normBias;
        this.inProj = inProj;
        this.convWeight = convWeight;
        this.convBias = convBias;
        this.xProj = xProj;
        this.dtProj = dtProj;
        this.a = a;
        this.dSkip = dSkip;
        this.dtBias = dtBias;
        this.groupNormWeight = groupNormWeight;
        this.outProj = outProj;
      }
    }
  }

  // ---- Layer by layer, for a sequence cut into blocks scanned on different machines ----
  // A block's layer l needs (a) the convolution inputs of the rows before it (its halo: the last
  // d_conv - 1 normed rows of the block before) and (b) the SSM state entering it, which the
  // blocks' summaries give in one sequential pass over summaries (not rows); see MambaLongScore.

  public int layers() {
    return blocks.length;
  }

  /** {@code hidden = embedding[tokens]}, {@code n × d_model}; a token outside the vocabulary fails naming its index. */
  public void embed(int[] tokens, int off, int n, double[] hidden) {
    for (int t = 0; t < n; t++) {
      int token = tokens[off + t];
      if (token < 0 || token >= config.paddedVocab) {
        Checks.fail("token at index %d: expected an id in [0, %d), got %d", t, config.paddedVocab, token);
      }
    }
    copyEmbeddings(tokens, off, n, hidden, 0);
  }

  /** {@code hidden[hiddenOff + t * d_model ..] = embedding[tokens[off + t]]}; the tokens are already checked. */
  private void copyEmbeddings(int[] tokens, int off, int n, double[] hidden, int hiddenOff) {
    int dm = config.dModel;
    for (int t = 0; t < n; t++) {
      System.arraycopy(embedding, tokens[off + t] * dm, hidden, hiddenOff + t * dm, dm);
    }
  }

  /** {@code normed = norm_layer(residual + hidden)} over {@code rows}; the arrays are not modified. */
  public void layerInput(int layer, double[] residual, double[] hidden, int rows, double[] normed) {
    double[] sum = new double[rows * config.dModel];
    for (int k = 0; k < sum.length; k++) {
      sum[k] = residual[k] + hidden[k];
    }
    blocks[layer].norm.apply(sum, rows, normed);
  }

  /** The layer's convolution state after {@code rows} normed rows (the last ones before a block; zeros before them). */
  public double[] convStateAfter(int layer, double[] normedTail, int rows) {
    Mixer m = blocks[layer].mixer;
    double[] inputs = new double[rows * m.convChannels()];
    m.convInputs(normedTail, rows, inputs);
    double[] state = new double[m.convStateSize()];
    int keep = Math.min(rows, state.length / Math.max(1, m.convChannels()));
    // Oldest first: the last `keep` inputs fill the end of the state, zeros (the sequence start) before.
    System.arraycopy(inputs, (rows - keep) * m.convChannels(), state, state.length - keep * m.convChannels(),
        keep * m.convChannels());
    return state;
  }

  /** What the layer's SSM does over {@code rows} normed rows to any incoming state (real, {@link #layerStateSize}). */
  public ChunkSummary summarizeLayer(int layer, double[] normed, int rows, double[] convState) {
    return blocks[layer].mixer.summarize(normed, rows, convState);
  }

  public int layerStateSize(int layer) {
    return blocks[layer].mixer.ssmStateSize();
  }

  /** The layer's mixer output for {@code rows} normed rows from the given states (both advanced). */
  public void mixLayer(int layer, double[] normed, int rows, double[] convState, double[] ssmState, double[] hidden) {
    blocks[layer].mixer.forward(normed, new int[] {0, rows}, hidden, new double[][] {convState},
        new double[][] {ssmState}, new Scratch());
  }

  /** {@code finalHidden = norm_f(residual + hidden)} and, when not null, the logits, over {@code rows}. */
  public void head(double[] residual, double[] hidden, int rows, double[] finalHidden, double[] logits) {
    double[] sum = new double[rows * config.dModel];
    for (int k = 0; k < sum.length; k++) {
      sum[k] = residual[k] + hidden[k];
    }
    normF.apply(sum, rows, finalHidden);
    if (logits != null) {
      lmHead.apply(finalHidden, 0, rows, logits, 0);
    }
  }

  /** Per-call buffers of one chunk. */
  private final class Workspace {
    final double[] hidden;
    final double[] residual;
    final double[] normed;

    final Scratch scratch = new Scratch();

    Workspace(int rows) {
      hidden = new double[rows * config.dModel];
      residual = new double[rows * config.dModel];
      normed = new double[rows * config.dModel];
    }
  }

  /** The carried state of every layer and the tokens consumed; a value that can be copied and serialized. */
  public static final class State implements Serializable {
    private static final long serialVersionUID = 1L;
    final double[][] conv;
    final double[][] ssm;
    long position;

    State(double[][] conv, double[][] ssm, long position) {
      this.conv = conv;
      this.ssm = ssm;
      this.position = position;
    }

    /** Tokens consumed since the start of the sequence. */
    public long position() {
      return position;
    }

    /** Layer {@code layer}'s convolution state, the live array (for a device twin that advances it). */
    public double[] convState(int layer) {
      return conv[layer];
    }

    /** Layer {@code layer}'s SSM state, the live array (for a device twin that advances it). */
    public double[] ssmState(int layer) {
      return ssm[layer];
    }

    /** Counts {@code tokens} more consumed (a device twin's forward, which advanced the arrays). */
    public void advance(int tokens) {
      position += tokens;
    }

    public State copy() {
      double[][] c = new double[conv.length][];
      double[][] s = new double[ssm.length][];
      for (int i = 0; i < conv.length; i++) {
        c[i] = conv[i].clone();
        s[i] = ssm[i].clone();
      }
      return new State(c, s, position);
    }
  }

  /** Reads tensors with their expected shapes, recording which were used. */
  static final class Weights {
    private final Safetensors file;
    private final Set<String> used;

    Weights(Safetensors file, Set<String> used) {
      this.file = file;
      this.used = used;
    }

    double[] get(String name, long... shape) throws IOException {
      used.add(name);
      return file.read(name, shape);
    }
  }

  /** {@code y[t, o] = Σ_i x[t, i] W[o, i]}: PyTorch's Linear without bias, W row-major (out, in). */
  static final class Linear {
    private Linear() {}

    static void apply(double[] x, int xOff, int rows, int in, double[] w, int out, double[] y, int yOff) {
      MatMul.xWt(x, xOff, rows, in, w, 0, out, y, yOff);
    }

    /** The scalar twin. */
    static void applyScalar(double[] x, int xOff, int rows, int in, double[] w, int out, double[] y, int yOff) {
      MatMul.xWtScalar(x, xOff, rows, in, w, 0, out, y, yOff);
    }
  }

  /**
   * {@code y = x Wᵀ} in the model's precision: float64 on the checkpoint's weights ({@link Linear}),
   * or float32 on weights packed once at load ({@link PackedLinear}), which then are all it keeps.
   */
  static final class Projection implements Serializable {
    private static final long serialVersionUID = 1L;
    final int out;
    final int in;
    private final double[] w; // (out, in), float64 only
    private final PackedLinear packed; // float32 modes only

    private Projection(int out, int in, double[] w, PackedLinear packed) {
      this.out = out;
      this.in = in;
      this.w = w;
      this.packed = packed;
    }

    static Projection of(double[] w, int out, int in, Precision precision) {
      return precision == Precision.FLOAT64 ? new Projection(out, in, w, null)
          : new Projection(out, in, null, PackedLinear.pack(w, 0, out, in));
    }

    /** Float64 activations in and out (a float32 projection rounds x and widens y). */
    void apply(double[] x, int xOff, int rows, double[] y, int yOff) {
      if (packed == null) {
        Linear.apply(x, xOff, rows, in, w, out, y, yOff);
      } else {
        packed.xWt(x, xOff, rows, y, yOff, new float[rows * in], new float[rows * out]);
      }
    }

    /** Float32 activations (float32 modes only). */
    void apply(float[] x, int xOff, int rows, float[] y, int yOff) {
      packed.xWt(x, xOff, rows, y, yOff);
    }

    /** The weights (out, in) in float64: the checkpoint's, or the packed float32 values widened. */
    double[] weights() {
      return packed == null ? w : packed.unpack();
    }
  }

  /** RMSNorm (the default) or LayerNorm over d_model, eps 1e-5. */
  static final class Norm implements Serializable {
    private static final long serialVersionUID = 1L;
    private final double[] weight;
    private final double[] bias; // LayerNorm only

    private Norm(double[] weight, double[] bias) {
      this.weight = weight;
      this.bias = bias;
    }

    static Norm load(Weights w, String prefix, MambaConfig c) throws IOException {
      double[] weight = w.get(prefix + ".weight", c.dModel);
      double[] bias = c.rmsNorm ? null : w.get(prefix + ".bias", c.dModel);
      return new Norm(weight, bias);
    }

    void apply(double[] x, int rows, double[] out) {
      int d = weight.length;
      for (int t = 0; t < rows; t++) {
        int r = t * d;
        double mean = 0;
        if (bias != null) {
          for (int i = 0; i < d; i++) {
            mean += x[r + i];
          }
          mean /= d;
        }
        double squares = 0;
        for (int i = 0; i < d; i++) {
          double v = x[r + i] - mean;
          squares += v * v;
        }
        double scale = 1 / Math.sqrt(squares / d + NORM_EPS);
        for (int i = 0; i < d; i++) {
          out[r + i] = (x[r + i] - mean) * scale * weight[i] + (bias == null ? 0 : bias[i]);
        }
      }
    }
  }

  private static final class Block implements Serializable {
    private static final long serialVersionUID = 1L;
    final Norm norm;
    final Mixer mixer;

    Block(Norm norm, Mixer mixer) {
      this.norm = norm;
      this.mixer = mixer;
    }
  }

  /** A layer's mixer: {@code (rows, d_model) → (rows, d_model)} from and to its carried states. */
  interface Mixer extends Serializable {
    int convStateSize();

    int ssmStateSize();

    /** Writes the convolution inputs of {@code rows} normed rows ({@code rows × channels}) into {@code out}. */
    void convInputs(double[] in, int rows, double[] out);

    int convChannels();

    /** The SSM summary of {@code rows} from {@code convState} (not modified): what they do to any incoming state. */
    ChunkSummary summarize(double[] in, int rows, double[] convState);

    /**
     * The mixer over several sequences' rows at once: sequence {@code s} is rows {@code [bounds[s],
     * bounds[s + 1])} of {@code in} and {@code out}, from and advancing its own states. Row-local
     * work (the projections, one pass over the weights) runs over all rows; the convolution and the
     * scan per sequence. A row's result does not depend on the other sequences in the call.
     */
    void forward(double[] in, int[] bounds, double[] out, double[][] convStates, double[][] ssmStates,
        Scratch scratch);
  }

  /**
   * The intermediate arrays of the float32 mixers, reused across layers and chunks of one forward
   * call: a Mamba-130m allocated 438 MB per 256 tokens without it, 36 MB with it. Slots grow as
   * needed; a slot's contents are overwritten before use. Mamba-2 uses IN, Z (the gate), U (x), B,
   * C, DELTA (raw dt), Y and OUT as Mamba does, and PROJ, XBC, X and CONV below, and the SSD
   * scan's workspace.
   */
  static final class Scratch {
    // float slots
    static final int XZ = 0;
    static final int Z = 1;
    static final int U = 2;
    static final int DBC = 3;
    static final int LOW_RANK = 4;
    static final int B = 5;
    static final int C = 6;
    static final int DELTA = 7;
    static final int Y = 8;
    static final int OUT = 9;
    static final int IN = 10;
    static final int PROJ = 11; // Mamba-2: in_proj's output (rows, z | xBC | dt)
    static final int XBC = 12; // Mamba-2: silu(conv1d(xBC)) in float32
    // double slots
    static final int X = 0; // the convolution's input
    static final int CONV = 1; // the convolution's output
    private final float[][] floats = new float[13][];
    private final double[][] doubles = new double[2][];
    private float[] state32 = new float[0];
    /** The float32 SSD scan's arrays (Mamba-2). */
    final SsdScan.Workspace32 ssd = new SsdScan.Workspace32();

    /** A float32 SSM state of exactly {@code n} values (the scans check the length). */
    float[] state32(int n) {
      if (state32.length != n) {
        state32 = new float[n];
      }
      return state32;
    }

    float[] floats(int slot, int n) {
      if (floats[slot] == null || floats[slot].length < n) {
        floats[slot] = new float[n];
      }
      return floats[slot];
    }

    double[] doubles(int slot, int n) {
      if (doubles[slot] == null || doubles[slot].length < n) {
        doubles[slot] = new double[n];
      }
      return doubles[slot];
    }
  }

  static double silu(double v) {
    return v / (1 + Math.exp(-v));
  }

  /** The Mamba (S6) mixer of {@code mamba_ssm.modules.mamba_simple.Mamba}. */
  static final class Mamba1 implements Mixer {
    private static final long serialVersionUID = 1L;
    private final int dm;
    private final int di;
    private final int rank;
    private final int n;
    private final Precision precision;
    private final Projection inProj; // (2 di, dm)
    private final CausalConv1d conv; // di channels
    private final Projection xProj; // (rank + 2N, di)
    private final Projection dtProj; // (di, rank)
    private final SelectiveScan.Params ssm;
    private final Projection outProj; // (dm, di)

    private Mamba1(int dm, int di, int rank, int n, Precision precision, Projection inProj, CausalConv1d conv,
        Projection xProj, Projection dtProj, SelectiveScan.Params ssm, Projection outProj) {
      this.dm = dm;
      this.di = di;
      this.rank = rank;
      this.n = n;
      this.precision = precision;
      this.inProj = inProj;
      this.conv = conv;
      this.xProj = xProj;
      this.dtProj = dtProj;
      this.ssm = ssm;
      this.outProj = outProj;
    }

    static Mamba1 load(Weights w, String p, MambaConfig c, Precision precision) throws IOException {
      int dm = c.dModel;
      int di = c.dInner;
      int n = c.dState;
      int r = c.dtRank;
      CausalConv1d conv = CausalConv1d.of(di, c.dConv, w.get(p + "conv1d.weight", di, 1, c.dConv),
          w.get(p + "conv1d.bias", di));
      SelectiveScan.Params ssm = SelectiveScan.Params.fromALog(di, n, 1, w.get(p + "A_log", di, n),
          w.get(p + "D", di), w.get(p + "dt_proj.bias", di), true);
      return new Mamba1(dm, di, r, n, precision,
          Projection.of(w.get(p + "in_proj.weight", 2 * di, dm), 2 * di, dm, precision), conv,
          Projection.of(w.get(p + "x_proj.weight", r + 2 * n, di), r + 2 * n, di, precision),
          Projection.of(w.get(p + "dt_proj.weight", di, r), di, r, precision), ssm,
          Projection.of(w.get(p + "out_proj.weight", dm, di), dm, di, precision));
    }

    @Override
    public int convStateSize() {
      return conv.stateSize();
    }

    @Override
    public int ssmStateSize() {
      return ssm.stateLength();
    }

    @Override
    public int convChannels() {
      return di;
    }

    @Override
    public void convInputs(double[] in, int rows, double[] out) {
      double[] xz = new double[rows * 2 * di];
      inProj.apply(in, 0, rows, xz, 0);
      for (int t = 0; t < rows; t++) {
        System.arraycopy(xz, t * 2 * di, out, t * di, di);
      }
    }

    @Override
    public ChunkSummary summarize(double[] in, int rows, double[] convState) {
      if (precision == Precision.FLOAT64) {
        double[][] pre = preScan(in, new int[] {0, rows}, new double[][] {convState.clone()});
        return SelectiveScan.summarize(ssm, pre[0], 0, pre[1], 0, pre[2], 0, rows);
      }
      // The summary (decay product and end state) is float64 from the float32 scan inputs: the
      // two-pass path carries states in float64 between blocks whatever the mode.
      float[][] pre = preScan32(in, new int[] {0, rows}, new double[][] {convState.clone()}, new Scratch());
      return SelectiveScan.summarize(ssm, FloatMath.toDouble(pre[0], rows * di), 0,
          FloatMath.toDouble(pre[1], rows * di), 0, FloatMath.toDouble(pre[2], rows * n), 0, rows);
    }

    @Override
    public void forward(double[] in, int[] bounds, double[] out, double[][] convStates, double[][] ssmStates,
        Scratch scratch) {
      int rows = bounds[bounds.length - 1];
      if (precision == Precision.FLOAT64) {
        double[][] pre = preScan(in, bounds, convStates);
        double[] y = new double[rows * di];
        for (int s = 0; s + 1 < bounds.length; s++) {
          int r = bounds[s];
          SelectiveScan.scan(ssm, pre[0], r * di, pre[1], r * di, pre[2], r * n, pre[3], r * n, pre[4], r * di, y,
              r * di, bounds[s + 1] - r, ssmStates[s]);
        }
        outProj.apply(y, 0, rows, out, 0);
        return;
      }
      float[][] pre = preScan32(in, bounds, convStates, scratch);
      float[] y = scratch.floats(Scratch.Y, rows * di);
      if (precision == Precision.FLOAT32) {
        for (int s = 0; s + 1 < bounds.length; s++) {
          int r = bounds[s];
          float[] h = scratch.state32(ssm.stateLength());
          FloatMath.toFloat(ssmStates[s], 0, h, 0, h.length); // exact for a state this mode stored
          SelectiveScan.scan32(ssm, pre[0], r * di, pre[1], r * di, pre[2], r * n, pre[3], r * n, pre[4], r * di, y,
              r * di, bounds[s + 1] - r, h);
          FloatMath.toDouble(h, 0, ssmStates[s], 0, h.length); // exact: float64 storage between calls
        }
      } else {
        double[][] pre64 = {FloatMath.toDouble(pre[0], rows * di), FloatMath.toDouble(pre[1], rows * di),
            FloatMath.toDouble(pre[2], rows * n), FloatMath.toDouble(pre[3], rows * n),
            FloatMath.toDouble(pre[4], rows * di)};
        double[] y64 = new double[rows * di];
        for (int s = 0; s + 1 < bounds.length; s++) {
          int r = bounds[s];
          SelectiveScan.scan(ssm, pre64[0], r * di, pre64[1], r * di, pre64[2], r * n, pre64[3], r * n, pre64[4],
              r * di, y64, r * di, bounds[s + 1] - r, ssmStates[s]);
        }
        FloatMath.toFloat(y64, 0, y, 0, rows * di);
      }
      float[] o = scratch.floats(Scratch.OUT, rows * dm);
      outProj.apply(y, 0, rows, o, 0);
      for (int k = 0; k < rows * dm; k++) {
        out[k] = o[k];
      }
    }

    /** The scan's inputs {u, Δ (raw), B, C, z} of the sequences' rows, advancing their convolution states. */
    private double[][] preScan(double[] in, int[] bounds, double[][] convStates) {
      int rows = bounds[bounds.length - 1];
      double[] xz = new double[rows * 2 * di]; // (rows, 2 di): x then z per row
      inProj.apply(in, 0, rows, xz, 0);
      double[] x = new double[rows * di];
      double[] z = new double[rows * di];
      for (int t = 0; t < rows; t++) {
        System.arraycopy(xz, t * 2 * di, x, t * di, di);
        System.arraycopy(xz, t * 2 * di + di, z, t * di, di);
      }
      double[] u = new double[rows * di]; // (rows, di)
      for (int s = 0; s + 1 < bounds.length; s++) {
        conv.scan(x, bounds[s] * di, u, bounds[s] * di, bounds[s + 1] - bounds[s], convStates[s]);
      }
      for (int k = 0; k < u.length; k++) {
        u[k] = silu(u[k]);
      }
      int width = rank + 2 * n;
      double[] dbc = new double[rows * width]; // (rows, rank + 2N): Δ (low rank), B, C
      xProj.apply(u, 0, rows, dbc, 0);
      double[] lowRank = new double[rows * rank];
      double[] b = new double[rows * n];
      double[] cc = new double[rows * n];
      for (int t = 0; t < rows; t++) {
        System.arraycopy(dbc, t * width, lowRank, t * rank, rank);
        System.arraycopy(dbc, t * width + rank, b, t * n, n);
        System.arraycopy(dbc, t * width + rank + n, cc, t * n, n);
      }
      double[] delta = new double[rows * di]; // (rows, di), before bias and softplus (the scan applies them)
      dtProj.apply(lowRank, 0, rows, delta, 0);
      return new double[][] {u, delta, b, cc, z};
    }

    /**
     * {@link #preScan} in the float32 modes: the projections and the SiLU in float32, the causal
     * convolution in float64 (on the float32 projection, widened).
     */
    private float[][] preScan32(double[] in, int[] bounds, double[][] convStates, Scratch scratch) {
      int rows = bounds[bounds.length - 1];
      float[] in32 = scratch.floats(Scratch.IN, rows * dm);
      FloatMath.toFloat(in, 0, in32, 0, rows * dm);
      float[] xz = scratch.floats(Scratch.XZ, rows * 2 * di); // (rows, 2 di): x then z per row
      inProj.apply(in32, 0, rows, xz, 0);
      double[] x = scratch.doubles(Scratch.X, rows * di);
      float[] z = scratch.floats(Scratch.Z, rows * di);
      for (int t = 0; t < rows; t++) {
        for (int k = 0; k < di; k++) {
          x[t * di + k] = xz[t * 2 * di + k];
        }
        System.arraycopy(xz, t * 2 * di + di, z, t * di, di);
      }
      double[] convOut = scratch.doubles(Scratch.CONV, rows * di);
      for (int s = 0; s + 1 < bounds.length; s++) {
        conv.scan(x, bounds[s] * di, convOut, bounds[s] * di, bounds[s + 1] - bounds[s], convStates[s]);
      }
      float[] u = scratch.floats(Scratch.U, rows * di); // (rows, di)
      FloatMath.toFloat(convOut, 0, u, 0, rows * di);
      FloatMath.silu(u, 0, u, 0, rows * di);
      int width = rank + 2 * n;
      float[] dbc = scratch.floats(Scratch.DBC, rows * width); // (rows, rank + 2N): Δ (low rank), B, C
      xProj.apply(u, 0, rows, dbc, 0);
      float[] lowRank = scratch.floats(Scratch.LOW_RANK, rows * rank);
      float[] b = scratch.floats(Scratch.B, rows * n);
      float[] cc = scratch.floats(Scratch.C, rows * n);
      for (int t = 0; t < rows; t++) {
        System.arraycopy(dbc, t * width, lowRank, t * rank, rank);
        System.arraycopy(dbc, t * width + rank, b, t * n, n);
        System.arraycopy(dbc, t * width + rank + n, cc, t * n, n);
      }
      float[] delta = scratch.floats(Scratch.DELTA, rows * di); // (rows, di), before bias and softplus
      dtProj.apply(lowRank, 0, rows, delta, 0);
      return new float[][] {u, delta, b, cc, z};
    }
  }

  /** The Mamba-2 (SSD) mixer of {@code mamba_ssm.modules.mamba2.Mamba2}. */
  static final class Mamba2 implements Mixer {
    private static final long serialVersionUID = 1L;
    private final int dm;
    private final int di;
    private final int heads;
    private final int groups;
    private final int n;
    private final int chunkSize;
    private final Precision precision;
    private final Projection inProj; // (2 di + 2 G N + H, dm)
    private final CausalConv1d conv; // di + 2 G N channels
    private final SsdScan.Params ssd;
    private final double[] normWeight; // (di)
    private final Projection outProj; // (dm, di)

    private Mamba2(MambaConfig c, Precision precision, Projection inProj, CausalConv1d conv, SsdScan.Params ssd,
        double[] normWeight, Projection outProj) {
      this.dm = c.dModel;
      this.di = c.dInner;
      this.heads = c.dInner / c.headDim;
      this.groups = c.nGroups;
      this.n = c.dState;
      this.chunkSize = c.chunkSize;
      this.precision = precision;
      this.inProj = inProj;
      this.conv = conv;
      this.ssd = ssd;
      this.normWeight = normWeight;
      this.outProj = outProj;
    }

    /**
     * In the float32 modes the projections, the SiLU of xBC and of the gate z and the SSD scan run in
     * float32 ({@link SsdScan#scan32}), the scan's state in float32 (FLOAT32) or float64
     * (FLOAT32_STATE64); the causal convolution and the gated norm compute in float64 on float32
     * values, rounded to float32 once.
     */
    static Mamba2 load(Weights w, String p, MambaConfig c, Precision precision) throws IOException {
      int di = c.dInner;
      int heads = di / c.headDim;
      int convDim = di + 2 * c.nGroups * c.dState;
      CausalConv1d conv = CausalConv1d.of(convDim, c.dConv, w.get(p + "conv1d.weight", convDim, 1, c.dConv),
          w.get(p + "conv1d.bias", convDim));
      SsdScan.Params ssd = SsdScan.Params.of(heads, c.headDim, c.dState, c.nGroups,
          SsdScan.aFromLog(w.get(p + "A_log", heads)), w.get(p + "D", heads), w.get(p + "dt_bias", heads), true);
      int width = 2 * di + 2 * c.nGroups * c.dState + heads;
      return new Mamba2(c, precision,
          Projection.of(w.get(p + "in_proj.weight", width, c.dModel), width, c.dModel, precision),
          conv, ssd, w.get(p + "norm.weight", di),
          Projection.of(w.get(p + "out_proj.weight", c.dModel, di), c.dModel, di, precision));
    }

    @Override
    public int convStateSize() {
      return conv.stateSize();
    }

    @Override
    public int ssmStateSize() {
      return ssd.stateLength();
    }

    @Override
    public int convChannels() {
      return di + 2 * groups * n;
    }

    @Override
    public void convInputs(double[] in, int rows, double[] out) {
      int convDim = convChannels();
      int width = di + convDim + heads;
      double[] proj = new double[rows * width];
      inProj.apply(in, 0, rows, proj, 0);
      for (int t = 0; t < rows; t++) {
        System.arraycopy(proj, t * width + di, out, t * convDim, convDim);
      }
    }

    @Override
    public ChunkSummary summarize(double[] in, int rows, double[] convState) {
      if (precision == Precision.FLOAT64) {
        double[][] pre = preScan(in, new int[] {0, rows}, new double[][] {convState.clone()});
        return SsdScan.summarize(ssd, rows, pre[0], 0, pre[1], 0, pre[2], 0);
      }
      // As Mamba's: the summary in float64 from the float32 scan inputs (the two-pass path carries
      // states in float64 between blocks whatever the mode).
      float[][] pre = preScan32(in, new int[] {0, rows}, new double[][] {convState.clone()}, new Scratch());
      return SsdScan.summarize(ssd, rows, FloatMath.toDouble(pre[0], rows * di), 0,
          FloatMath.toDouble(pre[1], rows * heads), 0, FloatMath.toDouble(pre[2], rows * groups * n), 0);
    }

    @Override
    public void forward(double[] in, int[] bounds, double[] out, double[][] convStates, double[][] ssmStates,
        Scratch scratch) {
      int rows = bounds[bounds.length - 1];
      if (precision != Precision.FLOAT64) {
        forward32(in, bounds, out, convStates, ssmStates, scratch);
        return;
      }
      double[][] pre = preScan(in, bounds, convStates);
      double[] x = pre[0];
      double[] dt = pre[1];
      double[] b = pre[2];
      double[] cc = pre[3];
      double[] proj = pre[4];
      int width = di + convChannels() + heads;
      int gn = groups * n;
      double[] y = new double[rows * di];
      for (int s = 0; s + 1 < bounds.length; s++) {
        int r = bounds[s];
        SsdScan.scan(ssd, bounds[s + 1] - r, chunkSize, x, r * di, dt, r * heads, b, r * gn, cc, r * gn, y, r * di,
            ssmStates[s]);
      }
      gatedNorm(y, rows, proj, width);
      outProj.apply(y, 0, rows, out, 0);
    }

    /** {@link #forward} in the float32 modes (see {@link #load}), in the scratch arrays. */
    private void forward32(double[] in, int[] bounds, double[] out, double[][] convStates, double[][] ssmStates,
        Scratch scratch) {
      int rows = bounds[bounds.length - 1];
      int gn = groups * n;
      float[][] pre = preScan32(in, bounds, convStates, scratch);
      float[] y = scratch.floats(Scratch.Y, rows * di);
      for (int s = 0; s + 1 < bounds.length; s++) {
        int r = bounds[s];
        int len = bounds[s + 1] - r;
        if (precision == Precision.FLOAT32) {
          float[] h = scratch.state32(ssd.stateLength());
          double[] stored = ssmStates[s];
          FloatMath.toFloat(stored, 0, h, 0, h.length); // exact for a state this mode stored
          SsdScan.scan32(ssd, len, chunkSize, pre[0], r * di, pre[1], r * heads, pre[2], r * gn, pre[3], r * gn, y,
              r * di, h, scratch.ssd);
          FloatMath.toDouble(h, 0, stored, 0, h.length); // exact
        } else {
          SsdScan.scan32(ssd, len, chunkSize, pre[0], r * di, pre[1], r * heads, pre[2], r * gn, pre[3], r * gn, y,
              r * di, ssmStates[s], scratch.ssd);
        }
      }
      gatedNorm32(y, rows, pre[4]);
      float[] o = scratch.floats(Scratch.OUT, rows * dm);
      outProj.apply(y, 0, rows, o, 0);
      for (int k = 0; k < rows * dm; k++) {
        out[k] = o[k];
      }
    }

    /**
     * {@link #preScan} in the float32 modes, into the scratch arrays: {x, dt (raw), B, C, silu(z)}
     * in float32. The projection and the SiLUs in float32, the causal convolution in float64 (on the
     * float32 projection, widened; rounded once).
     */
    private float[][] preScan32(double[] in, int[] bounds, double[][] convStates, Scratch scratch) {
      int rows = bounds[bounds.length - 1];
      int gn = groups * n;
      int convDim = di + 2 * gn;
      int width = di + convDim + heads;
      float[] in32 = scratch.floats(Scratch.IN, rows * dm);
      FloatMath.toFloat(in, 0, in32, 0, rows * dm);
      float[] proj = scratch.floats(Scratch.PROJ, rows * width); // (rows, z | xBC | dt)
      inProj.apply(in32, 0, rows, proj, 0);
      double[] xbcIn = scratch.doubles(Scratch.X, rows * convDim);
      for (int t = 0; t < rows; t++) {
        for (int k = 0; k < convDim; k++) {
          xbcIn[t * convDim + k] = proj[t * width + di + k];
        }
      }
      double[] convOut = scratch.doubles(Scratch.CONV, rows * convDim);
      for (int s = 0; s + 1 < bounds.length; s++) {
        conv.scan(xbcIn, bounds[s] * convDim, convOut, bounds[s] * convDim, bounds[s + 1] - bounds[s], convStates[s]);
      }
      float[] xbc = scratch.floats(Scratch.XBC, rows * convDim);
      FloatMath.toFloat(convOut, 0, xbc, 0, rows * convDim);
      FloatMath.silu(xbc, 0, xbc, 0, rows * convDim);
      float[] x = scratch.floats(Scratch.U, rows * di);
      float[] b = scratch.floats(Scratch.B, rows * gn);
      float[] cc = scratch.floats(Scratch.C, rows * gn);
      float[] dt = scratch.floats(Scratch.DELTA, rows * heads);
      float[] gate = scratch.floats(Scratch.Z, rows * di);
      for (int t = 0; t < rows; t++) {
        System.arraycopy(xbc, t * convDim, x, t * di, di);
        System.arraycopy(xbc, t * convDim + di, b, t * gn, gn);
        System.arraycopy(xbc, t * convDim + di + gn, cc, t * gn, gn);
        System.arraycopy(proj, t * width + di + convDim, dt, t * heads, heads);
        FloatMath.silu(proj, t * width, gate, t * di, di);
      }
      return new float[][] {x, dt, b, cc, gate};
    }

    /** The scan's inputs {x, dt (raw), B, C} and the projection (for the gate z), advancing the convolution states. */
    private double[][] preScan(double[] in, int[] bounds, double[][] convStates) {
      int rows = bounds[bounds.length - 1];
      int gn = groups * n;
      int convDim = di + 2 * gn;
      int width = di + convDim + heads;
      double[] proj = new double[rows * width]; // (rows, z | xBC | dt)
      inProj.apply(in, 0, rows, proj, 0);
      double[] xbcIn = new double[rows * convDim];
      for (int t = 0; t < rows; t++) {
        System.arraycopy(proj, t * width + di, xbcIn, t * convDim, convDim);
      }
      double[] xbc = new double[rows * convDim];
      for (int s = 0; s + 1 < bounds.length; s++) {
        conv.scan(xbcIn, bounds[s] * convDim, xbc, bounds[s] * convDim, bounds[s + 1] - bounds[s], convStates[s]);
      }
      double[] x = new double[rows * di];
      double[] b = new double[rows * gn];
      double[] cc = new double[rows * gn];
      double[] dt = new double[rows * heads];
      for (int t = 0; t < rows; t++) {
        for (int k = 0; k < convDim; k++) {
          double v = silu(xbc[t * convDim + k]);
          if (k < di) {
            x[t * di + k] = v;
          } else if (k < di + gn) {
            b[t * gn + k - di] = v;
          } else {
            cc[t * gn + k - di - gn] = v;
          }
        }
        System.arraycopy(proj, t * width + di + convDim, dt, t * heads, heads);
      }
      return new double[][] {x, dt, b, cc, proj};
    }

    /**
     * {@link #gatedNorm} on float32 {@code y} and {@code gate = silu(z)} ({@code rows × di}): the
     * products and the norm in float64 (a product of two floats is exact there), each output rounded
     * to float32 once.
     */
    private void gatedNorm32(float[] y, int rows, float[] gate) {
      int groupWidth = di / groups;
      for (int t = 0; t < rows; t++) {
        for (int g = 0; g < groups; g++) {
          int base = t * di + g * groupWidth;
          double squares = 0;
          for (int k = 0; k < groupWidth; k++) {
            double v = (double) y[base + k] * gate[base + k];
            squares += v * v;
          }
          double scale = 1 / Math.sqrt(squares / groupWidth + NORM_EPS);
          for (int k = 0; k < groupWidth; k++) {
            y[base + k] = (float) ((double) y[base + k] * gate[base + k] * scale * normWeight[g * groupWidth + k]);
          }
        }
      }
    }

    /** Gated RMSNorm in place, per group of di / G channels: norm(y · silu(z)) · weight. */
    private void gatedNorm(double[] y, int rows, double[] proj, int width) {
      int groupWidth = di / groups;
      for (int t = 0; t < rows; t++) {
        for (int g = 0; g < groups; g++) {
          int base = t * di + g * groupWidth;
          double squares = 0;
          for (int k = 0; k < groupWidth; k++) {
            double v = y[base + k] * silu(proj[t * width + g * groupWidth + k]);
            y[base + k] = v;
            squares += v * v;
          }
          double scale = 1 / Math.sqrt(squares / groupWidth + NORM_EPS);
          for (int k = 0; k < groupWidth; k++) {
            y[base + k] *= scale * normWeight[g * groupWidth + k];
          }
        }
      }
    }
  }
}
