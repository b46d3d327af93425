package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The output commit on a real HDFS (MiniDFSCluster), through hdfs:// URIs: a scan with its state
 * table and a forecast with its report are published by HDFS renames, an overwrite replaces them,
 * and a halted overwrite (a separate JVM, stopped right after the state table's rename) is rolled
 * back to the previous pair by the next run.
 */
class HdfsCommitTest {
  @TempDir
  static Path base;

  private static MiniDFSCluster cluster;
  private static String hdfs;

  @BeforeAll
  static void startHdfs() throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("dfs").toString());
    conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfs = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  private static List<String> entries(String folder) throws Exception {
    FileSystem fs = cluster.getFileSystem();
    return Arrays.stream(fs.listStatus(new org.apache.hadoop.fs.Path(folder.substring(hdfs.length()))))
        .map(FileStatus::getPath).map(org.apache.hadoop.fs.Path::getName).sorted().collect(Collectors.toList());
  }

  private static String[] scan(String out, String state, String order, String... more) {
    List<String> args = new ArrayList<>(List.of("scan", "--quiet", "-i", hdfs + "/in", "-o", out, "--state-out",
        state, "-m", "legt", "--order", order, "--theta", "20"));
    args.addAll(List.of(more));
    return args.toArray(new String[0]);
  }

  @Test
  void jobsPublishOnHdfsAndAHaltedOverwriteIsRolledBack() throws Exception {
    SparkSession spark = JobsTests.session();
    JobsTests.Run gen = JobsTests.run("generate", "--quiet", "--out", hdfs + "/in", "--series", "3", "--length",
        "200", "--seed", "6");
    assertEquals(0, gen.code(), gen::err);

    String out = hdfs + "/work/out";
    String state = hdfs + "/work/state";
    assertEquals(0, JobsTests.run(scan(out, state, "4")).code());
    assertEquals(List.of("out", "state"), entries(hdfs + "/work"));
    List<Row> oldState = spark.read().parquet(state).orderBy("unique_id").collectAsList();

    JobProcess halted = JobProcess.start(java.nio.file.Files.createTempDirectory(base, "jvm"),
        java.util.Map.of("sparkssm.test.haltAfter", "published:state"), scan(out, state, "8", "--overwrite"));
    assertEquals(137, halted.waitFor(), halted::stderr);
    assertTrue(!entries(hdfs + "/work").contains("out"), "the primary is aside: " + entries(hdfs + "/work"));

    JobsTests.Run refused = JobsTests.run(scan(out, state, "8"));
    assertEquals(1, refused.code(), refused::err);
    assertTrue(refused.err().contains("the previous ones restored"), refused::err);
    assertEquals(oldState, spark.read().parquet(state).orderBy("unique_id").collectAsList());
    assertEquals(List.of("out", "state"), entries(hdfs + "/work"));

    JobsTests.Run overwrite = JobsTests.run(scan(out, state, "8", "--overwrite"));
    assertEquals(0, overwrite.code(), overwrite::err);
    Row first = spark.read().parquet(out).first();
    assertEquals(8, first.getList(first.fieldIndex("ssm_output")).size());
    assertEquals(List.of("out", "state"), entries(hdfs + "/work"));

    String fc = hdfs + "/work/fc";
    JobsTests.Run forecast = JobsTests.run("forecast", "--quiet", "-i", hdfs + "/in", "-o", fc, "-m", "nlinear",
        "-L", "24", "-H", "6");
    assertEquals(0, forecast.code(), forecast::err);
    assertEquals(List.of("_SUCCESS", "forecast.png", "forecasts", "holdout", "report.md", "series_metrics",
        "skipped"), entries(fc));
  }
}
