package org.sparkssm.spark.scan;

import java.util.Iterator;
import org.apache.spark.sql.Row;

/**
 * The rows of one time-ordered segment of one series, read in place one at a time: a scan copies
 * each row's time and values into its chunk arrays and never keeps the row, so an implementation
 * may reuse one row object (Spark's sorted {@code UnsafeRow}s) from call to call.
 * Row layout: {@link ScanRows}' input layout.
 */
interface SeriesCursor {
  /** Moves to the segment's next row; false when the segment has no more. */
  boolean nextRow();

  /** The current row's time is null. */
  boolean timeIsNull();

  long time();

  /** The current row's value in channel {@code j} is null. */
  boolean valueIsNull(int j);

  double value(int j);

  /** External rows in the input layout. */
  static SeriesCursor of(Iterator<Row> rows, ScanRows layout) {
    return new SeriesCursor() {
      private Row current;

      @Override
      public boolean nextRow() {
        current = rows.hasNext() ? rows.next() : null;
        return current != null;
      }

      @Override
      public boolean timeIsNull() {
        return current.isNullAt(ScanRows.TIME);
      }

      @Override
      public long time() {
        return current.getLong(ScanRows.TIME);
      }

      @Override
      public boolean valueIsNull(int j) {
        return current.isNullAt(layout.valueIndex(j));
      }

      @Override
      public double value(int j) {
        return current.getDouble(layout.valueIndex(j));
      }
    };
  }
}
