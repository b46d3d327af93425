package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataType;
import org.sparkssm.state.ScanState;

/**
 * The many-series path over one partition of rows sorted by series (and kind) and time, in
 * Spark's internal form: each series is one {@link SegmentScan} from the zero state, or from its
 * saved state (incremental runs), which comes either from a broadcast map or as the series' first
 * row in the stream ({@link ScanRows#withSavedStates}). Rows are read in place and written into one
 * reused output row ({@link ScanRows.InternalWriter}): no object per row on either side.
 */
final class SeriesScanner implements Serializable {
  private static final long serialVersionUID = 1L;

  private final ScanConfig config;
  private final ScanRows layout;
  private final SeriesKeys keys;
  private final DataType keyType;
  /** Saved states by {@link SeriesKeys#lookup} key, or null. */
  private final Broadcast<Map<Object, SavedState>> broadcastStates;

  SeriesScanner(ScanConfig config, ScanRows layout, DataType keyType, Broadcast<Map<Object, SavedState>> states) {
    this.config = config;
    this.layout = layout;
    this.keys = new SeriesKeys(keyType);
    this.keyType = keyType;
    this.broadcastStates = states;
  }

  /** One partition's output rows. The returned row object is reused: read it before the next call. */
  Iterator<InternalRow> scan(Iterator<InternalRow> partition) {
    return new PartitionScan(partition);
  }

  /** A series' saved state, as a state table row gives it. */
  static final class SavedState implements Serializable {
    private static final long serialVersionUID = 1L;
    final long lastTime;
    final byte[] bytes;
    final Integer version;

    SavedState(long lastTime, byte[] bytes, Integer version) {
      this.lastTime = lastTime;
      this.bytes = bytes;
      this.version = version;
    }

    /** The state, checked against the model; failures name {@code source}. */
    ScanState read(ScanConfig config, String source) {
      if (bytes == null) {
        throw new IllegalArgumentException("state table: expected a state and a last timestamp for " + source
            + ", got null");
      }
      if (version == null || version != ScanState.FORMAT_VERSION) {
        throw new IllegalArgumentException(String.format(
            "state table: expected state format version %d for %s, got %s", ScanState.FORMAT_VERSION, source, version));
      }
      ScanState state = ScanState.fromBytes(bytes, config.model.fingerprint(), source);
      if (state.size() != config.model.stateSize()) {
        throw new IllegalArgumentException(String.format(
            "state table: expected %d state values for %s, got %d", config.model.stateSize(), source, state.size()));
      }
      return state;
    }
  }

  /** The input holds either only new rows or the whole history; anything else means rows changed. */
  static void checkSkippedRows(ScanConfig config, SegmentScan scan, long savedPosition, long savedTime, String source) {
    long skipped = scan.skippedRows();
    if (skipped != 0 && skipped != savedPosition) {
      throw new IllegalArgumentException(String.format(
          "%s: expected 0 (new rows only) or %d (the full history) rows at or before the saved time %s, "
              + "got %d: rows were added or removed before the saved state",
          source, savedPosition, config.formatTime(savedTime), skipped));
    }
  }

  /** Walks the partition series by series; the cursor yields the current series' data rows only. */
  private final class PartitionScan implements Iterator<InternalRow>, SeriesCursor {
    private final Iterator<InternalRow> rows;
    private final ScanRows.InternalWriter writer = layout.new InternalWriter(keyType);
    private final ScanConfig.Workspace ws = config.acquireWorkspace();
    private InternalRow row;        // the row the cursor stands on (owned by the sorter: read, never kept)
    private boolean unread;         // row is fetched but not yet handed to the series it starts
    private Object key;             // the current series' key (a copy)
    private boolean seriesDone = true;
    private SegmentScan scan;
    private ScanState saved;
    private long savedTime;
    private String source;
    private boolean ready;
    private InternalRow out;

    PartitionScan(Iterator<InternalRow> rows) {
      this.rows = rows;
    }

    // ---- SeriesCursor over the current series ----

