package org.sparkssm.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.apache.spark.SparkContext;
import org.junit.jupiter.api.Test;
import org.sparkssm.jobs.JobsTests;

class ConsoleProgressTest {
  @Test
  void plainLinesFollowTheJobsPhasesNotSparksJobs() {
    SparkContext sc = JobsTests.session().sparkContext();
    StringWriter text = new StringWriter();
    ConsoleProgress progress = ConsoleProgress.attach(sc, new PrintWriter(text), false);
    progress.phase("counting");
    for (int i = 0; i < 3; i++) { // three Spark jobs, each with a shuffle
      JobsTests.session().range(0, 1000, 1, 3).selectExpr("id % 7 AS k").groupBy("k").count().collectAsList();
    }
    progress.detach(sc, true);
    String out = text.toString();
    assertFalse(out.contains("\r"), out);
    List<String> lines = out.strip().lines().collect(java.util.stream.Collectors.toList());
    assertEquals(2, lines.size(), out); // the phase and the end (the jobs took less than PLAIN_MILLIS)
    assertTrue(lines.get(0).matches("spark-ssm: counting, 0 rows read, [\\d.]+ s"), out);
    assertTrue(lines.get(1).matches("spark-ssm: done, [\\d,]+ rows read, [\\d.]+ s"), out);
    assertFalse(lines.get(1).startsWith("spark-ssm: done, 0 rows"), "shuffle records are counted: " + out);
  }

  @Test
  void rowCountsReadAsPeopleWriteThem() {
    assertEquals("999,999", ConsoleProgress.count(999_999));
    assertEquals("12.3 M", ConsoleProgress.count(12_345_678));
  }

  @Test
  void aTerminalLineIsRewrittenInPlace() {
    SparkContext sc = JobsTests.session().sparkContext();
    StringWriter text = new StringWriter();
    ConsoleProgress progress = ConsoleProgress.attach(sc, new PrintWriter(text), true);
    JobsTests.session().range(0, 100, 1, 2).count();
    progress.detach(sc, true);
    String out = text.toString();
    assertTrue(out.startsWith("\r") && out.endsWith(System.lineSeparator()), out);
    assertEquals(1, out.chars().filter(c -> c == '\n').count(), out);
    assertTrue(out.contains("spark-ssm: done"), out);
  }

  @Test
  void quietRunsPrintNoProgress() {
    JobsTests.Run r = JobsTests.run("generate", "--out",
        JobsTests.session().sparkContext().getConf().get("spark.local.dir", System.getProperty("java.io.tmpdir"))
            + "/quiet-" + System.nanoTime(), "--series", "1", "--length", "5", "--quiet");
    assertEquals(0, r.code(), r::err);
    assertEquals("", r.out() + r.err());
  }

}
