package org.sparkssm.jobs.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MarkdownReportTest {
  @TempDir
  Path dir;

  @Test
  void writesTitleSettingsMetricsTableAndImage() throws Exception {
    Map<String, Map<String, Double>> metrics = new LinkedHashMap<>();
    metrics.put("s4d-lin", new LinkedHashMap<>(Map.of("MAE", 0.41234567)));
    metrics.get("s4d-lin").put("MSE", 0.33);
    metrics.put("seasonal naive", new LinkedHashMap<>(Map.of("MAE", 0.5)));
    metrics.get("seasonal naive").put("MSE", 0.25);
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("input", "data-samples/hourly-20x720");
    settings.put("horizon", 24);
    Path file = MarkdownReport.titled("Forecast | hourly")
        .paragraph("Rolling origin, 3 windows.")
        .settings(settings)
        .heading("Metrics")
        .metrics(metrics)
        .image("forecast vs actual", "forecast plot.png")
        .write(dir.resolve("out/report.md"));
    String expected = String.join("\n",
        "# Forecast | hourly",
        "",
        "Rolling origin, 3 windows.",
        "",
        "- input: `data-samples/hourly-20x720`",
        "- horizon: `24`",
        "",
        "## Metrics",
        "",
        "| model | MAE | MSE |",
        "|---|---:|---:|",
        "| s4d-lin | **0.4123** | 0.3300 |",
        "| seasonal naive | 0.5000 | **0.2500** |",
        "",
        "![forecast vs actual](forecast%20plot.png)",
        "",
        "");
    assertEquals(expected, Files.readString(file));
  }

  @Test
  void cellsAreEscapedAndRowsChecked() {
    String md = MarkdownReport.titled("t").table(List.of("a", "b"), List.of(List.of("x|y", "line\nbreak"))).markdown();
    assertEquals("# t\n\n| a | b |\n|---|---:|\n| x\\|y | line break |\n\n", md);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> MarkdownReport.titled("t").table(List.of("a", "b"), List.of(List.of("only one"))));
    assertEquals("table row: expected 2 cells (the header's), got 1: [only one]", e.getMessage());
  }
}
