package org.sparkssm.state;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.sparkssm.Checks;

/**
 * The carried state of a scan as a value: the hidden state {@code h} (flattened in the model's
 * layout, see {@link org.sparkssm}), the number of steps consumed so far ({@code position}) and the
 * fingerprint of the model that produced it. It is what an incremental run saves per series and
 * what a later run resumes from; the fingerprint stops a state from being resumed by another model.
 *
 * <p>Byte format (big-endian), version {@value #FORMAT_VERSION}:
 * {@code magic "SSMS" (4) | version int | fingerprint long | position long | count int |
 * count doubles | CRC32 of everything before, as int}.
 */
public final class ScanState implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** Version of the byte format written by {@link #toBytes()}. */
  public static final int FORMAT_VERSION = 1;

  private static final int MAGIC = 0x53534d53; // "SSMS"
  private static final int HEADER_BYTES = 4 + 4 + 8 + 8 + 4;

  private final long fingerprint;
  private final long position;
  private final double[] hidden;

  private ScanState(long fingerprint, long position, double[] hidden) {
    this.fingerprint = fingerprint;
    this.position = position;
    this.hidden = hidden;
  }

  /** A state of {@code hidden} (copied) after {@code position} steps of the model {@code fingerprint}. */
  public static ScanState of(long fingerprint, long position, double[] hidden) {
    Checks.notNull("hidden", hidden);
    if (position < 0) {
      Checks.fail("position: expected >= 0, got %d", position);
    }
    return new ScanState(fingerprint, position, hidden.clone());
  }

  /** The zero state of {@code size} elements at position 0: where every scan starts. */
  public static ScanState initial(long fingerprint, int size) {
    Checks.nonNegative("size", size);
    return new ScanState(fingerprint, 0, new double[size]);
  }

  public long fingerprint() {
    return fingerprint;
  }

  public long position() {
    return position;
  }

  public int size() {
    return hidden.length;
  }

  /** A copy of the hidden state, ready to pass to a kernel as its {@code h}. */
  public double[] hidden() {
    return hidden.clone();
  }

  /** The state after {@code steps} more steps, whose final hidden state the kernel left in {@code h}. */
  public ScanState advance(long steps, double[] h) {
    Checks.length("h", h, hidden.length, "the state size of this ScanState");
    if (steps < 0) {
      Checks.fail("steps: expected >= 0, got %d", steps);
    }
    return new ScanState(fingerprint, position + steps, h.clone());
  }

  public byte[] toBytes() {
    ByteBuffer buf = ByteBuffer.allocate(HEADER_BYTES + 8 * hidden.length + 4).order(ByteOrder.BIG_ENDIAN);
    buf.putInt(MAGIC).putInt(FORMAT_VERSION).putLong(fingerprint).putLong(position).putInt(hidden.length);
    for (double v : hidden) {
      buf.putDouble(v);
    }
    CRC32 crc = new CRC32();
    crc.update(buf.array(), 0, buf.position());
    buf.putInt((int) crc.getValue());
    return buf.array();
  }

  /**
   * Reads a state written by {@link #toBytes()} and checks it belongs to the model
   * {@code expectedFingerprint}. {@code source} names where the bytes came from (a series key, a
   * file) and appears in every error.
   */
  public static ScanState fromBytes(byte[] bytes, long expectedFingerprint, String source) {
    ScanState state = fromBytes(bytes, source);
    if (state.fingerprint != expectedFingerprint) {
      Checks.fail("state of %s: expected model fingerprint %016x, got %016x (saved by another model)",
          source, expectedFingerprint, state.fingerprint);
    }
    return state;
  }

  /** Reads a state written by {@link #toBytes()} without checking its model. */
  public static ScanState fromBytes(byte[] bytes, String source) {
    if (bytes == null) {
      Checks.fail("state of %s: expected bytes, got null", source);
    }
    if (bytes.length < HEADER_BYTES + 4) {
      Checks.fail("state of %s: expected at least %d bytes, got %d (truncated)", source, HEADER_BYTES + 4, bytes.length);
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
    int magic = buf.getInt();
    if (magic != MAGIC) {
      Checks.fail("state of %s: expected magic %08x, got %08x (not a spark-ssm state)", source, MAGIC, magic);
    }
    int version = buf.getInt();
    if (version != FORMAT_VERSION) {
      Checks.fail("state of %s: expected format version %d, got %d", source, FORMAT_VERSION, version);
    }
    long fingerprint = buf.getLong();
    long position = buf.getLong();
    int count = buf.getInt();
    long expectedLength = HEADER_BYTES + 8L * count + 4;
    if (count < 0 || expectedLength != bytes.length) {
      Checks.fail("state of %s: expected %d bytes for %d state values, got %d", source, expectedLength, count, bytes.length);
    }
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - 4);
    int storedCrc = ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.BIG_ENDIAN).getInt();
    if (storedCrc != (int) crc.getValue()) {
      Checks.fail("state of %s: expected checksum %08x, got %08x (corrupt)", source, (int) crc.getValue(), storedCrc);
    }
    if (position < 0) {
      Checks.fail("state of %s: expected a position >= 0, got %d", source, position);
    }
    double[] hidden = new double[count];
    for (int i = 0; i < count; i++) {
      hidden[i] = buf.getDouble();
    }
    return new ScanState(fingerprint, position, hidden);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ScanState)) {
      return false;
    }
    ScanState other = (ScanState) o;
    return fingerprint == other.fingerprint && position == other.position && Arrays.equals(hidden, other.hidden);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(fingerprint) * 31 * 31 + Long.hashCode(position) * 31 + Arrays.hashCode(hidden);
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "ScanState(fingerprint=%016x, position=%d, size=%d)",
        fingerprint, position, hidden.length);
  }
}
