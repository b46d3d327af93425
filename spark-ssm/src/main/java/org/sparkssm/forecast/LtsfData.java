package org.sparkssm.forecast;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sparkssm.Checks;

/**
 * A long-sequence-forecasting benchmark table (ETT, Weather and the other "custom" files of
 * Autoformer/LTSF-Linear) read from CSV: a header, a first column of timestamps (kept only as
 * text), then numeric columns. Values are stored column by column so a channel's series is one
 * contiguous array, which is how channel-independent windows are cut.
 *
 * <p>Parsing follows the benchmark files as they are: LF or CRLF line endings; header names are
 * split on commas and not otherwise interpreted (Weather's contain U+FFFD); every numeric cell
 * is taken as is, including the Weather station's {@code -9999} missing-value sentinels, because
 * the published numbers were computed on the file unchanged. A cell that is not a number, or a
 * row with the wrong number of cells, fails naming the file, the 1-based line and the column.
 */
public final class LtsfData {
  private final String source;
  private final String[] columns;
  private final double[][] values; // [channel][row]

  private LtsfData(String source, String[] columns, double[][] values) {
    this.source = source;
    this.columns = columns;
    this.values = values;
  }

  /**
   * Reads a benchmark CSV.
   *
   * @throws IllegalArgumentException naming the file, line and column of a bad cell or row, or
   *     when the file has no numeric column or no data row
   * @throws IOException when the file cannot be read
   */
  public static LtsfData read(Path csv) throws IOException {
    Checks.notNull("csv", csv);
    String text = new String(Files.readAllBytes(csv), StandardCharsets.UTF_8);
    return parse(csv.toString(), text);
  }

  /** Parses CSV text; {@code source} names it in error messages. */
  public static LtsfData parse(String source, String text) {
    Checks.notNull("source", source);
    Checks.notNull("text", text);
    int pos = 0;
    int lineEnd = lineEnd(text, pos);
    String header = stripCr(text.substring(pos, lineEnd));
    if (header.isEmpty()) {
      Checks.fail("%s: expected a header line (date column, then value columns), got an empty first line", source);
    }
    String[] names = header.split(",", -1);
    if (names.length < 2) {
      Checks.fail("%s: expected a date column and at least one value column in the header, got %d column(s)",
          source, names.length);
    }
    int channels = names.length - 1;
    String[] columns = new String[channels];
    System.arraycopy(names, 1, columns, 0, channels);
    // Count data lines first so each column is allocated once.
    int rows = 0;
    for (int p = next(text, lineEnd); p < text.length(); p = next(text, lineEnd(text, p))) {
      if (!stripCr(text.substring(p, lineEnd(text, p))).isEmpty()) {
        rows++;
      }
    }
    if (rows == 0) {
      Checks.fail("%s: expected data rows after the header, got none", source);
    }
    double[][] values = new double[channels][rows];
    int row = 0;
    int line = 1;
    for (int p = next(text, lineEnd); p < text.length(); p = next(text, lineEnd(text, p))) {
      line++;
      int end = lineEnd(text, p);
      if (end > p && text.charAt(end - 1) == '\r') {
        end--;
      }
      if (end == p) {
        continue;
      }
      int cell = text.indexOf(',', p);
      if (cell < 0 || cell > end) {
        Checks.fail("%s: line %d: expected %d cells as in the header, got 1 (a ragged row)", source, line,
            names.length);
      }
      int start = cell + 1;
      for (int c = 0; c < channels; c++) {
        int comma = text.indexOf(',', start);
        boolean last = c == channels - 1;
        int stop = (comma < 0 || comma > end) ? end : comma;
        if (!last && stop == end) {
          Checks.fail("%s: line %d: expected %d cells as in the header, got %d (a ragged row)", source, line,
              names.length, c + 2);
        }
        if (last && stop != end) {
          int got = names.length;
          for (int q = stop; q < end; q++) {
            if (text.charAt(q) == ',') {
              got++;
            }
          }
          Checks.fail("%s: line %d: expected %d cells as in the header, got %d (a ragged row)", source, line,
              names.length, got);
        }
        String cellText = text.substring(start, stop).trim();
        double v;
        try {
          v = Double.parseDouble(cellText);
        } catch (NumberFormatException e) {
          throw Checks.fail("%s: line %d, column %d '%s': expected a number, got '%s'", source, line, c + 2,
              columns[c], cellText);
        }
        if (!Double.isFinite(v)) {
          Checks.fail("%s: line %d, column %d '%s': expected a finite number, got '%s'", source, line, c + 2,
              columns[c], cellText);
        }
        values[c][row] = v;
        start = stop + 1;
      }
      row++;
    }
    return new LtsfData(source, columns, values);
  }

  private static int lineEnd(String text, int from) {
    int nl = text.indexOf('\n', from);
    return nl < 0 ? text.length() : nl;
  }

  private static int next(String text, int lineEnd) {
    return lineEnd + 1;
  }

  private static String stripCr(String s) {
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** Where the data came from (the path), for messages. */
  public String source() {
    return source;
  }

  /** The number of data rows. */
  public int rows() {
    return values[0].length;
  }

  /** The number of value columns (channels), the date column excluded. */
  public int channels() {
    return values.length;
  }

  /** The header name of value column c (0-based, the date column excluded). */
  public String column(int c) {
    return columns[c];
  }

  /** Value column c as one series (a copy). */
  public double[] series(int c) {
    return values[c].clone();
  }

  /**
   * Every column z-scored with the mean and the population standard deviation (ddof = 0, as
   * scikit-learn's StandardScaler that the benchmark code uses) of rows {@code [0, trainRows)}.
   *
   * @return {@code [channel][row]}, fresh arrays
   * @throws IllegalArgumentException when trainRows is out of range or a column is constant on
   *     the training rows
   */
  public double[][] standardized(int trainRows) {
    if (trainRows < 1 || trainRows > rows()) {
      Checks.fail("trainRows: expected 1 .. %d (the rows of %s), got %d", rows(), source, trainRows);
    }
    double[][] out = new double[channels()][];
    for (int c = 0; c < channels(); c++) {
      double[] v = values[c];
      double mean = 0;
      for (int t = 0; t < trainRows; t++) {
        mean += v[t];
      }
      mean /= trainRows;
      double ss = 0;
      for (int t = 0; t < trainRows; t++) {
        double d = v[t] - mean;
        ss += d * d;
      }
      double std = Math.sqrt(ss / trainRows);
      if (!(std > 0)) {
        Checks.fail("%s: column '%s': expected a non-constant training segment (rows 0 .. %d), got std 0",
            source, columns[c], trainRows);
      }
      double[] z = new double[v.length];
      for (int t = 0; t < v.length; t++) {
        z[t] = (v[t] - mean) / std;
      }
      out[c] = z;
    }
    return out;
  }
}
