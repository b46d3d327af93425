package org.sparkssm.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.jobs.JobsTests.Run;

/**
 * Inputs that are wrong as a whole (a null series key, a header with no rows) are named for what
 * they are, in one line, by every job that reads them: not as a series called 'null' or as a
 * column type error.
 */
class BadInputMessagesTest {
  private static final String CHECKPOINT = "../spark-ssm/src/test/resources/golden/mamba/mamba1";

  @TempDir
  Path tmp;

  @BeforeAll
  static void startSpark() {
    JobsTests.session();
  }

  /** Two series of 40 hourly rows, plus {@code extra} (CSV lines). */
  private Path panel(String name, String extra) throws Exception {
    StringBuilder csv = new StringBuilder("unique_id,ds,y\n");
    for (String s : new String[] {"a", "b"}) {
      for (int t = 0; t < 40; t++) {
        csv.append(s).append(String.format(",2021-01-%02d %02d:00:00,", 1 + t / 24, t % 24))
            .append(Math.sin(t / 3.0)).append('\n');
      }
    }
    return Files.writeString(tmp.resolve(name), csv + extra);
  }

  @Test
  void aNullSeriesKeyIsNamedWithItsRowCountAndTime() throws Exception {
    String one = panel("one-null.csv", ",2021-01-01 05:00:00,1.0\n").toString();
    String message = "series column 'unique_id': expected no null keys, got null on 1 row (time 2021-01-01T05:00:00Z)";
    expectFailure("scan: error: " + message, "scan", "-i", one, "--model", "legt", "--order", "4");
    expectFailure("scan: error: " + message, "scan", "-i", one, "--model", "legt", "--order", "4",
        "--long-series-rows", "10");
    expectFailure("forecast: error: " + message, "forecast", "-i", one, "-L", "4", "-H", "2");
    expectFailure("forecast: error: " + message, "forecast", "-i", one, "-L", "4", "-H", "2", "--on-skip", "fail");

    String three = panel("three-null.csv", ",2021-01-02 03:00:00,1.0\n,2021-01-01 07:00:00,2.0\n,,3.0\n")
        .toString();
    String many = "series column 'unique_id': expected no null keys, got null on 3 rows (first time "
        + "2021-01-01T07:00:00Z)";
    expectFailure("scan: error: " + many, "scan", "-i", three, "--model", "s4d-lin", "--state", "4");
    expectFailure("forecast: error: " + many, "forecast", "-i", three, "-L", "4", "-H", "2");
  }

  @Test
  void aHeaderWithoutRowsIsNamedBeforeTheColumnTypes() throws Exception {
    String header = Files.writeString(tmp.resolve("header.csv"), "unique_id,ds,y\n").toString();
    String message = "input '" + header + "': expected rows, got a header only (unique_id, ds, y)";
    expectFailure("scan: error: " + message, "scan", "-i", header, "--model", "legt");
    expectFailure("forecast: error: " + message, "forecast", "-i", header);

    String tokens = Files.writeString(tmp.resolve("tokens.csv"), "sequence_id,position,token\n").toString();
    expectFailure("score: error: input '" + tokens + "': expected rows, got a header only (sequence_id, "
        + "position, token)", "score", "--checkpoint", CHECKPOINT, "-i", tokens);

    String empty = Files.writeString(tmp.resolve("empty.csv"), "").toString();
    expectFailure("scan: error: input '" + empty + "': expected a header and rows, got an empty file", "scan",
        "-i", empty, "--model", "legt");
  }

  /** Runs {@code args} with an output folder and --quiet; expects exit 1 and exactly {@code line} on stderr. */
  private void expectFailure(String line, String... args) {
    Path out = tmp.resolve("out");
    String[] all = Arrays.copyOf(args, args.length + 3);
    all[args.length] = "-o";
    all[args.length + 1] = out.toString();
    all[args.length + 2] = "--quiet";
    Run r = JobsTests.run(all);
    assertEquals(1, r.code(), () -> String.join(" ", all) + "\n" + r.err());
    assertEquals(line, r.err().strip(), () -> String.join(" ", all));
    assertFalse(Files.exists(out), "no output from a failed run");
  }
}