    @Override
    public boolean nextRow() {
      if (seriesDone) {
        return false;
      }
      if (unread) {
        unread = false;
        return true;
      }
      if (!rows.hasNext()) {
        row = null;
        seriesDone = true;
        return false;
      }
      row = rows.next();
      if (row.isNullAt(ScanRows.KEY) || !keys.sameAs(row, key)) {
        unread = true; // the next series' first row
        seriesDone = true;
        return false;
      }
      if (layout.savedStates && row.getInt(layout.kindIndex()) == ScanRows.STATE_ROW) {
        throw new IllegalArgumentException("state table: expected one state per series, got several for " + source);
      }
      return true;
    }

    @Override
    public boolean timeIsNull() {
      return row.isNullAt(ScanRows.TIME);
    }

    @Override
    public long time() {
      return row.getLong(ScanRows.TIME);
    }

    @Override
    public boolean valueIsNull(int j) {
      return row.isNullAt(layout.valueIndex(j));
    }

    @Override
    public double value(int j) {
      return row.getDouble(layout.valueIndex(j));
    }

    // ---- output rows ----

    @Override
    public boolean hasNext() {
      while (!ready) {
        if (scan != null) {
          if (scan.advance()) {
            out = writer.of(key, scan);
            ready = true;
            break;
          }
          boolean carry = endSeries();
          if (carry) {
            out = writer.carry(key, savedTime, saved.toBytes());
            ready = true;
            break;
          }
        }
        if (!startSeries()) {
          return false;
        }
      }
      return true;
    }

    @Override
    public InternalRow next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      ready = false;
      return out;
    }

    /** Checks a resumed series once scanned; true when it had no new rows and carries its state. */
    private boolean endSeries() {
      SegmentScan done = scan;
      scan = null;
      if (saved == null) {
        return false;
      }
      checkSkippedRows(config, done, saved.position(), savedTime, source);
      return done.rowsScanned() == 0;
    }

    /** Moves to the next series and starts its scan; false at the partition's end. */
    private boolean startSeries() {
      if (!unread) {
        if (!rows.hasNext()) {
          return false;
        }
        row = rows.next();
        unread = true;
      }
      if (row.isNullAt(ScanRows.KEY)) {
        throw nullKeys(); // nulls sort first: every null-key row of the input is here
      }
      key = keys.copy(row);
      source = "series " + config.describe(key);
      seriesDone = false;
      saved = null;
      SavedState state = null;
      if (layout.savedStates && row.getInt(layout.kindIndex()) == ScanRows.STATE_ROW) {
        int at = layout.savedIndex();
        boolean complete = !row.isNullAt(ScanRows.TIME) && !row.isNullAt(at); // else read() fails naming the series
        state = new SavedState(complete ? row.getLong(ScanRows.TIME) : 0, complete ? row.getBinary(at) : null,
            row.isNullAt(at + 1) ? null : row.getInt(at + 1));
        unread = false; // the state row is consumed; the cursor's nextRow() fetches the first data row
      } else if (broadcastStates != null) {
        state = broadcastStates.value().get(SeriesKeys.lookup(key));
      }
      double[] h = new double[config.model.stateSize()];
      long position = 0;
      long skipThrough = Long.MIN_VALUE;
      if (state != null) {
        saved = state.read(config, source);
        savedTime = state.lastTime;
        h = saved.hidden();
        position = saved.position();
        skipThrough = savedTime;
      }
      scan = new SegmentScan(config, ws, key, this, h, position, skipThrough, true);
      return true;
    }

    /** The failure for the null-key rows at the partition's start (the current row is the first). */
    private IllegalArgumentException nullKeys() {
      long count = 0;
      boolean hasTime = false;
      long time = 0;
      InternalRow r = row;
      while (r != null && r.isNullAt(ScanRows.KEY)) {
        boolean data = !layout.savedStates || r.getInt(layout.kindIndex()) == ScanRows.DATA_ROW;
        if (data) {
          count++;
          if (!hasTime && !r.isNullAt(ScanRows.TIME)) {
            hasTime = true;
            time = r.getLong(ScanRows.TIME);
          }
        }
        r = rows.hasNext() ? rows.next() : null;
      }
      if (count == 0) {
        return new IllegalArgumentException(String.format(
            "state table: expected a series key ('%s') on every state, got null", config.seriesColumn));
      }
      return NullSeriesKeys.failure(config.seriesColumn, config.timeType, count, hasTime, time);
    }
  }
}
