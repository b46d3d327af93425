package org.sparkssm.spark.scan;

import java.util.Arrays;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.types.DataTypes;
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

  /**
   * Fails when {@code df} is a CSV input with a header line and no rows, or an empty file, before
   * the column checks blame a column for it: with no rows, schema inference leaves every column a
   * string. Runs one limit-1 query, and only when every column is a string, which no entry point
   * accepts anyway; a streaming input is not checked.
   */
  public static void requireRows(Dataset<Row> df) {
    StructType schema = df.schema();
    if (df.isStreaming()) {
      return;
    }
    if (schema.fields().length == 0) {
      Checks.fail("input%s: expected a header and rows, got an empty file", name(df));
    }
    for (StructField f : schema.fields()) {
      if (!f.dataType().equals(DataTypes.StringType)) {
        return;
      }
    }
    if (df.isEmpty()) {
      Checks.fail("input%s: expected rows, got a header only (%s)", name(df), String.join(", ", schema.fieldNames()));
    }
  }

  /** The input's files for messages: {@code " 'first'"} and how many more, or nothing. */
  private static String name(Dataset<Row> df) {
    String[] files = df.inputFiles();
    if (files.length == 0) { // a cached input: its files are in the plan under the cache
      java.util.List<String> under = new java.util.ArrayList<>();
      for (LogicalPlan leaf : scala.jdk.javaapi.CollectionConverters.asJava(
          df.queryExecution().analyzed().collectLeaves())) {
        if (leaf instanceof LogicalRelation && ((LogicalRelation) leaf).relation() instanceof HadoopFsRelation) {
          under.addAll(Arrays.asList(((HadoopFsRelation) ((LogicalRelation) leaf).relation()).inputFiles()));
        }
      }
      files = under.toArray(new String[0]);
    }
    if (files.length == 0) {
      return "";
    }
    return " '" + files[0] + "'" + (files.length > 1 ? " (and " + (files.length - 1) + " more files)" : "");
  }

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
