package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failure found in a task reaches the user as the job's one line, not as Spark's ERROR logs and
 * traces: checked on the real stderr of a separate JVM, where Spark's logging writes (a job run in
 * the test JVM only shows what the job itself prints).
 */
class OneLineErrorsTest {
  @TempDir
  Path tmp;

  @Test
  void aDuplicateTimeFoundInATaskIsOneLineOnStderrAndTheTraceOnlyWithVerbose() throws Exception {
    Path csv = Files.writeString(tmp.resolve("dup.csv"), "unique_id,ds,y\na,1,1\na,2,2\na,2,3\na,3,4\n");
    String message = "forecast: error: column 'ds': expected strictly increasing times, got 2 twice in series "
        + "unique_id = 'a' (duplicate time)";

    List<String> quiet = stderr("forecast", "--quiet", "-i", csv.toString(), "-o", tmp.resolve("a").toString(),
        "-L", "1", "-H", "1", "--min-length", "1");
    assertEquals(List.of(message), quiet);

    List<String> verbose = stderr("forecast", "--verbose", "-i", csv.toString(), "-o", tmp.resolve("b").toString(),
        "-L", "1", "-H", "1", "--min-length", "1");
    assertTrue(verbose.contains(message), () -> String.join("\n", verbose));
    assertTrue(verbose.stream().anyMatch(l -> l.startsWith("\tat ")), () -> "the trace under --verbose:\n"
        + String.join("\n", verbose));
  }

  /** Runs the jobs' main class in a new JVM; its stderr lines, the JVM's own incubator notice left out. */
  private List<String> stderr(String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith("--add-") || a.startsWith("-XX:+IgnoreUnrecognized")
            || a.startsWith("-Djdk.reflect") || a.startsWith("-Dio.netty") || a.startsWith("-Duser.timezone"))
        .collect(Collectors.toList()));
    command.add("-Djava.io.tmpdir=" + tmp);
    command.add("-cp");
    command.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
        .replace(File.pathSeparator + File.pathSeparator, File.pathSeparator));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    command.addAll(List.of("--master", "local[1]"));
    Path err = tmp.resolve("stderr-" + System.nanoTime() + ".txt");
    Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(err.toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the job finished");
    assertEquals(1, p.exitValue(), () -> read(err));
    return read(err).lines().filter(l -> !l.startsWith("WARNING: Using incubator modules"))
        .collect(Collectors.toList());
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
