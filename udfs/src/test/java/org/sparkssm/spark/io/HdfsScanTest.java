package org.sparkssm.spark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.scan.ScanFixtures;
import org.sparkssm.spark.scan.SsmScan;

/** Input, output and state tables on a real HDFS (MiniDFSCluster), through hdfs:// URIs. */
class HdfsScanTest {
  @TempDir
  static Path base;

  private static MiniDFSCluster cluster;
  private static String hdfs;
  private final SparkSession spark = SparkTests.session();

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

  @Test
  void scanReadsAndWritesHdfsAndResumesFromAStateTableThere() throws Exception {
    List<Row> rows = ScanFixtures.panelRows(61, 8, 80);
    ScanModel m = ScanFixtures.model(62);
    String input = hdfs + "/ssm/input";
    spark.createDataFrame(rows, ScanFixtures.schema()).write().parquet(input);

    Dataset<Row> in = spark.read().parquet(input);
    SsmScan.ScanResult result = SsmScan.on(in).values("a", "b").model(m).chunkRows(9).runWithState();
    result.output().write().parquet(hdfs + "/ssm/output");
    result.states().write().parquet(hdfs + "/ssm/state");
    result.unpersist();

    FileSystem fs = cluster.getFileSystem();
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/ssm/output/_SUCCESS")), "committed output");
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path("/ssm/state/_SUCCESS")), "committed state table");

    List<Row> local = SsmScan.on(spark.createDataFrame(rows, ScanFixtures.schema())).values("a", "b")
        .model(m).run().orderBy("unique_id", "ds").collectAsList();
    List<Row> fromHdfs = spark.read().parquet(hdfs + "/ssm/output").orderBy("unique_id", "ds").collectAsList();
    assertEquals(local, fromHdfs);

    // Resuming from the state table on HDFS with no new rows keeps every series' state.
    Dataset<Row> state = spark.read().parquet(hdfs + "/ssm/state");
    SsmScan.ScanResult again = SsmScan.on(in).values("a", "b").model(m).resumeFrom(state).runWithState();
    assertEquals(0, again.output().count());
    assertEquals(state.count(), again.states().count());
    again.unpersist();
  }

  @Test
  void aFailedJobLeavesNoVisibleOutput() throws Exception {
    List<Row> rows = ScanFixtures.panelRows(71, 6, 40);
    String out = hdfs + "/ssm/failed-output";
    ScanModel alwaysFails = ScanFixtures.alwaysFailing(ScanFixtures.model(72));
    Dataset<Row> df = spark.createDataFrame(rows, ScanFixtures.schema()).repartition(3);
    assertThrows(Exception.class,
        () -> SsmScan.on(df).values("a", "b").model(alwaysFails).oneTaskBytes(0).run().write().parquet(out));
    FileSystem fs = cluster.getFileSystem();
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path("/ssm/failed-output");
    // Spark's commit protocol: task output stays under _temporary until the job commits, and an
    // aborted job removes it, so no data file is ever visible at the destination.
    if (fs.exists(path)) {
      for (org.apache.hadoop.fs.FileStatus f : fs.listStatus(path)) {
        assertFalse(f.getPath().getName().startsWith("part-"), "visible data file " + f.getPath());
        assertFalse(f.getPath().getName().equals("_SUCCESS"), "success marker");
      }
    }
  }
}
