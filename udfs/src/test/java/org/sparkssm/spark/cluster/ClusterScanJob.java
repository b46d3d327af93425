package org.sparkssm.spark.cluster;

import org.apache.spark.sql.SparkSession;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.scan.ScanFixtures;
import org.sparkssm.spark.scan.SsmScan;

/**
 * The driver of {@link StandaloneClusterFaultTest}, run as its own JVM against a standalone
 * master: scans a Parquet panel with a model whose tasks wait at a file gate (so the test can kill
 * an executor while it holds a task) and writes the output as Parquet through Spark's commit
 * protocol. Arguments: master URL, input path, output path, model seed, executor JVM flags,
 * executor class path, gate directory.
 */
public final class ClusterScanJob {
  private ClusterScanJob() {}

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("spark-ssm cluster fault test").master(args[0])
        .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "4")
        // Adaptive execution would coalesce the small panel's four scan partitions into one task,
        // leaving an executor with nothing to lose when it is killed.
        .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
        .config("spark.executor.memory", "512m").config("spark.executor.cores", "1")
        .config("spark.executor.extraJavaOptions", args[4]).config("spark.executor.extraClassPath", args[5])
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    ScanModel model = ScanFixtures.gated(ScanFixtures.model(Long.parseLong(args[3])), args[6]);
    System.out.println("SCAN STARTING");
    SsmScan.on(spark.read().parquet(args[1])).values("a", "b").model(model).chunkRows(4).oneTaskBytes(0).run()
        .write().parquet(args[2]);
    System.out.println("SCAN DONE");
    spark.stop();
  }
}
