package org.sparkssm.mamba;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;

/**
 * A checkpoint's {@code config.json} in the {@code mamba_ssm} layout ({@code MambaConfig} of
 * {@code mamba_ssm/models/config_mamba.py}), with that library's defaults for absent fields:
 * {@code d_model, n_layer, vocab_size, pad_vocab_size_multiple (8), rms_norm (true),
 * residual_in_fp32, fused_add_norm, tie_embeddings (true)} and {@code ssm_cfg} with {@code layer}
 * (Mamba1 by default, or Mamba2), {@code d_state} (16 / 128), {@code d_conv} (4), {@code expand}
 * (2), Mamba1's {@code dt_rank} ("auto" = ⌈d_model / 16⌉), Mamba2's {@code headdim} (64),
 * {@code ngroups} (1) and {@code chunk_size} (256).
 *
 * <p>Not supported, and rejected naming the field: attention layers ({@code attn_layer_idx}), MLP
 * blocks ({@code d_intermediate > 0}), Mamba2's {@code d_ssm} other than the full inner width, a
 * per-channel D ({@code D_has_hdim}), {@code norm_before_gate}, and biases on the projections. The
 * flags {@code residual_in_fp32} and {@code fused_add_norm} change nothing here: the residual stream
 * is always float64.
 */
