package org.sparkssm.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The safetensors writer: exact round trips through {@link Safetensors} in F64 and F32, the header's form,
 * atomicity.
 */
class SafetensorsWriterTest {
  @TempDir
  Path tmp;

  @Test
  void roundTripsBothDtypesThroughTheReader() throws IOException {
    SplittableRandom rnd = new SplittableRandom(5);
    double[] a = new double[3 * 4 + 2];
    for (int i = 0; i < a.length; i++) {
      a[i] = rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-30, 30));
    }
    a[2] = -0.0;
    a[3] = Double.MIN_VALUE;
    a[4] = Double.NaN;
    a[5] = Double.NEGATIVE_INFINITY;
    double[] scalar = {Math.PI};
    Path file = tmp.resolve("t.safetensors");
    new SafetensorsWriter().metadata("format", "pt")
        .add("f64 matrix", Safetensors.DType.F64, a, 2, 3, 4) // from an offset
        .add("f32 vector", Safetensors.DType.F32, a, 0, 14)
        .add("scalar", Safetensors.DType.F64, scalar, 0)
        .add("empty", Safetensors.DType.F32, scalar, 1, 2, 0)
        .add("odd", Safetensors.DType.F32, a, 0, 3) // 12 bytes: the next tensor starts unaligned to 8, as allowed
        .add("after odd", Safetensors.DType.F64, a, 0, 1, 1, 2)
        .write(file);
    Safetensors st = Safetensors.open(file);
    assertEquals(Arrays.asList("f64 matrix", "f32 vector", "scalar", "empty", "odd", "after odd"), st.names());
    assertEquals("pt", st.metadata().get("format"));
    assertArrayEquals(new long[] {3, 4}, st.tensor("f64 matrix").shape());
    assertEquals(Safetensors.DType.F64, st.tensor("f64 matrix").dtype());
    assertEquals(Safetensors.DType.F32, st.tensor("f32 vector").dtype());
    assertBitsEqual(Arrays.copyOfRange(a, 2, 14), st.read("f64 matrix", 3, 4));
    double[] rounded = new double[14];
    for (int i = 0; i < 14; i++) {
      rounded[i] = (float) a[i];
    }
    assertBitsEqual(rounded, st.read("f32 vector", 14));
    assertArrayEquals(new long[0], st.tensor("scalar").shape());
    assertBitsEqual(scalar, st.read("scalar"));
    assertEquals(0, st.read("empty", 2, 0).length);
    assertBitsEqual(Arrays.copyOfRange(rounded, 0, 3), st.read("odd", 3));
    assertBitsEqual(Arrays.copyOfRange(a, 0, 2), st.read("after odd", 1, 1, 2));
  }

  private static void assertBitsEqual(double[] expected, double[] actual) {
    assertEquals(expected.length, actual.length);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(Double.doubleToLongBits(expected[i]), Double.doubleToLongBits(actual[i]), "index " + i);
    }
  }

  @Test
  void headerIsJsonPaddedWithSpacesToEightBytes() throws IOException {
    for (int nameLength = 1; nameLength <= 9; nameLength++) {
      Path file = tmp.resolve("h" + nameLength + ".safetensors");
      new SafetensorsWriter().add("x".repeat(nameLength), Safetensors.DType.F64, new double[] {1, 2}, 0, 2).write(file);
      byte[] bytes = Files.readAllBytes(file);
      long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
      assertEquals(0, headerLength % 8, "header length " + headerLength);
      assertEquals(8 + headerLength + 16, bytes.length);
      String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
      assertTrue(header.startsWith("{") && header.stripTrailing().endsWith("}"), header);
      assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '), header);
      assertTrue(header.contains("\"data_offsets\":[0,16]") && header.contains("\"dtype\":\"F64\""), header);
      assertEquals(2.0, Safetensors.open(file).read("x".repeat(nameLength))[1]);
    }
  }

  @Test
  void writesAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("atomic"));
    Path file = dir.resolve("model.safetensors");
    new SafetensorsWriter().add("w", Safetensors.DType.F64, new double[] {1}, 0, 1).write(file);
    new SafetensorsWriter().add("w", Safetensors.DType.F64, new double[] {2, 3}, 0, 2).write(file); // replaces
    assertArrayEquals(new double[] {2, 3}, Safetensors.open(file).read("w"));
    SafetensorsWriter.writeAtomically(dir.resolve("config.json"), "{\"a\": 1}");
    assertEquals("{\"a\": 1}", Files.readString(dir.resolve("config.json")));
    // A failing write leaves the old file and no temporary file.
    IOException e = assertThrows(IOException.class, () -> SafetensorsWriter.writeAtomically(file, out -> {
      out.write(new byte[] {1, 2, 3});
      throw new IOException("disk full");
    }));
    assertEquals("disk full", e.getMessage());
    assertArrayEquals(new double[] {2, 3}, Safetensors.open(file).read("w"));
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(2, files.count(), "only model.safetensors and config.json");
    }
  }

  @Test
  void rejectsBadTensorsNamingThem() {
    SafetensorsWriter w = new SafetensorsWriter().add("a", Safetensors.DType.F64, new double[4], 0, 2, 2);
    String dup = assertThrows(IllegalArgumentException.class,
        () -> w.add("a", Safetensors.DType.F64, new double[1], 0, 1)).getMessage();
    assertTrue(dup.contains("'a'"), dup);
    String few = assertThrows(IllegalArgumentException.class,
        () -> w.add("b", Safetensors.DType.F32, new double[5], 2, 2, 2)).getMessage();
    assertTrue(few.contains("'b'"), few);
    String dtype = assertThrows(IllegalArgumentException.class,
        () -> w.add("c", Safetensors.DType.F16, new double[1], 0, 1)).getMessage();
    assertTrue(dtype.contains("'c'") && dtype.contains("F16"), dtype);
    String negative = assertThrows(IllegalArgumentException.class,
        () -> w.add("d", Safetensors.DType.F64, new double[1], 0, -1)).getMessage();
    assertTrue(negative.contains("'d'"), negative);
    assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", Safetensors.DType.F64, new double[1], 0));
  }
}
