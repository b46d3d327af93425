package org.sparkssm.spark.scan;

import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;

/**
 * Between DataFrames and RDDs of Spark's internal rows, without the external {@link Row} encoder
 * (the many-series scan reads sorted {@code UnsafeRow}s in place and writes {@link InternalRow}s).
 * Spark exposes these conversions to its own packages only ({@code private[sql]}); they are public
 * in the bytecode of the classic (non-Connect) session, which is what executors of this library run.
 */
final class InternalFrames {
  private InternalFrames() {}

  /**
   * The rows of {@code df}, planned without adaptive execution: with it, turning a plan with a
   * shuffle into an RDD runs the shuffle at once, and the scan's output must stay lazy until an
   * action. A cloned session carries the user's settings with only that one changed.
   */
  static RDD<InternalRow> rowsOf(Dataset<Row> df) {
    org.apache.spark.sql.classic.SparkSession planner = classic(df.sparkSession()).cloneSession();
    planner.conf().set("spark.sql.adaptive.enabled", "false");
    return org.apache.spark.sql.classic.Dataset.ofRows(planner,
        ((org.apache.spark.sql.classic.Dataset<Row>) df).queryExecution().analyzed()).queryExecution().toRdd();
  }

  /** A DataFrame over {@code rows}, which must match {@code schema} in Spark's internal types. */
  static Dataset<Row> frameOf(SparkSession session, RDD<InternalRow> rows, StructType schema) {
    return classic(session).internalCreateDataFrame(rows, schema, false);
  }

  private static org.apache.spark.sql.classic.SparkSession classic(SparkSession session) {
    if (!(session instanceof org.apache.spark.sql.classic.SparkSession)) {
      throw new IllegalArgumentException("SsmScan: expected a classic SparkSession (the scan runs inside the executor "
          + "JVMs), got " + session.getClass().getName() + " (Spark Connect)");
    }
    return (org.apache.spark.sql.classic.SparkSession) session;
  }
}
