package org.sparkssm.spark.scan;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataType;

/**
 * The failure for rows whose series key is null. The per-series functions meet those rows all
 * together (the null key's group, or the first rows of a partition sorted by series, where nulls
 * sort first), so the message can say how many there are and when the first one is, without
 * another pass over the data: {@code series column 'unique_id': expected no null keys, got null on
 * 3 rows (first time 2021-01-01T00:00:00Z)}.
 *
 * <p>Rows in: {@code [key, t: long (encoded, see TimeCodec), ...]}, sorted by time.
 */
public final class NullSeriesKeys {
  private NullSeriesKeys() {}

  /** The failure for {@code first} and the null-key rows after it in {@code rows} (consumed up to the first keyed one). */
  static IllegalArgumentException failure(String seriesColumn, DataType timeType, Row first, Iterator<Row> rows) {
    long count = 1;
    boolean hasTime = !first.isNullAt(1);
    long time = hasTime ? first.getLong(1) : 0;
    while (rows.hasNext()) {
      Row r = rows.next();
      if (!r.isNullAt(0)) {
        break;
      }
      count++;
      if (!hasTime && !r.isNullAt(1)) {
        hasTime = true;
        time = r.getLong(1);
      }
    }
    return failure(seriesColumn, timeType, count, hasTime, time);
  }

  /** The failure for {@code count} null-key rows, the first (present) time of which is {@code time}. */
  static IllegalArgumentException failure(String seriesColumn, DataType timeType, long count, boolean hasTime,
      long time) {
    String when = hasTime ? (count == 1 ? "time " : "first time ") + TimeCodec.format(time, timeType)
        : (count == 1 ? "time null" : "every time null");
    return new IllegalArgumentException(String.format(java.util.Locale.ROOT,
        "series column '%s': expected no null keys, got null on %d row%s (%s)", seriesColumn, count,
        count == 1 ? "" : "s", when));
  }

  /** The failure for a group whose key is null: every row of {@code rows} has it. */
  static IllegalArgumentException failure(String seriesColumn, DataType timeType, Iterator<Row> rows) {
    if (!rows.hasNext()) {
      return new IllegalArgumentException(String.format(
          "series column '%s': expected no null keys, got null", seriesColumn));
    }
    return failure(seriesColumn, timeType, rows.next(), rows);
  }

  /**
   * {@code rows} (one partition, sorted by series, nulls first) as they are, or the failure
   * counting its null-key rows when it starts with one. Only the first row is looked at ahead.
   */
  public static Iterator<Row> failOnNullKeys(Iterator<Row> rows, String seriesColumn, DataType timeType) {
    if (!rows.hasNext()) {
      return rows;
    }
    Row first = rows.next();
    if (first.isNullAt(0)) {
      throw failure(seriesColumn, timeType, first, rows);
    }
    return new Iterator<Row>() {
      private Row head = first;

      @Override
      public boolean hasNext() {
        return head != null || rows.hasNext();
      }

      @Override
      public Row next() {
        if (head == null) {
          if (!rows.hasNext()) {
            throw new NoSuchElementException();
          }
          return rows.next();
        }
        Row r = head;
        head = null;
        return r;
      }
    };
  }
}
