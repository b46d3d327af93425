package org.sparkssm.spark.scan;

import java.util.Arrays;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.Checks;

/**
 * The input-column checks every entry point runs on the schema before any job (MLlib's
 * {@code transformSchema} layer), with one message shape: {@code <role> column '<name>': expected
 * ..., got ...}.
 */
public final class InputColumns {
  private InputColumns() {}

  /** The column {@code name}, or an error naming it and the columns there are. */
  public static StructField field(StructType schema, String name, String role) {
    if (!Arrays.asList(schema.fieldNames()).contains(name)) {
      Checks.fail("%s column '%s': expected a column of the input, got none among %s", role, name,
          Arrays.toString(schema.fieldNames()));
    }
    return schema.apply(name);
  }

  /** A time column: timestamp, timestamp_ntz, date, long or int ({@link TimeCodec}). */
  public static StructField time(StructType schema, String name) {
    StructField f = field(schema, name, "time");
    if (!TimeCodec.supports(f.dataType())) {
      Checks.fail("time column '%s': expected timestamp, timestamp_ntz, date, long or int, got %s", name,
          f.dataType().simpleString());
    }
    return f;
  }

  /** A numeric value column. */
  public static StructField numeric(StructType schema, String name) {
    StructField f = field(schema, name, "value");
    if (!(f.dataType() instanceof NumericType)) {
      Checks.fail("value column '%s': expected a numeric type, got %s", name, f.dataType().simpleString());
    }
    return f;
  }
}
