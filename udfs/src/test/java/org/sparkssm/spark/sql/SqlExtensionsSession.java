package org.sparkssm.spark.sql;

import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The driver of {@link SsmSqlExtensionsTest}, run as its own JVM: a session whose only link to
 * spark-ssm is {@code spark.sql.extensions}, running plain SQL. Prints one line per query,
 * {@code <function>=<values>} with values as {@link Double#toString} gives them. Arguments: the
 * model path, the history as comma-separated doubles.
 */
public final class SqlExtensionsSession {
  private SqlExtensionsSession() {}

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("spark-ssm sql extensions test").master("local[2]")
        .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.extensions", "org.sparkssm.spark.sql.SsmSqlExtensions")
        .getOrCreate();
    spark.sparkContext().setLogLevel("ERROR");
    StringBuilder history = new StringBuilder();
    for (String v : args[1].split(",")) {
      history.append(history.length() == 0 ? "" : ", ").append("double('").append(v).append("')");
    }
    String[][] queries = {
        {"ssm_scan", "SELECT ssm_scan(array(1.0, 0.0, 0.0), array(0.9), array(1.0), array(1.0))"},
        {"ssm_features", "SELECT ssm_features(array(1.0), 's4d-lin', 4, 0.5)"},
        {"ssm_legt_memory", "SELECT ssm_legt_memory(array(1.0, 2.0), 3)"},
        {"ssm_forecast", "SELECT ssm_forecast('" + args[0] + "', array(" + history + "))"}};
    for (String[] q : queries) {
      Row r = spark.sql(q[1]).first();
      List<Double> values = r.getList(0);
      StringBuilder line = new StringBuilder(q[0]).append('=');
      for (int i = 0; i < values.size(); i++) {
        line.append(i == 0 ? "" : ",").append(values.get(i));
      }
      System.out.println(line);
    }
    spark.stop();
  }
}
