package org.sparkssm.spark.ml;

import java.util.Arrays;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.spark.scan.InputColumns;
import scala.Function1;
import scala.runtime.AbstractFunction1;

/** The schema checks and param validators the stages share (MLlib's second layer of validation). */
final class StageParams {
  private StageParams() {}

  /** A validator of array params: at least one element. */
  static <T> Function1<T, Object> nonEmptyArray() {
    return new Validator<T>(v -> java.lang.reflect.Array.getLength(v) > 0);
  }

  /** A validator of double array params: every element in the open interval (0, 1). */
  static Function1<double[], Object> eachInOpenUnitInterval() {
    return new Validator<double[]>(v -> Arrays.stream(v).allMatch(x -> x > 0 && x < 1));
  }

  /** A validator of double array params: at least one element, each finite and >= 0. */
  static Function1<double[], Object> nonEmptyNonNegative() {
    return new Validator<double[]>(v -> v.length > 0 && Arrays.stream(v).allMatch(x -> x >= 0 && Double.isFinite(x)));
  }

  /** A Scala predicate from a Java one; Serializable, as params travel with their stage. */
  private static final class Validator<T> extends AbstractFunction1<T, Object> implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final SerializablePredicate<T> test;

    Validator(SerializablePredicate<T> test) {
      this.test = test;
    }

    @Override
    public Object apply(T value) {
      return value != null && test.test(value);
    }
  }

  interface SerializablePredicate<T> extends java.util.function.Predicate<T>, java.io.Serializable {}

  /** The series, time and value columns exist and have usable types (errors name the column). */
  static void requireColumns(StructType schema, String series, String time, String... values) {
    InputColumns.field(schema, series, "series");
    InputColumns.time(schema, time);
    for (String v : values) {
      InputColumns.numeric(schema, v);
    }
  }
}
