package org.sparkssm;

/**
 * The one place user-facing argument errors come from. Every method throws
 * {@link IllegalArgumentException} with a message that names the argument, says what was expected
 * and what was got. Kernels call these at their public boundary, never inside hot loops.
 */
public final class Checks {
  private Checks() {}

  /** Throws an {@link IllegalArgumentException} built from a format string. */
  public static IllegalArgumentException fail(String format, Object... args) {
    throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, format, args));
  }

  public static <T> T notNull(String name, T value) {
    if (value == null) {
      fail("%s: expected a value, got null", name);
    }
    return value;
  }

  /** {@code value >= 1}. */
  public static int positive(String name, int value) {
    if (value < 1) {
      fail("%s: expected >= 1, got %d", name, value);
    }
    return value;
  }

  /** {@code value >= 0}. */
  public static int nonNegative(String name, int value) {
    if (value < 0) {
      fail("%s: expected >= 0, got %d", name, value);
    }
    return value;
  }

  /** {@code value >= 0}. */
  public static long nonNegative(String name, long value) {
    if (value < 0) {
      fail("%s: expected >= 0, got %d", name, value);
    }
    return value;
  }

  /** {@code value} finite and {@code > 0}, e.g. a step size Δt. */
  public static double positiveFinite(String name, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      fail("%s: expected a finite value > 0, got %s", name, value);
    }
    return value;
  }

  public static double finite(String name, double value) {
    if (!Double.isFinite(value)) {
      fail("%s: expected a finite value, got %s", name, value);
    }
    return value;
  }

  /** The array has exactly {@code expected} elements; {@code shape} explains the size, e.g. "D*N = 4*16". */
  public static double[] length(String name, double[] array, int expected, String shape) {
    notNull(name, array);
    if (array.length != expected) {
      fail("%s: expected length %d (%s), got %d", name, expected, shape, array.length);
    }
    return array;
  }

  /** {@code [offset, offset + count)} lies inside the array. */
  public static void range(String name, double[] array, int offset, long count) {
    notNull(name, array);
    if (offset < 0 || count < 0 || offset + count > array.length) {
      fail("%s: expected %d elements from offset %d, got an array of length %d",
          name, count, offset, array.length);
    }
  }

  /** {@code [offset, offset + count)} lies inside the array (float32 sequences). */
  public static void range(String name, float[] array, int offset, long count) {
    notNull(name, array);
    if (offset < 0 || count < 0 || offset + count > array.length) {
      fail("%s: expected %d elements from offset %d, got an array of length %d",
          name, count, offset, array.length);
    }
  }

  /** The float32 array has exactly {@code expected} elements; {@code shape} explains the size. */
  public static float[] length(String name, float[] array, int expected, String shape) {
    notNull(name, array);
    if (array.length != expected) {
      fail("%s: expected length %d (%s), got %d", name, expected, shape, array.length);
    }
    return array;
  }

  /** Every element is finite (no NaN or infinity). */
  public static double[] allFinite(String name, double[] array) {
    notNull(name, array);
    for (int i = 0; i < array.length; i++) {
      if (!Double.isFinite(array[i])) {
        fail("%s: expected finite values, got %s at index %d", name, array[i], i);
      }
    }
    return array;
  }

  /** Every element of a continuous-time diagonal (real parts) is {@code < 0}: a stable system. */
  public static double[] allNegative(String name, double[] realParts) {
    allFinite(name, realParts);
    for (int i = 0; i < realParts.length; i++) {
      if (!(realParts[i] < 0)) {
        fail("%s: expected Re(A) < 0 (a stable system), got %s at index %d", name, realParts[i], i);
      }
    }
    return realParts;
  }

  /** Every discrete pole has modulus {@code <= 1}: the recurrence does not grow. */
  public static void allInUnitDisk(String name, double[] re, double[] im) {
    allFinite(name + " (real part)", re);
    if (im != null) {
      allFinite(name + " (imaginary part)", im);
    }
    for (int i = 0; i < re.length; i++) {
      double m2 = re[i] * re[i] + (im == null ? 0 : im[i] * im[i]);
      if (m2 > 1.0 + 1e-12) {
        fail("%s: expected |Abar| <= 1 (a stable system), got |Abar| = %s at index %d",
            name, Math.sqrt(m2), i);
      }
    }
  }

  /** A chunk size for chunked scans: {@code >= 1}. */
  public static int chunkSize(String name, int chunk) {
    if (chunk < 1) {
      fail("%s: expected a chunk size >= 1, got %d", name, chunk);
    }
    return chunk;
  }
}
