package org.sparkssm.mamba;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a random Mamba (Mamba1 layout) checkpoint directory, float32, of any size: for benchmarks,
 * which need models too large to commit. Initialized like mamba_ssm (S4D-real A_log, softplus⁻¹ Δ
 * bias), so the recurrence behaves as a trained one would.
 *
 * <p>{@link #main} writes one from the command line, for a peer outside the JVM
 * ({@code bench/mamba_forward_bench.py}) to load the exact checkpoint {@link MambaForwardBenchmark} runs:
 *
 * <pre>
 *   mvn -q -o -pl spark-ssm test-compile exec:exec@random-checkpoint \
 *       -Dcheckpoint.args="DIR D_MODEL LAYERS VOCAB D_STATE SEED [--dump FILE [--calls K]]"
 * </pre>
 *
 * With {@code --dump FILE} it also runs {@link MambaForwardBenchmark}'s forward: the benchmark's
 * 256 tokens ({@code SplittableRandom(3).nextInt(VOCAB)}, VOCAB the unpadded vocabulary), {@code K}
 * times (default 2) from one carried state, and writes FILE, little-endian: int32 tokens, int32 calls,
 * int32 padded vocabulary, int32 tokens[tokens], then float64 logits[calls][tokens][padded vocabulary].
 */
final class RandomCheckpoint {
  private RandomCheckpoint() {}

  /** Writes a checkpoint, and with {@code --dump} the float64 logits of the benchmark's forward; see the class comment. */
  public static void main(String[] args) throws IOException {
    if (args.length != 6 && args.length != 8 && args.length != 10) {
      throw new IllegalArgumentException("usage: RandomCheckpoint DIR D_MODEL LAYERS VOCAB D_STATE SEED"
          + " [--dump FILE [--calls K]]; got " + java.util.Arrays.toString(args));
    }
    Path dir = Path.of(args[0]);
    int vocab = Integer.parseInt(args[3]);
    write(dir, Integer.parseInt(args[1]), Integer.parseInt(args[2]), vocab, Integer.parseInt(args[4]),
        Long.parseLong(args[5]));
    System.out.println("RandomCheckpoint: wrote " + dir.resolve("model.safetensors") + " ("
        + Files.size(dir.resolve("model.safetensors")) + " bytes)");
    if (args.length == 6) {
      return;
    }
    if (!args[6].equals("--dump") || (args.length == 10 && !args[8].equals("--calls"))) {
      throw new IllegalArgumentException("expected --dump FILE [--calls K], got " + java.util.Arrays.toString(args));
    }
    dump(dir, vocab, Path.of(args[7]), args.length == 10 ? Integer.parseInt(args[9]) : 2);
  }

  /** The benchmark's forward, {@code calls} times from one carried state, its tokens and logits written to {@code file}. */
  static void dump(Path dir, int vocab, Path file, int calls) throws IOException {
    MambaModel model = MambaModel.load(dir);
    MambaModel.State state = model.newState();
    int tokensPerCall = MambaForwardBenchmark.TOKENS;
    SplittableRandom rnd = new SplittableRandom(3); // as MambaForwardBenchmark.setUp
    int[] tokens = new int[tokensPerCall];
    for (int i = 0; i < tokensPerCall; i++) {
      tokens[i] = rnd.nextInt(vocab);
    }
    double[] logits = new double[tokensPerCall * model.vocab()];
    try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      ByteBuffer head = ByteBuffer.allocate(4 * (3 + tokensPerCall)).order(ByteOrder.LITTLE_ENDIAN);
      head.putInt(tokensPerCall).putInt(calls).putInt(model.vocab());
      for (int token : tokens) {
        head.putInt(token);
      }
      out.write(head.array());
      ByteBuffer buf = ByteBuffer.allocate(8 * logits.length).order(ByteOrder.LITTLE_ENDIAN);
      for (int call = 0; call < calls; call++) {
        model.forward(tokens, 0, tokensPerCall, state, logits, 0, null, 0);
        buf.clear();
        buf.asDoubleBuffer().put(logits);
        out.write(buf.array());
      }
    }
    System.out.println("RandomCheckpoint: wrote " + file + " (" + calls + " forwards of " + tokensPerCall
        + " tokens from one carried state, logits over " + model.vocab() + ")");
  }

  static void write(Path dir, int dModel, int layers, int vocab, int dState, long seed) throws IOException {
    Files.createDirectories(dir);
    int di = 2 * dModel;
    int rank = (dModel + 15) / 16;
    int conv = 4;
    Files.writeString(dir.resolve("config.json"), String.format(java.util.Locale.ROOT,
        "{\"d_model\": %d, \"n_layer\": %d, \"vocab_size\": %d, \"pad_vocab_size_multiple\": 8, "
            + "\"ssm_cfg\": {\"layer\": \"Mamba1\", \"d_state\": %d, \"d_conv\": %d, \"expand\": 2}}",
        dModel, layers, vocab, dState, conv));
    SplittableRandom rnd = new SplittableRandom(seed);
    int padded = (vocab + 7) / 8 * 8;
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("backbone.embedding.weight", new long[] {padded, dModel});
    for (int i = 0; i < layers; i++) {
      String p = "backbone.layers." + i + ".";
      shapes.put(p + "norm.weight", new long[] {dModel});
      shapes.put(p + "mixer.in_proj.weight", new long[] {2 * di, dModel});
      shapes.put(p + "mixer.conv1d.weight", new long[] {di, 1, conv});
      shapes.put(p + "mixer.conv1d.bias", new long[] {di});
      shapes.put(p + "mixer.x_proj.weight", new long[] {rank + 2 * dState, di});
      shapes.put(p + "mixer.dt_proj.weight", new long[] {di, rank});
      shapes.put(p + "mixer.dt_proj.bias", new long[] {di});
      shapes.put(p + "mixer.A_log", new long[] {di, dState});
      shapes.put(p + "mixer.D", new long[] {di});
      shapes.put(p + "mixer.out_proj.weight", new long[] {dModel, di});
    }
    shapes.put("backbone.norm_f.weight", new long[] {dModel});
    StringBuilder header = new StringBuilder("{");
    long offset = 0;
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      long n = count(e.getValue());
      header.append(header.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",")
          .append("\"shape\":").append(java.util.Arrays.toString(e.getValue()).replace(" ", ""))
          .append(",\"data_offsets\":[").append(offset).append(',').append(offset + 4 * n).append("]}");
      offset += 4 * n;
    }
    byte[] h = header.append('}').toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(dir.resolve("model.safetensors")),
        1 << 20)) {
      out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
      out.write(h);
      ByteBuffer buf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
      for (Map.Entry<String, long[]> e : shapes.entrySet()) {
        String name = e.getKey();
        long[] shape = e.getValue();
        long n = count(shape);
        for (long k = 0; k < n; k++) {
          double v;
          if (name.endsWith("A_log")) {
            v = Math.log(1 + k % shape[1]);
          } else if (name.endsWith("dt_proj.bias")) {
            double dt = Math.exp(Math.log(1e-3) + rnd.nextDouble() * (Math.log(1e-1) - Math.log(1e-3)));
            v = dt + Math.log(-Math.expm1(-dt));
          } else if (name.endsWith("norm.weight") || name.endsWith(".D")) {
            v = 1;
          } else {
            v = rnd.nextGaussian() / Math.sqrt(shape[shape.length - 1]);
          }
          buf.clear();
          out.write(buf.putFloat((float) v).array());
        }
      }
    }
  }

  private static long count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }
}
