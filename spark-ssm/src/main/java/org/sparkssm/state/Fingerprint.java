package org.sparkssm.state;

/**
 * A 64-bit fingerprint of a model's shape and parameters (FNV-1a over the bit patterns), so a saved
 * {@link ScanState} is only resumed by the model that wrote it. Not cryptographic: it guards
 * against mistakes, not adversaries.
 */
public final class Fingerprint {
  private static final long OFFSET_BASIS = 0xcbf29ce484222325L;
  private static final long PRIME = 0x100000001b3L;

  private long hash = OFFSET_BASIS;

  public Fingerprint add(long value) {
    for (int i = 0; i < 8; i++) {
      hash ^= (value >>> (8 * i)) & 0xff;
      hash *= PRIME;
    }
    return this;
  }

  public Fingerprint add(String value) {
    add(value.length());
    for (int i = 0; i < value.length(); i++) {
      add(value.charAt(i));
    }
    return this;
  }

  public Fingerprint add(double value) {
    return add(Double.doubleToLongBits(value));
  }

  /** Adds the length and every element; a null array is recorded as length -1. */
  public Fingerprint add(double[] values) {
    if (values == null) {
      return add(-1L);
    }
    add(values.length);
    for (double v : values) {
      add(v);
    }
    return this;
  }

  public long value() {
    return hash;
  }
}
