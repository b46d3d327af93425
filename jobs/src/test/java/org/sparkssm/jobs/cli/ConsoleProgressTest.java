package org.sparkssm.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.apache.spark.SparkContext;
import org.junit.jupiter.api.Test;
import org.sparkssm.jobs.JobsTests;

class ConsoleProgressTest {
  @Test
  void plainLinesCountStagesAndTasksToTheEnd() {
    SparkContext sc = JobsTests.session().sparkContext();
    StringWriter text = new StringWriter();
    ConsoleProgress progress = ConsoleProgress.attach(sc, new PrintWriter(text), false);
    JobsTests.session().range(0, 1000, 1, 3).selectExpr("id % 7 AS k").groupBy("k").count().collectAsList();
    progress.detach(sc);
    String out = text.toString();
    assertFalse(out.contains("\r"), out);
    String last = out.strip().lines().reduce((a, b) -> b).orElse("");
    assertTrue(last.matches("spark-ssm: jobs (\\d+)/\\1, stages (\\d+)/\\2, tasks (\\d+)/\\3, .* s \\(job \\d+ done\\)"), out);
  }

  @Test
  void aTerminalLineIsRewrittenInPlace() {
    SparkContext sc = JobsTests.session().sparkContext();
    StringWriter text = new StringWriter();
    ConsoleProgress progress = ConsoleProgress.attach(sc, new PrintWriter(text), true);
    JobsTests.session().range(0, 100, 1, 2).count();
    progress.detach(sc);
    String out = text.toString();
    assertTrue(out.startsWith("\r") && out.endsWith(System.lineSeparator()), out);
    assertEquals(1, out.chars().filter(c -> c == '\n').count(), out);
    assertTrue(out.contains("done)"), out);
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
