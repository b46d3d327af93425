package org.sparkssm.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors reader: every dtype exactly, and every corruption rejected naming the file. */
class SafetensorsTest {
  @TempDir
  Path tmp;

  /** A file of one header (as given) and the data bytes. */
  private Path write(String name, String header, byte[] data) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
    out.write(h);
    out.write(data);
    Path p = tmp.resolve(name);
    Files.write(p, out.toByteArray());
    return p;
  }

  private static byte[] le(int bytesPerValue, long... bits) {
    ByteBuffer b = ByteBuffer.allocate(bits.length * bytesPerValue).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : bits) {
      if (bytesPerValue == 8) {
        b.putLong(v);
      } else if (bytesPerValue == 4) {
        b.putInt((int) v);
      } else {
        b.putShort((short) v);
      }
    }
    return b.array();
  }

  @Test
  void readsEveryDtypeExactly() throws IOException {
    byte[] f64 = le(8, Double.doubleToLongBits(1.5), Double.doubleToLongBits(-1e-300));
    byte[] f32 = le(4, Float.floatToIntBits(0.1f), Float.floatToIntBits(-3f));
    // binary16: 1.0 = 0x3c00, -2.5 = 0xc100, smallest subnormal 2^-24 = 0x0001, 65504 = 0x7bff
    byte[] f16 = le(2, 0x3c00, 0xc100, 0x0001, 0x7bff);
    // bfloat16: the top half of a float32: 1.0 = 0x3f80, -0.15625 = 0xbe20
    byte[] bf16 = le(2, 0x3f80, 0xbe20);
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    data.write(f64);
    data.write(f32);
    data.write(f16);
    data.write(bf16);
    String header = "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[16,24]},"
        + "\"c\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[24,32]},"
        + "\"d\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
        + "\"__metadata__\":{\"format\":\"pt\"}}";
    Safetensors st = Safetensors.open(write("ok.safetensors", header, data.toByteArray()));
    assertEquals(Arrays.asList("a", "b", "c", "d"), st.names());
    assertEquals("pt", st.metadata().get("format"));
    assertArrayEquals(new double[] {1.5, -1e-300}, st.read("a"), 0.0);
    assertArrayEquals(new double[] {0.1f, -3f}, st.read("b", 1, 2), 0.0);
    assertArrayEquals(new double[] {1.0, -2.5, Math.scalb(1.0, -24), 65504}, st.read("c"), 0.0);
    assertArrayEquals(new double[] {1.0, -0.15625}, st.read("d"), 0.0);
    String shape = assertThrows(IllegalArgumentException.class, () -> st.read("b", 2)).getMessage();
    assertTrue(shape.contains("ok.safetensors") && shape.contains("'b'") && shape.contains("[2]"), shape);
    String missing = assertThrows(IllegalArgumentException.class, () -> st.read("e")).getMessage();
    assertTrue(missing.contains("'e'"), missing);
  }

  private void rejected(String name, byte[] file, String... expectedParts) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, file);
    String m = assertThrows(IllegalArgumentException.class, () -> {
      Safetensors st = Safetensors.open(p);
      for (String t : st.names()) {
        st.read(t);
      }
    }, name).getMessage();
    assertTrue(m.startsWith(p.toString()), m);
    for (String part : expectedParts) {
      assertTrue(m.contains(part), name + ": " + m);
    }
  }

  private static byte[] file(String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
  }

  @Test
  void namedCorruptionsAreRejectedWithTheirReason() throws IOException {
    String good = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
    rejected("short", new byte[5], "8-byte header length");
    rejected("huge-header", ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array(),
        "header length");
    rejected("negative-header", ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array(),
        "header length");
    byte[] truncatedHeader = Arrays.copyOf(file(good, 24), 20);
    rejected("header-past-end", truncatedHeader, "past the end");
    rejected("truncated-data", Arrays.copyOf(file(good, 24), file(good, 24).length - 4), "'w'", "truncated");
    rejected("not-json", file("{\"w\": [1, 2", 0), "malformed JSON");
    rejected("not-object", file("[1, 2, 3]", 0), "JSON object");
    rejected("dtype", file(good.replace("F32", "I64"), 24), "'w'", "I64");
    rejected("negative-dim", file(good.replace("[2,3]", "[-2,3]"), 24), "'w'", "non-negative");
    rejected("overflowing-shape", file(good.replace("[2,3]", "[4294967296,4294967296]"), 24), "'w'", "elements");
    rejected("size-mismatch", file(good.replace("[2,3]", "[2,2]"), 24), "'w'", "expected 16 bytes");
    rejected("inverted-offsets", file(good.replace("[0,24]", "[24,0]"), 24), "'w'", "begin <= end");
    rejected("duplicate-key", file("{\"w\":{},\"w\":{}}", 0), "malformed JSON");
    rejected("overlap", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "'a'", "'b'", "disjoint");
  }

  /**
   * Fuzz: random byte flips, truncations and header edits of a valid file. Each mutant either
   * reads (a flip inside the data, or one that keeps the header valid) or fails with an
   * IllegalArgumentException naming the file: never another exception, an OutOfMemoryError or a
   * negative array size.
   */
  @Test
  void corruptedFilesAreEitherReadOrRejectedNamingTheFile() throws IOException {
    String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[0,128]},"
        + "\"b\":{\"dtype\":\"BF16\",\"shape\":[8],\"data_offsets\":[128,144]},\"__metadata__\":{\"k\":\"v\"}}";
    byte[] valid = file(header, 144);
    SplittableRandom rnd = new SplittableRandom(7);
    int rejectedCount = 0;
    for (int trial = 0; trial < 600; trial++) {
      byte[] mutant;
      int kind = trial % 4;
      if (kind == 0) { // flip bytes anywhere
        mutant = valid.clone();
        for (int k = 0; k < 1 + rnd.nextInt(4); k++) {
          mutant[rnd.nextInt(mutant.length)] ^= (byte) (1 + rnd.nextInt(255));
        }
      } else if (kind == 1) { // truncate
        mutant = Arrays.copyOf(valid, rnd.nextInt(valid.length));
      } else if (kind == 2) { // corrupt the header length
        mutant = valid.clone();
        ByteBuffer.wrap(mutant).order(ByteOrder.LITTLE_ENDIAN).putLong(0, rnd.nextLong());
      } else { // edit a digit or character of the JSON header
        mutant = valid.clone();
        int at = 8 + rnd.nextInt(header.length());
        mutant[at] = (byte) "0123456789[]{}\",:-eE.x ".charAt(rnd.nextInt(23));
      }
      Path p = tmp.resolve("fuzz-" + trial);
      Files.write(p, mutant);
      try {
        Safetensors st = Safetensors.open(p);
        for (String t : st.names()) {
          st.read(t);
        }
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage().startsWith(p.toString()), "names the file: " + e.getMessage());
        rejectedCount++;
      } catch (Throwable e) {
        fail("trial " + trial + " (kind " + kind + "): expected a read or an IllegalArgumentException, got " + e, e);
      }
      Files.delete(p);
    }
    assertTrue(rejectedCount > 300, "most mutants are corrupt: " + rejectedCount);
  }
}
