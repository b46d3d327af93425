package org.sparkssm.spark.sql;

import scala.collection.Seq;

/** Conversions at the SQL boundary: {@code array<double>} arrives as a Scala {@code Seq} of boxed doubles. */
final class SqlArrays {
  private SqlArrays() {}

  /** The values, with null elements as NaN (the functions' missing-value policy). */
  static double[] toDoubles(Seq<?> seq) {
    double[] out = new double[seq.length()];
    for (int i = 0; i < out.length; i++) {
      Object v = seq.apply(i);
      out[i] = v == null ? Double.NaN : ((Number) v).doubleValue();
    }
    return out;
  }

  /** A parameter array that must be present and finite; {@code function} and {@code argument} name it in errors. */
  static double[] parameter(Seq<?> seq, String function, String argument) {
    if (seq == null) {
      throw new IllegalArgumentException(function + ": argument '" + argument + "': expected an array, got null");
    }
    double[] values = toDoubles(seq);
    for (int i = 0; i < values.length; i++) {
      if (!Double.isFinite(values[i])) {
        throw new IllegalArgumentException(String.format("%s: argument '%s': expected finite values, got %s at index %d",
            function, argument, values[i], i));
      }
    }
    return values;
  }

  /**
   * Scans a single-channel sequence with a model of one input, holding the state over missing
   * (NaN) elements; {@code y} gets NaN there. Returns nothing; the final state is left in {@code h}.
   */
  static void scanHoldingMissing(org.sparkssm.scan.ScanModel m, double[] x, double[] y, double[] h) {
    int outputs = m.outputs();
    int i = 0;
    while (i < x.length) {
      if (Double.isNaN(x[i]) || Double.isInfinite(x[i])) {
        if (y != null) {
          java.util.Arrays.fill(y, i * outputs, (i + 1) * outputs, Double.NaN);
        }
        i++;
        continue;
      }
      int end = i + 1;
      while (end < x.length && Double.isFinite(x[end])) {
        end++;
      }
      double[] out = y != null ? y : new double[(end - i) * outputs];
      m.scan(x, i, out, y != null ? i * outputs : 0, end - i, h);
      i = end;
    }
  }

  /**
   * A whole-number argument: Java UDFs get their arguments uncoerced (an int literal, a bigint
   * column or a decimal all arrive as their own classes), so accept any integral {@link Number}.
   */
  static int intArgument(Object value, String function, String argument) {
    if (!(value instanceof Number) || ((Number) value).doubleValue() != Math.rint(((Number) value).doubleValue())
        || Math.abs(((Number) value).doubleValue()) > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(String.format("%s: argument '%s': expected an integer, got %s", function,
          argument, value));
    }
    return ((Number) value).intValue();
  }

  /** A numeric argument of any numeric SQL type (double, decimal literal, int). */
  static double doubleArgument(Object value, String function, String argument) {
    if (!(value instanceof Number)) {
      throw new IllegalArgumentException(String.format("%s: argument '%s': expected a number, got %s", function,
          argument, value));
    }
    return ((Number) value).doubleValue();
  }
}