public final class MambaConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The mixer layout. */
  public enum Layer {
    MAMBA1, MAMBA2
  }

  private static final Set<String> TOP_LEVEL = Set.of("d_model", "d_intermediate", "n_layer", "vocab_size", "ssm_cfg",
      "attn_layer_idx", "attn_cfg", "rms_norm", "residual_in_fp32", "fused_add_norm", "pad_vocab_size_multiple",
      "tie_embeddings");

  final Layer layer;
  final int dModel;
  final int nLayer;
  final int vocabSize;
  final int paddedVocab;
  final boolean rmsNorm;
  final boolean tieEmbeddings;
  final int dState;
  final int dConv;
  final int dInner;
  final int dtRank;
  final int headDim;
  final int nGroups;
  final int chunkSize;

  private MambaConfig(Layer layer, int dModel, int nLayer, int vocabSize, int padMultiple, boolean rmsNorm,
      boolean tieEmbeddings, int dState, int dConv, int expand, int dtRank, int headDim, int nGroups, int chunkSize) {
    this.layer = layer;
    this.dModel = dModel;
    this.nLayer = nLayer;
    this.vocabSize = vocabSize;
    this.paddedVocab = vocabSize % padMultiple == 0 ? vocabSize : vocabSize + padMultiple - vocabSize % padMultiple;
    this.rmsNorm = rmsNorm;
    this.tieEmbeddings = tieEmbeddings;
    this.dState = dState;
    this.dConv = dConv;
    this.dInner = expand * dModel;
    this.dtRank = dtRank;
    this.headDim = headDim;
    this.nGroups = nGroups;
    this.chunkSize = chunkSize;
  }

  /** Reads {@code file}; every error names it and the field. */
  public static MambaConfig read(Path file) throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(Files.readAllBytes(file));
    } catch (JsonProcessingException e) {
      throw bad(file, "expected JSON, got malformed JSON: %s", e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "expected a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
      String f = it.next();
      if (!TOP_LEVEL.contains(f)) {
        throw bad(file, "unexpected field '%s' (a config of another model family?)", f);
      }
    }
    int dModel = positive(file, root, "d_model", -1);
    int nLayer = positive(file, root, "n_layer", -1);
    int vocab = positive(file, root, "vocab_size", -1);
    int padMultiple = positive(file, root, "pad_vocab_size_multiple", 8);
    if (integer(file, root, "d_intermediate", 0) != 0) {
      throw bad(file, "d_intermediate: expected 0 (no MLP blocks), got %d", integer(file, root, "d_intermediate", 0));
    }
    JsonNode attn = root.get("attn_layer_idx");
    if (attn != null && !(attn.isArray() && attn.size() == 0)) {
      throw bad(file, "attn_layer_idx: expected no attention layers, got %s", attn);
    }
    boolean rmsNorm = bool(file, root, "rms_norm", true);
    bool(file, root, "residual_in_fp32", true);
    bool(file, root, "fused_add_norm", true);
    boolean tie = bool(file, root, "tie_embeddings", true);
    JsonNode ssm = root.get("ssm_cfg");
    if (ssm == null) {
      ssm = new ObjectMapper().createObjectNode();
    } else if (!ssm.isObject()) {
      throw bad(file, "ssm_cfg: expected an object, got %s", ssm.getNodeType());
    }
    String layerName = ssm.has("layer") ? ssm.get("layer").asText() : "Mamba1";
    Layer layer;
    if (layerName.equals("Mamba1")) {
      layer = Layer.MAMBA1;
    } else if (layerName.equals("Mamba2")) {
      layer = Layer.MAMBA2;
    } else {
      throw bad(file, "ssm_cfg.layer: expected Mamba1 or Mamba2, got '%s'", layerName);
    }
    for (String f : new String[] {"bias", "D_has_hdim", "norm_before_gate"}) {
      if (bool(file, ssm, f, false)) {
        throw bad(file, "ssm_cfg.%s: expected false (not supported), got true", f);
      }
    }
    if (!bool(file, ssm, "conv_bias", true)) {
      throw bad(file, "ssm_cfg.conv_bias: expected true (not supported otherwise), got false");
    }
    if (layer == Layer.MAMBA2 && !bool(file, ssm, "rmsnorm", true)) {
      throw bad(file, "ssm_cfg.rmsnorm: expected true (the gated RMSNorm), got false");
    }
    int dState = positive(file, ssm, "d_state", layer == Layer.MAMBA1 ? 16 : 128);
    int dConv = positive(file, ssm, "d_conv", 4);
    int expand = positive(file, ssm, "expand", 2);
    int dtRank = (dModel + 15) / 16;
    JsonNode rank = ssm.get("dt_rank");
    if (rank != null && !(rank.isTextual() && rank.asText().equals("auto"))) {
      dtRank = positive(file, ssm, "dt_rank", -1);
    }
    int headDim = positive(file, ssm, "headdim", 64);
    int nGroups = positive(file, ssm, "ngroups", 1);
    int chunkSize = positive(file, ssm, "chunk_size", 256);
    MambaConfig c = new MambaConfig(layer, dModel, nLayer, vocab, padMultiple, rmsNorm, tie, dState, dConv, expand,
        dtRank, headDim, nGroups, chunkSize);
    if (layer == Layer.MAMBA2) {
      JsonNode dSsm = ssm.get("d_ssm");
      if (dSsm != null && !dSsm.isNull() && dSsm.asInt() != c.dInner) {
        throw bad(file, "ssm_cfg.d_ssm: expected the inner width %d (or null), got %s", c.dInner, dSsm);
      }
      if (c.dInner % headDim != 0) {
        throw bad(file, "ssm_cfg.headdim: expected a divisor of expand * d_model = %d, got %d", c.dInner, headDim);
      }
      if ((c.dInner / headDim) % nGroups != 0) {
        throw bad(file, "ssm_cfg.ngroups: expected a divisor of the %d heads, got %d", c.dInner / headDim, nGroups);
      }
    }
    return c;
  }

  private static IllegalArgumentException bad(Path file, String format, Object... args) {
    return new IllegalArgumentException(file + ": " + String.format(java.util.Locale.ROOT, format, args));
  }

  private static int integer(Path file, JsonNode node, String field, int byDefault) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (byDefault < 0) {
        throw bad(file, "%s: expected an integer, got none", field);
      }
      return byDefault;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw bad(file, "%s: expected an integer, got %s", field, v);
    }
    return v.asInt();
  }

  private static int positive(Path file, JsonNode node, String field, int byDefault) {
    int v = integer(file, node, field, byDefault);
    if (v < 1) {
      throw bad(file, "%s: expected >= 1, got %d", field, v);
    }
    return v;
  }

  private static boolean bool(Path file, JsonNode node, String field, boolean byDefault) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return byDefault;
    }
    if (!v.isBoolean()) {
      throw bad(file, "%s: expected true or false, got %s", field, v);
    }
    return v.asBoolean();
  }

  public Layer layer() {
    return layer;
  }

  public int dModel() {
    return dModel;
  }

  public int nLayer() {
    return nLayer;
  }

  /** The vocabulary rounded up to {@code pad_vocab_size_multiple}: the rows of the embedding and the logits. */
  public int paddedVocab() {
    return paddedVocab;
  }

  public int vocabSize() {
    return vocabSize;
  }

  /** The depthwise convolution's width. */
  public int dConv() {
    return dConv;
  }

  /** {@code expand · d_model}. */
  public int dInner() {
    return dInner;
  }
}
