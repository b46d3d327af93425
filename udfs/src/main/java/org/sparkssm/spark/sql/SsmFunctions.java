package org.sparkssm.spark.sql;

import java.lang.reflect.Method;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * Registers spark-ssm's SQL functions on a session:
 * <ul>
 *   <li>{@code ssm_scan(x, abar, bbar, c)}: a diagonal SSM's outputs over an array ({@link SsmScanUdf});</li>
 *   <li>{@code ssm_features(x, init, n, dt)}: the final state of an S4D bank ({@link SsmFeaturesUdf});</li>
 *   <li>{@code ssm_legt_memory(window, n)}: the HiPPO-LegT memory of a window ({@link SsmLegtMemoryUdf});</li>
 *   <li>{@code ssm_forecast(model_path, history)}: a saved forecaster's H forecasts after a history ({@link SsmForecastUdf}).</li>
 * </ul>
 * They work on {@code array<double>} rows, for short sequences and interactive use; long series
 * go through {@link org.sparkssm.spark.scan.SsmScan}. Each function is also a class with a public
 * no-arg constructor implementing one {@code UDFn}, so PySpark registers it by class name:
 * {@code spark.udf.registerJavaFunction("ssm_scan", "org.sparkssm.spark.sql.SsmScanUdf", "array<double>")}.
 * Without any call, {@code spark.sql.extensions=org.sparkssm.spark.sql.SsmSqlExtensions} gives every
 * session of the application the same functions ({@link SsmSqlExtensions}); both routes read {@link #CATALOG}.
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
    c.put("ssm_forecast", SsmForecastUdf.class);
    return Collections.unmodifiableMap(c);
  }

  /** The SQL type every function returns. */
  public static DataType returnType() {
    return DOUBLES;
  }

  /**
   * The function {@code name} as a {@link UserDefinedFunction} of an instance of {@code udfClass}
   * (which implements exactly one {@code UDFn}): what {@code registerJava} builds from a class name.
   */
  static UserDefinedFunction udf(String name, Class<?> udfClass) {
    Class<?> udfInterface = udfInterface(udfClass);
    try {
      Object instance = udfClass.getConstructor().newInstance();
      Method udf = functions.class.getMethod("udf", udfInterface, DataType.class);
      return ((UserDefinedFunction) udf.invoke(null, instance, DOUBLES)).withName(name);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(name + ": cannot instantiate " + udfClass.getName() + ": " + e, e);
    }
  }

  /** The one {@code org.apache.spark.sql.api.java.UDFn} a function class implements; n is its arity. */
  static Class<?> udfInterface(Class<?> udfClass) {
    Class<?> found = null;
    for (Class<?> i : udfClass.getInterfaces()) {
      if (i.getName().matches("org\\.apache\\.spark\\.sql\\.api\\.java\\.UDF\\d+")) {
        if (found != null) {
          throw new IllegalStateException(udfClass.getName() + ": expected one UDFn interface, got " + found.getName()
              + " and " + i.getName());
        }
        found = i;
      }
    }
    if (found == null) {
      throw new IllegalStateException(udfClass.getName() + ": expected a UDFn interface, got none");
    }
    return found;
  }

  public static void register(SparkSession spark) {
    // By class name, as PySpark's registerJavaFunction does: one path for both languages.
    for (Map.Entry<String, Class<?>> f : CATALOG.entrySet()) {
      spark.udf().registerJava(f.getKey(), f.getValue().getName(), DOUBLES);
    }
  }
}
