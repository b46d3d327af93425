package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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

  @Test
  void aGpuSettingThatCannotBeMetIsOneLineBeforeTheJob() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeFalse(org.sparkssm.gpu.Gpu.available(), "this machine has a GPU");
    String checkpoint = java.nio.file.Paths.get("../spark-ssm/src/test/resources/golden/mamba/mamba1").toString();
    String input = java.nio.file.Paths.get("../data-samples/tokens-4x300.csv").toString();
    List<String> required = stderr("score", "--quiet", "--checkpoint", checkpoint, "-i", input, "-o",
        tmp.resolve("a").toString(), "--conf", "spark.ssm.gpu.enabled=true");
    assertEquals(List.of("score: error: spark.ssm.gpu.enabled=true but this executor has "
        + org.sparkssm.gpu.Gpu.unavailableReason()), required);
    List<String> misspelt = stderr("score", "--quiet", "--checkpoint", checkpoint, "-i", input, "-o",
        tmp.resolve("b").toString(), "--conf", "spark.ssm.gpu.enabled=yes");
    assertEquals(List.of("score: error: spark.ssm.gpu.enabled: expected auto, true or false, got 'yes'"), misspelt);
  }

  /** Runs the jobs' main class in a new JVM that fails (exit 1); its stderr lines. */
  private List<String> stderr(String... args) throws Exception {
    JobProcess job = JobProcess.start(tmp, Map.of(), args);
    assertEquals(1, job.waitFor(), job::stderr);
    return job.stderrLines();
  }
}
