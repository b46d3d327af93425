package org.sparkssm.spark.sql;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
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

  /** Every function: SQL name → implementing class (and each returns {@code array<double>}). */
  public static final Map<String, Class<?>> CATALOG = catalog();

  private static Map<String, Class<?>> catalog() {
    Map<String, Class<?>> c = new LinkedHashMap<>();
    c.put("ssm_scan", SsmScanUdf.class);
    c.put("ssm_features", SsmFeaturesUdf.class);
    c.put("ssm_legt_memory", SsmLegtMemoryUdf.class);
    return Collections.unmodifiableMap(c);
  }

  /** The SQL type every function returns. */
  public static DataType returnType() {
    return DOUBLES;
  }

  public static void register(SparkSession spark) {
    // By class name, as PySpark's registerJavaFunction does: one path for both languages.
    for (Map.Entry<String, Class<?>> f : CATALOG.entrySet()) {
      spark.udf().registerJava(f.getKey(), f.getValue().getName(), DOUBLES);
    }
  }
}
