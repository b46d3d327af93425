package org.sparkssm.spark.cluster;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.stream.Collectors;
import java.util.stream.DoubleStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkssm.spark.forecast.NetTraining;
import org.sparkssm.spark.forecast.WindowSplit;
import org.sparkssm.train.DeepModels;
import org.sparkssm.train.TrainingConfig;

/**
 * The driver of {@link StandaloneClusterFaultTest}'s training case, run as its own JVM against a
 * standalone master: trains a small network over a Parquet long-format panel with two partitions,
 * the tasks of one optimizer step held at {@link TaskGatePlugin}'s gate, and writes the weights
 * (one {@code Double.toHexString} per line). Arguments: master URL, input path, weights file,
 * executor JVM flags, executor class path, gate directory, gated job description.
 */
public final class ClusterTrainJob {
  private ClusterTrainJob() {}

  /** The network and training both this job and the test's in-process reference run. */
  static NetTraining training(Dataset<Row> panel) {
    DeepModels model = new DeepModels("smamba", 8, 1, 4, 8, 0.1, 24, false);
    TrainingConfig config = TrainingConfig.defaults().withEpochs(2).withBatchSize(12).withWindowsPerEpoch(72)
        .withPatience(0).withLearningRate(3e-3).withThreads(1);
    return NetTraining.on(panel).model(model).lookback(24).horizon(6).split(WindowSplit.lastRows(30, 0))
        .config(config).partitions(2);
  }

  static String hex(double[] w) {
    return DoubleStream.of(w).mapToObj(Double::toHexString).collect(Collectors.joining("\n"));
  }

  public static void main(String[] args) throws Exception {
    SparkSession spark = SparkSession.builder().appName("spark-ssm cluster training fault test").master(args[0])
        .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "4")
        .config("spark.executor.memory", "512m").config("spark.executor.cores", "1")
        .config("spark.executor.extraJavaOptions", args[3]).config("spark.executor.extraClassPath", args[4])
        .config("spark.plugins", TaskGatePlugin.class.getName()).config("spark.ssm.test.gate", args[5])
        .config("spark.ssm.test.gateDescription", args[6])
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    System.out.println("TRAIN STARTING");
    double[] w = training(spark.read().parquet(args[1])).fit().forecaster().weights();
    Files.writeString(Paths.get(args[2]), hex(w));
    System.out.println("TRAIN DONE");
    spark.stop();
  }
}
