package org.sparkssm.jobs.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A short Markdown report (report.md) built in order: a title, paragraphs, a settings list, tables
 * (a metrics table has a row per model and a column per metric) and images next to the file.
 *
 * <pre>{@code
 * MarkdownReport.titled("Forecast: ETTh1, horizon 24")
 *     .settings(Map.of("input", "hdfs:///ett", "model", "s4d-lin"))
 *     .metrics(Map.of("s4d-lin", Map.of("MAE", 0.41, "MSE", 0.33)))
 *     .image("forecast vs actual", "forecast.png")
 *     .write(Path.of("out/report.md"));
 * }</pre>
 */
public final class MarkdownReport {
  private final StringBuilder text = new StringBuilder();

  private MarkdownReport(String title) {
    text.append("# ").append(oneLine(title)).append("\n\n");
  }

  public static MarkdownReport titled(String title) {
    return new MarkdownReport(title);
  }

  public MarkdownReport paragraph(String paragraph) {
    text.append(paragraph.strip()).append("\n\n");
    return this;
  }

  public MarkdownReport heading(String heading) {
    text.append("## ").append(oneLine(heading)).append("\n\n");
    return this;
  }

  /** A bullet list of {@code key: value}, in the map's order. */
  public MarkdownReport settings(Map<String, ?> settings) {
    for (Map.Entry<String, ?> e : settings.entrySet()) {
      text.append("- ").append(oneLine(e.getKey())).append(": `").append(oneLine(String.valueOf(e.getValue())))
          .append("`\n");
    }
    text.append('\n');
    return this;
  }

  /**
   * A metrics table: a row per model (in the map's order), a column per metric (in order of first
   * appearance); numbers to 4 significant digits, an empty cell where a model lacks a metric, and the
   * best (smallest) value of each column in bold, since the metrics are errors.
   */
  public MarkdownReport metrics(Map<String, ? extends Map<String, ? extends Number>> byModel) {
    Set<String> metricNames = new LinkedHashSet<>();
    for (Map<String, ? extends Number> m : byModel.values()) {
      metricNames.addAll(m.keySet());
    }
    List<String> header = new ArrayList<>();
    header.add("model");
    header.addAll(metricNames);
    List<List<String>> rows = new ArrayList<>();
    for (Map.Entry<String, ? extends Map<String, ? extends Number>> e : byModel.entrySet()) {
      List<String> row = new ArrayList<>();
      row.add(e.getKey());
      for (String metric : metricNames) {
        Number v = e.getValue().get(metric);
        String cell = v == null ? "" : number(v.doubleValue());
        if (v != null && isBest(byModel, metric, v.doubleValue())) {
          cell = "**" + cell + "**";
        }
        row.add(cell);
      }
      rows.add(row);
    }
    return table(header, rows);
  }

  private static boolean isBest(Map<String, ? extends Map<String, ? extends Number>> byModel, String metric, double v) {
    if (byModel.size() < 2 || Double.isNaN(v)) {
      return false;
    }
    for (Map<String, ? extends Number> m : byModel.values()) {
      Number other = m.get(metric);
      if (other != null && other.doubleValue() < v) {
        return false;
      }
    }
    return true;
  }

  /** A table with a header row; cells are escaped ({@code |}) and kept on one line. */
  public MarkdownReport table(List<String> header, List<? extends List<?>> rows) {
    if (header.isEmpty()) {
      throw new IllegalArgumentException("header: expected at least one column, got none");
    }
    row(header);
    text.append('|');
    for (int i = 0; i < header.size(); i++) {
      text.append(i == 0 ? "---|" : "---:|");
    }
    text.append('\n');
    for (List<?> r : rows) {
      if (r.size() != header.size()) {
        throw new IllegalArgumentException(
            "table row: expected " + header.size() + " cells (the header's), got " + r.size() + ": " + r);
      }
      row(r);
    }
    text.append('\n');
    return this;
  }

  /** An image by a path relative to the report (e.g. a PNG from {@link Plots}). */
  public MarkdownReport image(String caption, String relativePath) {
    text.append("![").append(oneLine(caption)).append("](").append(relativePath.replace(" ", "%20")).append(")\n\n");
    return this;
  }

  /** The report's text so far. */
  public String markdown() {
    return text.toString();
  }

  /** Writes the report as UTF-8 (creating the folder); returns {@code file}. */
  public Path write(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Files.writeString(file, markdown(), StandardCharsets.UTF_8);
    return file;
  }

  private void row(List<?> cells) {
    text.append('|');
    for (Object c : cells) {
      text.append(' ').append(oneLine(String.valueOf(c)).replace("|", "\\|")).append(" |");
    }
    text.append('\n');
  }

  private static String number(double v) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return Double.toString(v);
    }
    return String.format(Locale.ROOT, "%.4g", v);
  }

  private static String oneLine(String s) {
    return s.replace('\n', ' ').replace('\r', ' ').strip();
  }
}
