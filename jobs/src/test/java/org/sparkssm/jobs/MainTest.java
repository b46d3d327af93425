package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests.Run;
import org.sparkssm.jobs.cli.Failures;
import picocli.CommandLine;

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
  void helpExamplesAreNeverCutInsideACommand() {
    CommandLine root = Main.commandLine();
    List<CommandLine> all = new ArrayList<>(List.of(root));
    all.addAll(root.getSubcommands().values());
    for (int width : new int[] {80, 60}) {
      for (CommandLine cli : all) {
        cli.setUsageHelpAutoWidth(false);
        cli.setUsageHelpWidth(width);
        String name = cli.getCommandName() + " at " + width + " columns";
        List<String> lines = cli.getUsageMessage(CommandLine.Help.Ansi.OFF).lines().collect(Collectors.toList());
        int start = lines.indexOf("Examples:");
        if (start < 0) {
          continue; // help has no examples
        }
        List<String> shown = new ArrayList<>();
        String previous = "Examples:";
        for (String line : lines.subList(start + 1, lines.size())) {
          if (line.isBlank()) {
            break; // the examples end at the first blank line (the top level goes on with exit codes)
          }
          assertTrue(line.length() <= width, () -> name + ", too wide: " + line);
          boolean continued = previous.endsWith(" \\");
          assertTrue(continued ? line.startsWith("      ") : line.startsWith("  spark-") || line.startsWith("  # "),
              () -> name + ", a command cut in the middle:\n" + String.join("\n", lines.subList(start, lines.size())));
          shown.addAll(words(line));
          previous = line;
        }
        List<String> written = new ArrayList<>();
        String[] footer = cli.getCommandSpec().usageMessage().footer();
        for (int i = Arrays.asList(footer).indexOf("Examples:") + 1; i < footer.length && !footer[i].isBlank(); i++) {
          written.addAll(words(footer[i]));
        }
        Collections.sort(written); // a comment too long for its line goes above its command
        Collections.sort(shown);
        assertEquals(written, shown, name + ": every word of the examples, none split");
      }
    }
  }

  @Test
  void helpWritesNothingOnStderr(@TempDir Path tmp) throws Exception {
    // In a JVM of its own: picocli's warnings go to the System.err it found when it started.
    List<String[]> commands = new ArrayList<>();
    commands.add(new String[] {"--help"});
    for (String sub : Main.commandLine().getSubcommands().keySet()) {
      commands.add(sub.equals("help") ? new String[] {"help", "scan"} : new String[] {sub, "--help"});
    }
    for (String[] args : commands) {
      JobProcess help = JobProcess.startAsIs(tmp, args);
      assertEquals(0, help.waitFor(), help::stderr);
      assertEquals(List.of(), help.stderrLines(), String.join(" ", args));
    }
  }

  private static List<String> words(String line) {
    return Arrays.stream(line.strip().split(" +")).filter(w -> !w.equals("\\") && !w.equals("#"))
        .collect(Collectors.toList());
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
