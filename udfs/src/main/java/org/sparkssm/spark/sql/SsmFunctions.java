package org.sparkssm.spark.sql;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * Registers spark-ssm's SQL functions on a session:
 * <ul>
 *   <li>{@code ssm_scan(x, abar, bbar, c)}: a diagonal SSM's outputs over an array ({@link SsmScanUdf});</li>
 *   <li>{@code ssm_features(x, init, n, dt)}: the final state of an S4D bank ({@link SsmFeaturesUdf});</li>
 *   <li>{@code ssm_legt_memory(window, n)}: the HiPPO-LegT memory of a window ({@link SsmLegtMemoryUdf}).</li>
 * </ul>
 * They work on {@code array<double>} rows, for short sequences and interactive use; long series
 * go through {@link org.sparkssm.spark.scan.SsmScan}. Each function is also a class with a public
 * no-arg constructor implementing one {@code UDFn}, so PySpark registers it by class name:
 * {@code spark.udf.registerJavaFunction("ssm_scan", "org.sparkssm.spark.sql.SsmScanUdf", "array<double>")}.
 */
public final class SsmFunctions {
  private SsmFunctions() {}

  private static final DataType DOUBLES = DataTypes.createArrayType(DataTypes.DoubleType);

  public static void register(SparkSession spark) {
    spark.udf().register("ssm_scan", new SsmScanUdf(), DOUBLES);
    spark.udf().register("ssm_features", new SsmFeaturesUdf(), DOUBLES);
    spark.udf().register("ssm_legt_memory", new SsmLegtMemoryUdf(), DOUBLES);
  }
}
