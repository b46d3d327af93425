package org.sparkssm.spark.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.SparkTests;
import org.sparkssm.spark.forecast.NetTraining;
import org.sparkssm.spark.scan.ScanFixtures;

/**
 * A standalone cluster of separate JVMs (a Master, two Workers, their executors and a driver, all
 * started from the build's class path): an executor JVM is killed in the middle of a scan job, the
 * job still finishes, and its output equals the engine's scan of every series, nothing lost or
 * duplicated; an executor killed in the middle of an optimizer step leaves the trained weights
 * exactly those of an uninterrupted training. And Spark's GPU scheduling: Workers announcing GPUs
 * through a discovery script grant one to each executor, tasks see its address, and without a CUDA
 * driver {@code spark.ssm.gpu.enabled=auto} scores on the CPU while {@code true} fails in one line.
 */
class StandaloneClusterFaultTest {
  @TempDir
  Path tmp;

  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void stopCluster() {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).descendants().forEach(ProcessHandle::destroyForcibly);
      started.get(i).destroyForcibly();
    }
  }

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** The JVM flags of this test JVM that Spark needs (the parent pom's one list), for every child JVM. */
  private static List<String> jvmFlags() {
    return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized") || a.startsWith("-Djdk.reflect")
            || a.startsWith("-Dio.netty"))
        .collect(Collectors.toList());
  }

  private static List<String> classPath() {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> entries = new ArrayList<>();
    for (String e : cp.split(File.pathSeparator)) {
      if (!e.isEmpty() && new File(e).exists()) {
        entries.add(e);
      }
    }
    return entries;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process start(String name, List<String> command, Map<String, String> env) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(tmp.resolve(name + ".log").toFile());
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private static boolean waitFor(java.util.function.BooleanSupplier condition, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return true;
      }
      Thread.sleep(200);
    }
    return condition.getAsBoolean();
  }

  private String log(String name) {
    try {
      return Files.readString(tmp.resolve(name + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  private static List<ProcessHandle> executors(Path sparkHome) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains("CoarseGrainedExecutorBackend")
            && c.contains(sparkHome.toString())).orElse(false))
        .collect(Collectors.toList());
  }

  /** The pids of the executor JVMs that have reached the gate with a task. */
  private static List<Long> running(Path gate) {
    try (java.util.stream.Stream<Path> files = Files.list(gate)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("running-"))
          .map(n -> Long.parseLong(n.substring("running-".length()))).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      return List.of();
    }
  }

  /** A running cluster: its master URL, the command prefix of its JVMs, their environment and the executors' class path. */
  private record Cluster(String master, List<String> base, Map<String, String> env, List<String> dirs, Path sparkHome) {}

  /** A Master and two one-core Workers, each its own JVM, all registered. */
  private Cluster startCluster() throws Exception {
    return startCluster(List.of(), Map.of());
  }

  /** As {@link #startCluster()}, the Workers started with {@code workerFlags} (their resources) and more environment. */
  private Cluster startCluster(List<String> workerFlags, Map<String, String> extraEnv) throws Exception {
    // A Spark home whose jars/ is this build's class path: what Workers launch executors from.
    Path sparkHome = tmp.resolve("spark-home");
    Files.createDirectories(sparkHome.resolve("jars"));
    List<String> dirs = new ArrayList<>();
    for (String e : classPath()) {
      Path p = Paths.get(e);
      if (Files.isDirectory(p)) {
        dirs.add(e);
      } else if (e.endsWith(".jar")) {
        Path link = sparkHome.resolve("jars").resolve(p.getFileName());
        if (!Files.exists(link)) {
          Files.createSymbolicLink(link, p.toAbsolutePath());
        }
      }
    }
    String cp = String.join(File.pathSeparator, classPath());
    Map<String, String> env = new HashMap<>();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.putAll(extraEnv);

    int masterPort = freePort();
    String master = "spark://127.0.0.1:" + masterPort;
    // The cluster's JVMs log at INFO (the test resources' config is for this JVM): the test reads
    // "elected leader" and "Registering worker" from them.
    Path log4j = tmp.resolve("log4j2.properties");
    Files.writeString(log4j, "rootLogger.level = info\nrootLogger.appenderRef.stdout.ref = console\n"
        + "appender.console.type = Console\nappender.console.name = console\n"
        + "appender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n");
    List<String> base = new ArrayList<>(List.of(java(), "-Xmx512m", "-Dlog4j2.configurationFile=" + log4j.toUri()));
    base.addAll(jvmFlags());
    base.addAll(List.of("-cp", cp));
    List<String> masterCmd = new ArrayList<>(base);
    masterCmd.addAll(List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
        String.valueOf(masterPort), "--webui-port", String.valueOf(freePort())));
    start("master", masterCmd, env);
    assertTrue(waitFor(() -> log("master").contains("I have been elected leader"), 60), log("master"));
    for (int w = 0; w < 2; w++) {
      List<String> workerCmd = new ArrayList<>(base);
      workerCmd.addAll(workerFlags);
      workerCmd.addAll(List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--webui-port",
          String.valueOf(freePort()), "--cores", "1", "--memory", "1g", "--work-dir",
          tmp.resolve("work-" + w).toString(), master));
      start("worker-" + w, workerCmd, env);
    }
    assertTrue(waitFor(() -> log("master").split("Registering worker", -1).length == 3, 60), log("master"));
    return new Cluster(master, base, env, dirs, sparkHome);
  }

  /** Kills the executor JVM holding a task at the gate while the driver waits, then opens the gate. */
  private void killAnExecutorAtTheGate(Cluster cluster, Path gate, Process driver) throws Exception {
    long victimPid = running(gate).get(0);
    Optional<ProcessHandle> victim = executors(cluster.sparkHome()).stream().filter(p -> p.pid() == victimPid)
        .findFirst();
    assertTrue(victim.isPresent(), "executor " + victimPid + " among " + executors(cluster.sparkHome()));
    assertTrue(driver.isAlive(), "the job is still running when the executor is killed: " + log("driver"));
    victim.get().destroyForcibly();
    assertTrue(victim.get().onExit().get(60, TimeUnit.SECONDS) != null);
    Files.createFile(gate.resolve("open"));
  }

  @Test
  void tasksSeeTheGpusSparkGrantsThemAndWithoutADriverScoreOnTheCpu() throws Exception {
    // The shipped discovery script, on nodes whose nvidia-smi reports two GPUs but that have no
    // CUDA driver library (a stand-in nvidia-smi first on the PATH).
    Path fakeBin = Files.createDirectories(tmp.resolve("bin"));
    Path nvidiaSmi = fakeBin.resolve("nvidia-smi");
    Files.writeString(nvidiaSmi, "#!/bin/sh\nprintf '0\\n1\\n'\n");
    assertTrue(nvidiaSmi.toFile().setExecutable(true));
    Path discovery = Paths.get("../bin/discover-gpus").toAbsolutePath().normalize();
    Cluster cluster = startCluster(List.of("-Dspark.worker.resource.gpu.amount=2",
        "-Dspark.worker.resource.gpu.discoveryScript=" + discovery),
        Map.of("PATH", fakeBin + File.pathSeparator + System.getenv("PATH")));
    List<String> driverCmd = new ArrayList<>(cluster.base());
    driverCmd.addAll(List.of(ClusterGpuJob.class.getName(), cluster.master(), String.join(" ", jvmFlags()),
        String.join(File.pathSeparator, cluster.dirs()),
        Paths.get("../spark-ssm/src/test/resources/golden/mamba/mamba1").toAbsolutePath().toString()));
    Process driver = start("driver", driverCmd, cluster.env());
    assertTrue(driver.waitFor(240, TimeUnit.SECONDS), "driver finished: " + log("driver"));
    assertEquals(0, driver.exitValue(), log("driver"));
    String out = log("driver");
    // Four tasks, each granted one of its executor's GPUs, each choosing the CPU (no driver here).
    java.util.regex.Matcher tasks = java.util.regex.Pattern.compile("TASKS \\[(.*)]").matcher(out);
    assertTrue(tasks.find(), out);
    List<String> seen = List.of(tasks.group(1).split(", "));
    assertEquals(4, seen.size(), out);
    for (String t : seen) {
      assertTrue(t.equals("0->cpu") || t.equals("1->cpu"), "a task granted GPU 0 or 1 that chose the CPU: " + t);
    }
    assertTrue(out.contains("AUTO SCORED 3 EQUAL TO THE CPU"), out);
    java.util.regex.Matcher failed = java.util.regex.Pattern.compile("TRUE FAILED: (.*)").matcher(out);
    assertTrue(failed.find(), out);
    assertTrue(failed.group(1).startsWith("spark.ssm.gpu.enabled=true but this executor has no usable CUDA driver"),
        failed.group(1));
  }

  @Test
  void killingAnExecutorMidScanLosesAndDuplicatesNothing() throws Exception {
    SparkSession spark = SparkTests.session();
    List<Row> rows = ScanFixtures.panelRows(81, 12, 400);
    String input = tmp.resolve("input").toString();
    spark.createDataFrame(rows, ScanFixtures.schema()).repartition(3).write().parquet(input);
    Cluster cluster = startCluster();

    String output = tmp.resolve("output").toString();
    Path gate = Files.createDirectories(tmp.resolve("gate"));
    List<String> driverCmd = new ArrayList<>(cluster.base());
    driverCmd.addAll(List.of(ClusterScanJob.class.getName(), cluster.master(), input, output, "82",
        String.join(" ", jvmFlags()), String.join(File.pathSeparator, cluster.dirs()), gate.toString()));
    Process driver = start("driver", driverCmd, cluster.env());

    // Both executors hold a scan task at the gate: kill one of them, then let the tasks go on.
    assertTrue(waitFor(() -> running(gate).size() == 2, 180), "both executors running a task: " + log("driver"));
    killAnExecutorAtTheGate(cluster, gate, driver);

    assertTrue(driver.waitFor(240, TimeUnit.SECONDS), "driver finished: " + log("driver"));
    assertEquals(0, driver.exitValue(), log("driver"));
    assertTrue(log("driver").contains("SCAN DONE"), log("driver"));
    assertTrue(log("driver").contains("Lost executor"), "the driver saw the executor die: " + log("driver"));

    // Every input row once, with the engine's values.
    ScanModel m = ScanFixtures.model(82);
    List<Row> out = spark.read().parquet(output).collectAsList();
    assertEquals(rows.size(), out.size(), "no row lost or duplicated");
    Map<String, List<long[]>> bySeries = new HashMap<>();
    Map<String, List<double[]>> values = new HashMap<>();
    for (Row r : rows) {
      bySeries.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(new long[] {r.getLong(1)});
      values.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(new double[] {r.getLong(1), r.getDouble(2),
          r.getDouble(3)});
    }
    Map<String, Map<Long, double[]>> expected = new HashMap<>();
    for (Map.Entry<String, List<double[]>> e : values.entrySet()) {
      List<double[]> series = e.getValue();
      series.sort((a, b) -> Double.compare(a[0], b[0]));
      double[] u = new double[2 * series.size()];
      for (int i = 0; i < series.size(); i++) {
        u[2 * i] = series.get(i)[1];
        u[2 * i + 1] = series.get(i)[2];
      }
      double[] y = new double[u.length];
      m.scan(u, 0, y, 0, series.size(), new double[m.stateSize()]);
      Map<Long, double[]> byTime = new HashMap<>();
      for (int i = 0; i < series.size(); i++) {
        byTime.put((long) series.get(i)[0], new double[] {y[2 * i], y[2 * i + 1]});
      }
      expected.put(e.getKey(), byTime);
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Row r : out) {
      String id = r.getString(0);
      long t = r.getLong(1);
      assertTrue(seen.add(id + "@" + t), "duplicate output " + id + "@" + t);
      double[] e = expected.get(id).get(t);
      List<Double> got = r.getList(2);
      assertEquals(e[0], got.get(0), 0.0, id + "@" + t);
      assertEquals(e[1], got.get(1), 0.0, id + "@" + t);
    }
    assertTrue(log("driver").contains("SCAN DONE"));
  }

  /**
   * Data-parallel training on the cluster, an executor killed while it computes its shard of
   * optimizer step 5 (its cached windows lost with it): the step is retried, the lost windows are
   * rebuilt from the input, and the weights equal, bit for bit, those of the same training (same
   * data, seed and partition count) in this JVM's local session.
   */
  @Test
  void killingAnExecutorMidStepLeavesTheTrainedWeightsUnchanged() throws Exception {
    SparkSession spark = SparkTests.session();
    List<Row> rows = new ArrayList<>();
    SplittableRandom rnd = new SplittableRandom(13);
    for (int s = 0; s < 6; s++) {
      for (int t = 0; t < 120 + 7 * s; t++) {
        rows.add(RowFactory.create("s" + s, (long) t,
            Math.sin(2 * Math.PI * t / 12 + s) + 0.01 * s * t + 0.1 * rnd.nextGaussian()));
      }
    }
    StructType schema = new StructType()
        .add("unique_id", DataTypes.StringType)
        .add("ds", DataTypes.LongType)
        .add("y", DataTypes.DoubleType);
    String input = tmp.resolve("panel").toString();
    spark.createDataFrame(rows, schema).repartition(3).write().parquet(input);
    String expected = ClusterTrainJob.hex(ClusterTrainJob.training(spark.read().parquet(input)).fit().forecaster()
        .weights());

    Cluster cluster = startCluster();
    Path gate = Files.createDirectories(tmp.resolve("gate"));
    Path weights = tmp.resolve("weights.txt");
    List<String> driverCmd = new ArrayList<>(cluster.base());
    driverCmd.addAll(List.of(ClusterTrainJob.class.getName(), cluster.master(), input, weights.toString(),
        String.join(" ", jvmFlags()), String.join(File.pathSeparator, cluster.dirs()), gate.toString(),
        NetTraining.DESCRIPTION_PREFIX + "optimizer step 5"));
    Process driver = start("driver", driverCmd, cluster.env());

    assertTrue(waitFor(() -> !running(gate).isEmpty(), 180), "an executor computing step 5: " + log("driver"));
    killAnExecutorAtTheGate(cluster, gate, driver);

    assertTrue(driver.waitFor(240, TimeUnit.SECONDS), "driver finished: " + log("driver"));
    assertEquals(0, driver.exitValue(), log("driver"));
    assertTrue(log("driver").contains("TRAIN DONE"), log("driver"));
    assertTrue(log("driver").contains("Lost executor"), "the driver saw the executor die: " + log("driver"));
    assertEquals(expected, Files.readString(weights), "the weights of the uninterrupted training");
  }
}
