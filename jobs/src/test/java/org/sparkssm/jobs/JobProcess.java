package org.sparkssm.jobs;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A job in its own JVM ({@code java ... org.sparkssm.jobs.Main args --master local[1]}), with the
 * test JVM's module flags and class path: what a user's process does, where Spark's logging writes
 * to the real stderr and where a kill stops everything at once.
 */
public final class JobProcess {
  private final Process process;
  private final Path stderr;

  private JobProcess(Process process, Path stderr) {
    this.process = process;
    this.stderr = stderr;
  }

  /** Starts {@code args} with the system properties {@code properties}; temporary files under {@code tmp}. */
  public static JobProcess start(Path tmp, Map<String, String> properties, String... args) throws IOException {
    return start(tmp, properties, true, args);
  }

  /** Starts {@code args} as they are (no --master added: help, version). */
  public static JobProcess startAsIs(Path tmp, String... args) throws IOException {
    return start(tmp, Map.of(), false, args);
  }

  private static JobProcess start(Path tmp, Map<String, String> properties, boolean localMaster, String... args)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized")
            || a.startsWith("-Djdk.reflect") || a.startsWith("-Dio.netty") || a.startsWith("-Duser.timezone"))
        .collect(Collectors.toList()));
    command.add("-Djava.io.tmpdir=" + tmp);
    properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.add("-cp");
    command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
        .replace(File.pathSeparator + File.pathSeparator, File.pathSeparator));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    if (localMaster) {
      command.addAll(List.of("--master", "local[1]"));
    }
    Path err = tmp.resolve("stderr-" + System.nanoTime() + ".txt");
    Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(err.toFile()).start();
    return new JobProcess(p, err);
  }

  /** Waits (at most two minutes) and returns the exit code. */
  public int waitFor() throws InterruptedException {
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("the job did not finish in 120 s:\n" + stderr());
    }
    return process.exitValue();
  }

  /** Kills the JVM at once (SIGKILL) and waits until it is gone. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Its stderr lines so far, the JVM's own incubator notice left out. */
  public List<String> stderrLines() {
    return stderr().lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).collect(Collectors.toList());
  }

  public String stderr() {
    try {
      return Files.readString(stderr, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
