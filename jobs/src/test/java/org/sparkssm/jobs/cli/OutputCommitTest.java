package org.sparkssm.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commit protocol on the local file system, with a stop (an Error, as a kill leaves the files)
 * after every step of a commit and of the recovery that follows: a reader never sees a mix of two
 * runs' outputs, and the outputs end as the old set (stopped before the commit point) or the new
 * one (after it). The kill tests in {@code JobKillTest} stop real jobs at chosen points.
 */
class OutputCommitTest {
  @TempDir
  Path dir;

  private final Configuration conf = new Configuration();
  private final List<String> notices = new ArrayList<>();

  /** What a kill does to the thread: the files stay as they are, nothing catches it. */
  private static final class Stop extends Error {
    private static final long serialVersionUID = 1L;
  }

  /** Counts steps and stops at the {@code stopAt}-th (1-based; 0 never). */
  private static final class Counter implements OutputCommit.Steps {
    final int stopAt;
    int seen;

    Counter(int stopAt) {
      this.stopAt = stopAt;
    }

    @Override
    public void after(String step) {
      if (++seen == stopAt) {
        throw new Stop();
      }
    }
  }

  @Test
  void outputsArePublishedTogetherWithAMarkerAndNoLeftovers() throws IOException {
    String out = dir.resolve("out").toString();
    String state = dir.resolve("state").toString();
    try (OutputCommit c = OutputCommit.begin(conf, false, notices::add, out, state)) {
      stage(c, out, state, "A");
      assertFalse(Files.exists(dir.resolve("out")), "nothing visible before the commit");
      c.publish();
    }
    assertEquals("A", generation(out));
    assertEquals("A", generation(state));
    assertTrue(Files.exists(dir.resolve("out/_SUCCESS")));
    assertEquals(List.of("out", "state"), visible());
    assertEquals(List.of(), notices);
  }

  @Test
  void existingOutputsAreRefusedBeforeAnyWorkUnlessOverwrite() throws IOException {
    Files.createDirectories(dir.resolve("out"));
    Files.writeString(dir.resolve("out/report.md"), "mine");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> OutputCommit.begin(conf, false, notices::add, dir.resolve("out").toString()));
    assertTrue(e.getMessage().endsWith("got one holding 1 entry, e.g. 'report.md' (use --overwrite)"), e.getMessage());
    assertEquals(List.of("out"), visible(), "no staging folder made");

    Files.writeString(dir.resolve("file"), "x");
    e = assertThrows(IllegalArgumentException.class,
        () -> OutputCommit.begin(conf, true, notices::add, dir.resolve("file").toString()));
    assertTrue(e.getMessage().endsWith("expected a folder, got a file"), e.getMessage());

    Files.createDirectories(dir.resolve("empty"));
    try (OutputCommit c = OutputCommit.begin(conf, false, notices::add, dir.resolve("empty").toString())) {
      stage(c, dir.resolve("empty").toString(), null, "A");
      c.publish();
    }
    assertEquals("A", generation(dir.resolve("empty").toString()));

    e = assertThrows(IllegalArgumentException.class,
        () -> OutputCommit.begin(conf, false, notices::add, dir.resolve("x").toString(), dir.resolve("x").toString()));
    assertTrue(e.getMessage().contains("got this one twice"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> OutputCommit.begin(conf, false, notices::add,
        dir.resolve("x").toString(), dir.resolve("x/model").toString()));
    assertTrue(e.getMessage().contains("expected outputs that do not contain one another"), e.getMessage());
  }

  @Test
  void aKilledSparkWritesTemporaryFolderIsCleanedWithANotice() throws IOException {
    Files.createDirectories(dir.resolve("out/_temporary/0"));
    try (OutputCommit c = OutputCommit.begin(conf, false, notices::add, dir.resolve("out").toString())) {
      stage(c, dir.resolve("out").toString(), null, "A");
      c.publish();
    }
    assertEquals("A", generation(dir.resolve("out").toString()));
    assertEquals(1, notices.size());
    assertTrue(notices.get(0).contains("removed the _temporary folder"), notices.get(0));
  }

  @Test
  void aFailedJobLeavesNothingAndTheOldOutputsStay() throws IOException {
    String out = dir.resolve("out").toString();
    String state = dir.resolve("state").toString();
    commit(out, state, "A", 0, true);
    try (OutputCommit c = OutputCommit.begin(conf, true, notices::add, out, state)) {
      stage(c, out, state, "B");
      // the job fails here, before publish
    }
    assertEquals("A", generation(out));
    assertEquals("A", generation(state));
    assertEquals(List.of("out", "state"), visible());
  }

