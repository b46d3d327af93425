package org.sparkssm.spark.cluster;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.sparkssm.gpu.Gpu;
import org.sparkssm.gpu.GpuMode;
import org.sparkssm.mamba.MambaModel;
import org.sparkssm.spark.gpu.TaskGpu;
import org.sparkssm.spark.mamba.MambaScore;

/**
 * The driver of the GPU resource-scheduling test, run as its own JVM against a standalone master
 * whose Workers announce GPUs through a discovery script: prints the GPU addresses its tasks were
 * granted and what they chose, scores sequences under {@code auto} (printing whether they equal the
 * scores under {@code false} exactly) and under {@code true} (printing the failure). Arguments: master URL,
 * executor JVM flags, executor class path, Mamba checkpoint directory.
 */
public final class ClusterGpuJob {
  private ClusterGpuJob() {}

  public static void main(String[] args) throws Exception {
    SparkSession spark = SparkSession.builder().appName("spark-ssm GPU scheduling test").master(args[0])
        .config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1").config("spark.sql.shuffle.partitions", "2")
        .config("spark.executor.memory", "512m").config("spark.executor.cores", "1")
        .config("spark.executor.resource.gpu.amount", "1").config("spark.task.resource.gpu.amount", "1")
        .config("spark.executor.extraJavaOptions", args[1]).config("spark.executor.extraClassPath", args[2])
        .getOrCreate();
    spark.sparkContext().setLogLevel("WARN");

    Dataset<String> seen = spark.range(0, 4, 1, 4).mapPartitions((MapPartitionsFunction<Long, String>) it -> {
      ResourceInformation gpu = TaskContext.get().resourcesJMap().get("gpu");
      String addresses = gpu == null ? "none" : String.join(",", gpu.addresses());
      Gpu chosen = TaskGpu.gpu(GpuMode.AUTO);
      return List.of(addresses + "->" + (chosen == null ? "cpu" : chosen.describe())).iterator();
    }, Encoders.STRING());
    List<String> tasks = new ArrayList<>(seen.collectAsList());
    tasks.sort(null);
    System.out.println("TASKS " + tasks);

    MambaModel model = MambaModel.load(Paths.get(args[3]));
    StructType schema = new StructType().add("id", DataTypes.IntegerType)
        .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType));
    List<Row> rows = new ArrayList<>();
    List<int[]> sequences = List.of(new int[] {1, 5, 7, 2, 9}, new int[] {3, 3, 8}, new int[] {4, 0, 6, 6, 1, 2});
    for (int i = 0; i < sequences.size(); i++) {
      rows.add(RowFactory.create(i, Arrays.stream(sequences.get(i)).boxed().toArray()));
    }
    Dataset<Row> df = spark.createDataFrame(rows, schema).repartition(2);

    spark.conf().set(Gpu.SETTING, "false");
    List<Row> onCpu = MambaScore.with(model).tokens("tokens").scoreArrays(df).orderBy("id").collectAsList();
    spark.conf().set(Gpu.SETTING, "auto");
    List<Row> auto = MambaScore.with(model).tokens("tokens").scoreArrays(df).orderBy("id").collectAsList();
    System.out.println("AUTO SCORED " + auto.size() + (auto.equals(onCpu) && auto.size() == sequences.size()
        ? " EQUAL TO THE CPU" : " DIFFERENT: " + auto + " vs " + onCpu));

    spark.conf().set(Gpu.SETTING, "true");
    try {
      MambaScore.with(model).tokens("tokens").scoreArrays(df).collectAsList();
      System.out.println("TRUE SCORED (unexpected)");
    } catch (Exception e) {
      Throwable cause = e;
      while (cause.getCause() != null) {
        cause = cause.getCause();
      }
      System.out.println("TRUE FAILED: " + cause.getMessage());
    }
    spark.stop();
  }
}
