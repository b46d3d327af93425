package org.sparkssm.spark.scan;

import java.util.Iterator;
import org.apache.spark.api.java.function.CoGroupFunction;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.sql.Row;
import org.sparkssm.state.ScanState;

/**
 * The per-series function of the many-series path: a whole series is one {@link SegmentScan}
 * from the zero state, or (incremental runs, cogrouped with the state table) from the series' saved
 * state. Saved states in: {@code [key, last_t: long, state: binary, version: int, fingerprint: long]}.
 */
final class SeriesScanner implements FlatMapGroupsFunction<Row, Row, Row>, CoGroupFunction<Row, Row, Row, Row> {
  private static final long serialVersionUID = 1L;

  private final ScanConfig config;

  SeriesScanner(ScanConfig config) {
    this.config = config;
  }

  @Override
  public Iterator<Row> call(Row key, Iterator<Row> rows) {
    if (key.isNullAt(0)) {
      throw NullSeriesKeys.failure(config.seriesColumn, config.timeType, rows); // every null-key row is here
    }
    return new SegmentScan(config, key.get(0), rows, new double[config.model.stateSize()], 0, Long.MIN_VALUE, true);
  }

  @Override
  public Iterator<Row> call(Row key, Iterator<Row> rows, Iterator<Row> savedStates) {
    if (!savedStates.hasNext() || key.isNullAt(0) && rows.hasNext()) {
      return call(key, rows);
    }
    Row saved = savedStates.next();
    String source = "series " + config.describe(key.get(0));
    if (savedStates.hasNext()) {
      throw new IllegalArgumentException("state table: expected one state per series, got several for " + source);
    }
    ScanState state = readState(saved, source);
    long savedTime = saved.getLong(1);
    SegmentScan scan = new SegmentScan(config, key.get(0), rows, state.hidden(), state.position(), savedTime, true);
    return new Iterator<Row>() {
      private boolean carried;

      @Override
      public boolean hasNext() {
        if (scan.hasNext()) {
          return true;
        }
        checkSkippedRows(scan, state.position(), savedTime, source);
        return scan.rowsScanned() == 0 && !carried;
      }

      @Override
      public Row next() {
        if (scan.hasNext()) {
          return scan.next();
        }
        if (!hasNext()) {
          throw new java.util.NoSuchElementException();
        }
        carried = true; // no new rows: carry the saved state forward unchanged
        return SegmentScan.carryRow(config, key.get(0), savedTime, state.toBytes());
      }
    };
  }

  /** The input holds either only new rows or the whole history; anything else means rows changed. */
  private void checkSkippedRows(SegmentScan scan, long savedPosition, long savedTime, String source) {
    long skipped = scan.skippedRows();
    if (skipped != 0 && skipped != savedPosition) {
      throw new IllegalArgumentException(String.format(
          "%s: expected 0 (new rows only) or %d (the full history) rows at or before the saved time %s, "
              + "got %d: rows were added or removed before the saved state",
          source, savedPosition, config.formatTime(savedTime), skipped));
    }
  }

  private ScanState readState(Row saved, String source) {
    if (saved.isNullAt(2) || saved.isNullAt(1)) {
      throw new IllegalArgumentException("state table: expected a state and a last timestamp for " + source + ", got null");
    }
    int version = saved.getInt(3);
    if (version != ScanState.FORMAT_VERSION) {
      throw new IllegalArgumentException(String.format(
          "state table: expected state format version %d for %s, got %d", ScanState.FORMAT_VERSION, source, version));
    }
    ScanState state = ScanState.fromBytes((byte[]) saved.get(2), config.model.fingerprint(), source);
    if (state.size() != config.model.stateSize()) {
      throw new IllegalArgumentException(String.format(
          "state table: expected %d state values for %s, got %d", config.model.stateSize(), source, state.size()));
    }
    return state;
  }

}