  @Test
  void aFailureWhilePublishingRollsBackAtOnce() throws IOException {
    String out = dir.resolve("out").toString();
    String state = dir.resolve("state").toString();
    commit(out, state, "A", 0, true);
    OutputCommit.Steps failAtState = step -> {
      if (step.equals("published:state")) {
        throw new IllegalStateException("disk full");
      }
    };
    try (OutputCommit c = OutputCommit.begin(conf, true, notices::add, failAtState, out, state)) {
      stage(c, out, state, "B");
      assertThrows(IllegalStateException.class, c::publish);
    }
    assertEquals("A", generation(out));
    assertEquals("A", generation(state));
    assertEquals(List.of("out", "state"), visible());
  }

  /**
   * Every stop point of an overwrite commit, then every stop point of the recovery that follows:
   * while stopped, the primary is either absent or of the same run as the other output; in the end
   * the set is the old one or, once the primary was renamed, the new one.
   */
  @Test
  void aStopAtAnyStepOfACommitOrItsRecoveryLeavesOneWholeSet() throws IOException {
    int commitSteps = countSteps();
    assertTrue(commitSteps >= 6, "journal, 2 aside, 2 published, 2 cleaned: " + commitSteps);
    for (int stop = 1; stop <= commitSteps; stop++) {
      for (int recoveryStop = 0; recoveryStop <= 4; recoveryStop++) {
        Path root = Files.createDirectories(dir.resolve("case-" + stop + "-" + recoveryStop));
        String out = root.resolve("out").toString();
        String state = root.resolve("state").toString();
        commit(out, state, "A", 0, true);
        boolean stopped = commit(out, state, "B", stop, true);
        assertTrue(stopped, "stopped at step " + stop);
        String visiblePrimary = generationOrNull(out);
        if (visiblePrimary != null) {
          assertEquals(visiblePrimary, generation(state), "a visible primary has its state (step " + stop + ")");
        }
        boolean committed = "B".equals(visiblePrimary);
        if (recoveryStop > 0) {
          try {
            OutputCommit.begin(conf, true, notices::add, new Counter(recoveryStop), out, state).close();
          } catch (Stop ignored) {
            // stopped during the recovery; the next run recovers again
          }
        }
        // A run without --overwrite: recovers, then refuses the outputs that are there.
        assertThrows(IllegalArgumentException.class, () -> OutputCommit.begin(conf, false, notices::add, out, state));
        String expected = committed ? "B" : "A";
        assertEquals(expected, generation(out), "step " + stop + ", recovery stop " + recoveryStop);
        assertEquals(expected, generation(state), "step " + stop + ", recovery stop " + recoveryStop);
        try (Stream<Path> files = Files.list(root)) {
          assertEquals(List.of("out", "state"), files.map(p -> p.getFileName().toString()).sorted()
              .collect(Collectors.toList()), "no leftovers (step " + stop + ", recovery stop " + recoveryStop + ")");
        }
      }
    }
  }

  private int countSteps() throws IOException {
    Path root = Files.createDirectories(dir.resolve("count"));
    String out = root.resolve("out").toString();
    String state = root.resolve("state").toString();
    commit(out, state, "A", 0, true);
    Counter counter = new Counter(0);
    try (OutputCommit c = OutputCommit.begin(conf, true, notices::add, counter, out, state)) {
      stage(c, out, state, "B");
      c.publish();
    }
    return counter.seen;
  }

  /** Commits generation {@code gen}, stopping at step {@code stopAt} (0: never); true when stopped. */
  private boolean commit(String out, String state, String gen, int stopAt, boolean overwrite) throws IOException {
    OutputCommit c = OutputCommit.begin(conf, overwrite, notices::add, new Counter(stopAt), out, state);
    try {
      stage(c, out, state, gen);
      c.publish();
    } catch (Stop s) {
      return true; // no close(): a killed JVM runs no cleanup
    }
    c.close();
    return false;
  }

  private static void stage(OutputCommit c, String out, String state, String gen) throws IOException {
    for (String o : state == null ? new String[] {out} : new String[] {out, state}) {
      Path staged = Path.of(new org.apache.hadoop.fs.Path(c.staged(o)).toUri());
      Files.createDirectories(staged);
      Files.writeString(staged.resolve("gen"), gen);
    }
  }

  private List<String> visible() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("case-") && !n.equals("count"))
          .sorted().collect(Collectors.toList());
    }
  }

  private static String generation(String output) throws IOException {
    return Files.readString(Path.of(output).resolve("gen"));
  }

  private static String generationOrNull(String output) throws IOException {
    return Files.exists(Path.of(output)) ? generation(output) : null;
  }
}
