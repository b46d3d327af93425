package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.jobs.cli.Failures;

/** Parsing, help and usage errors: none of these start Spark. */
class MainTest {
  @Test
  void helpListsTheSubcommandsAndExitCodes() {
    Run r = JobsTests.run("--help");
    assertEquals(0, r.code(), r::err);
    for (String s : new String[] {"generate", "scan", "help", "Exit codes"}) {
      assertTrue(r.out().contains(s), () -> "missing '" + s + "' in:\n" + r.out());
    }
  }

  @Test
  void eachSubcommandHasHelpWithExamples() {
    Run generate = JobsTests.run("generate", "--help");
    assertEquals(0, generate.code(), generate::err);
    for (String s : new String[] {"--seed", "--freq", "--irregular", "--channels", "--master", "--conf", "Examples:",
        "spark-ssm generate --out"}) {
      assertTrue(generate.out().contains(s), () -> "generate --help lacks '" + s + "':\n" + generate.out());
    }
    Run scan = JobsTests.run("help", "scan");
    assertEquals(0, scan.code(), scan::err);
    for (String s : new String[] {"--model", "s4d-lin", "legt", "lru", "--state-out", "--resume-from", "--chunk-rows",
        "Examples:"}) {
      assertTrue(scan.out().contains(s), () -> "scan help lacks '" + s + "':\n" + scan.out());
    }
  }

  @Test
  void helpFitsAnEightyColumnTerminal() {
    for (String[] args : new String[][] {{"--help"}, {"generate", "--help"}, {"scan", "--help"}}) {
      String out = JobsTests.run(args).out();
      out.lines().forEach(line -> assertTrue(line.length() <= 80, () -> "too wide: " + line));
    }
  }

  @Test
  void versionNamesTheProjectAndSpark() {
    Run r = JobsTests.run("--version");
    assertEquals(0, r.code(), r::err);
    assertTrue(r.out().startsWith("spark-ssm ") && r.out().contains("Spark 4."), r.out());
  }

  @Test
  void usageErrorsExitWithTwoAndNameTheOption() {
    Run none = JobsTests.run();
    assertEquals(2, none.code(), none::err);
    assertTrue(none.err().contains("Missing a subcommand"), none.err());

    Run unknown = JobsTests.run("scan", "-i", "x", "-o", "y", "--model", "s4d-lin", "--bogus");
    assertEquals(2, unknown.code(), unknown::err);
    assertTrue(unknown.err().contains("--bogus"), unknown.err());

    Run missing = JobsTests.run("scan", "-i", "x", "-o", "y");
    assertEquals(2, missing.code(), missing::err);
    assertTrue(missing.err().contains("--model"), missing.err());

    Run badModel = JobsTests.run("scan", "-i", "x", "-o", "y", "--model", "s5-magic");
    assertEquals(2, badModel.code(), badModel::err);
    assertTrue(badModel.err().contains("--model: expected one of [s4d-lin"), badModel.err());

    Run badFreq = JobsTests.run("generate", "--out", "x", "--freq", "3parsecs");
    assertEquals(2, badFreq.code(), badFreq::err);
    assertTrue(badFreq.err().contains("--freq"), badFreq.err());

    Run noMode = JobsTests.run("generate", "--out", "x", "--mode", "append");
    assertEquals(2, noMode.code(), noMode::err);
    assertTrue(noMode.err().contains("--mode"), noMode.err());

    Run irregularLegt = JobsTests.run("scan", "-i", "x", "-o", "y", "--model", "legt", "--step-every", "1h");
    assertEquals(2, irregularLegt.code(), irregularLegt::err);
    assertTrue(irregularLegt.err().contains("--step-every: expected an S4D model"), irregularLegt.err());
  }

  @Test
  void enumOptionsIgnoreCase() {
    Run r = JobsTests.run("generate", "--out", "x", "--format", "CSV", "--noise", "White", "--series", "0");
    assertEquals(2, r.code(), r::err); // parsed; rejected only for --series 0
    assertTrue(r.err().contains("--series: expected >= 1, got 0"), r.err());
  }

  @Test
  void aFailureIsTheDeepestMessageOnOneLine() {
    Exception wrapped = new RuntimeException("Job aborted due to stage failure: many words",
        new IllegalStateException("wrapper", new IllegalArgumentException("column 'y': expected a number\nplan...")));
    assertEquals("column 'y': expected a number", Failures.oneLine(wrapped));
    assertEquals("IOException: disk full", Failures.oneLine(new RuntimeException(new IOException("disk full"))));
    assertFalse(Failures.oneLine(new NullPointerException()).isBlank());
  }
}
