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
 */
final class RandomCheckpoint {
  private RandomCheckpoint() {}

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
