package org.sparkssm.spark;

import org.apache.spark.sql.SparkSession;

/** One local SparkSession per test JVM: starting one costs seconds, and tests share it. */
public final class SparkTests {
  private SparkTests() {}

  private static SparkSession session;

  public static synchronized SparkSession session() {
    if (session == null) {
      session = SparkSession.builder()
          .appName("spark-ssm tests")
          // Two task attempts: tests fail first attempts on purpose and expect the retry to succeed.
          .master("local[2,2]")
          .config("spark.ui.enabled", "false")
          .config("spark.sql.shuffle.partitions", "4")
          .config("spark.default.parallelism", "2")
          .config("spark.driver.bindAddress", "127.0.0.1")
          .config("spark.driver.host", "127.0.0.1")
          .config("spark.sql.session.timeZone", "UTC")
          .config("spark.sql.adaptive.enabled", "false")
          .getOrCreate();
    }
    return session;
  }

  /** Every message of an exception's cause chain: task failures arrive wrapped by Spark. */
  public static String rootMessage(Throwable t) {
    StringBuilder all = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      all.append(c.getMessage()).append(" | ");
    }
    return all.toString();
  }
}
