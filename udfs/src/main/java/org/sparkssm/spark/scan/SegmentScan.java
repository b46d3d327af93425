package org.sparkssm.spark.scan;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.sparkssm.scan.IrregularScanModel;
import org.sparkssm.spark.arrow.ChunkVectors;
import org.sparkssm.state.ScanState;

/**
 * Scans one time-ordered segment of one series (a whole series in the many-series path, a block
 * in the two-pass path) chunk by chunk from a given state, as a lazy iterator of output rows: it
 * reads at most one chunk ahead of what it has emitted, so memory is one chunk whatever the length.
 *
 * <p>Rows in: {@code [key, t: long, v_0 .. v_{M-1}: double]}. Rows out:
 * {@code [key, t, y_0 .. y_{P-1}, (state vector), end_state: binary, is_output: boolean]} with
 * {@code end_state} on the segment's last row when {@link #endStateOnLastRow} asks for it.
 *
 * <p>Policies (documented on {@link SsmScan}): a null time or a time not after the previous one
 * fails naming the series; a row with a null or non-finite value holds the state and outputs NaN.
 * Rows at or before {@code skipThrough} are counted and skipped (incremental runs).
 */
final class SegmentScan implements Iterator<Row> {
  private final ScanConfig config;
  private final Object key;
  private final Iterator<Row> input;
  private final int inputs;
  private final int outputs;
  private final double[] h;
  private final boolean endStateOnLastRow;
  private final long skipThrough;
  private long position;
  private long lastTime;
  private boolean hasLastTime;
  private long skipped;
  private long firstTime;
  private long rowsScanned;
  private long previousRowTime; // time of the row before the current chunk, for Δt from real gaps
  private boolean hasPreviousRow;
  private long stepsTaken;

  private ConfigWorkspace ws;
  private int chunkSize;
  private int emitted;
  private boolean inputDone;
  private boolean finished;
  private double[][] statePerRow;
  private double[] reportedEndState;
  private long reportedFingerprint;

  /** The workspace view of this segment. */
  private static final class ConfigWorkspace {
    final ScanConfig.Workspace workspace;
    final ChunkVectors chunk;

    ConfigWorkspace(ScanConfig.Workspace workspace) {
      this.workspace = workspace;
      this.chunk = workspace.chunk;
    }
  }

  /**
   * @param h the incoming state (used and updated in place)
   * @param position steps of the series before this segment (the end state records position + rows)
   * @param skipThrough rows with {@code t <= skipThrough} are skipped ({@code Long.MIN_VALUE}: none)
   */
  SegmentScan(ScanConfig config, Object key, Iterator<Row> input, double[] h, long position, long skipThrough,
      boolean endStateOnLastRow) {
    this.config = config;
    if (key == null) { // callers with the rows at hand count them first (NullSeriesKeys)
      throw new IllegalArgumentException(String.format(
          "series column '%s': expected no null keys, got null", config.seriesColumn));
    }
    this.key = key;
    this.input = input;
    this.inputs = config.model.inputs();
    this.outputs = config.model.outputs();
    this.h = h;
    this.position = position;
    this.skipThrough = skipThrough;
    this.endStateOnLastRow = endStateOnLastRow;
    if (skipThrough != Long.MIN_VALUE) {
      lastTime = skipThrough;
      hasLastTime = true;
      previousRowTime = skipThrough;
      hasPreviousRow = true;
    }
  }

  /**
   * Reports {@code state} under {@code fingerprint} as the segment's end state instead of the
   * segment model's own: the last stage of a layer stack scanned across partitions ends with the
   * whole stack's state, which the two-pass driver assembles from every stage.
   */
  void reportEndState(long fingerprint, double[] state) {
    this.reportedFingerprint = fingerprint;
    this.reportedEndState = state;
  }

  /** A row's time; a null time fails naming the series. */
  static long timeOf(Row r, ScanConfig config, Object key) {
    if (r.isNullAt(1)) {
      throw new IllegalArgumentException(String.format(
          "column '%s': expected a time in every row, got null in series %s", config.timeColumn, config.describe(key)));
    }
    return r.getLong(1);
  }

  /** Rows skipped as already scanned ({@code t <= skipThrough}); final once the iterator is exhausted. */
  long skippedRows() {
    return skipped;
  }

  /** Rows scanned; final once the iterator is exhausted. */
  long rowsScanned() {
    return rowsScanned;
  }

  /** Kernel steps taken: scanned rows that were not missing (a missing row holds the state). */
  long stepsTaken() {
    return stepsTaken;
  }

  /** Time of the first scanned row (valid when {@link #rowsScanned()} > 0). */
  long firstTime() {
    return firstTime;
  }

  /** Time of the last scanned row (valid when {@link #rowsScanned()} > 0). */
  long lastTime() {
    return lastTime;
  }

  /** The state, final once the iterator is exhausted. */
  double[] state() {
    return h;
  }

  /** Steps of the series up to here. */
  long position() {
    return position;
  }

  /** Consumes the segment without building output rows (a pass that needs only the end state). */
  void drain() {
    while (!finished) {
      fillAndScanChunk();
      emitted = chunkSize;
      if (inputDone) {
        finish();
      }
    }
  }

  @Override
  public boolean hasNext() {
    while (true) {
      if (ws != null && emitted < chunkSize) {
        return true;
      }
      if (finished) {
        return false;
      }
      fillAndScanChunk();
      if (chunkSize == 0) {
        finish();
      }
    }
  }

  @Override
  public Row next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    int row = emitted++;
    boolean last = emitted == chunkSize && inputDone;
    Row out = outputRow(row, last && endStateOnLastRow);
    if (last) {
      finish();
    }
    return out;
  }

  private void fillAndScanChunk() {
    if (ws == null) {
      ws = new ConfigWorkspace(config.acquireWorkspace());
    }
    ChunkVectors chunk = ws.chunk;
    chunk.reset();
    int rows = 0;
    while (rows < config.chunkRows && input.hasNext()) {
      Row r = input.next();
      long t = timeOf(r, config, key);
      if (t <= skipThrough && skipThrough != Long.MIN_VALUE) {
        skipped++; // already scanned by the run that saved the state
        continue;
      }
      if (hasLastTime && t <= lastTime) {
        throw new IllegalArgumentException(String.format(
            "column '%s': expected strictly increasing times, got %s twice in series %s (duplicate timestamp)",
            config.timeColumn, config.formatTime(t), config.describe(key)));
      }
      if (rowsScanned + rows == 0) {
        firstTime = t;
      }
      lastTime = t;
      hasLastTime = true;
      chunk.setTime(rows, t);
      boolean missing = false;
      for (int j = 0; j < inputs && !missing; j++) {
        int col = 2 + j;
        missing = r.isNullAt(col) || !Double.isFinite(r.getDouble(col));
        if (!missing) {
          chunk.setValue(rows, j, r.getDouble(col));
        }
      }
      if (missing) {
        chunk.setMissing(rows);
      }
      rows++;
    }
    inputDone = !input.hasNext();
    chunkSize = rows;
    emitted = 0;
    chunk.setRowCount(rows);
    scanChunk(rows);
  }

  /** Scans the runs of present rows; a missing row holds the state and outputs NaN. */
  private void scanChunk(int rows) {
    ChunkVectors chunk = ws.chunk;
    double[] u = ws.workspace.u;
    double[] y = ws.workspace.y;
    int row = 0;
    while (row < rows) {
      if (chunk.isMissing(row)) {
        chunk.setOutputsNaN(row);
        stateAfter(row);
        row++;
        continue;
      }
      int end = row + 1;
      // With a state column each row needs its own state, so scan one step at a time.
      while (!config.emitState && end < rows && !chunk.isMissing(end)) {
        end++;
      }
      int len = end - row;
      chunk.copyValuesTo(row, len, u, 0);
      if (config.stepEvery > 0) {
        double[] dt = ws.workspace.dt;
        for (int k = 0; k < len; k++) {
          int r = row + k;
          // Δt from the real gap to the previous row; a series' first row takes one model time unit.
          boolean hasPrevious = r > 0 || hasPreviousRow;
          long previous = r > 0 ? chunk.time(r - 1) : previousRowTime;
          dt[k] = hasPrevious ? (double) (chunk.time(r) - previous) / config.stepEvery : 1.0;
        }
        ((IrregularScanModel) config.model).scanIrregular(dt, 0, u, 0, y, 0, len, h);
      } else {
        config.model.scan(u, 0, y, 0, len, h);
      }
      stepsTaken += len;
      chunk.setOutputs(row, len, y, 0);
      stateAfter(end - 1);
      row = end;
    }
    position += rows;
    rowsScanned += rows;
    if (rows > 0) {
      previousRowTime = chunk.time(rows - 1);
      hasPreviousRow = true;
    }
  }

  private void stateAfter(int row) {
    if (!config.emitState) {
      return;
    }
    if (statePerRow == null) {
      statePerRow = new double[config.chunkRows][];
    }
    statePerRow[row] = h.clone();
  }

  private Row outputRow(int row, boolean withEndState) {
    ChunkVectors chunk = ws.chunk;
    Object[] values = new Object[width(config)];
    values[0] = key;
    values[1] = chunk.time(row);
    for (int j = 0; j < outputs; j++) {
      values[2 + j] = chunk.output(row, j);
    }
    int next = 2 + outputs;
    if (config.emitState) {
      values[next++] = Vectors.dense(statePerRow[row]);
    }
    if (withEndState) {
      values[next] = reportedEndState == null ? ScanState.of(config.model.fingerprint(), position, h).toBytes()
          : ScanState.of(reportedFingerprint, position, reportedEndState).toBytes();
    }
    next++;
    values[next] = Boolean.TRUE;
    return RowFactory.create(values);
  }

  /** A row that only carries a state forward (a series with a saved state and no new rows). */
  static Row carryRow(ScanConfig config, Object key, long time, byte[] state) {
    Object[] values = new Object[width(config)];
    values[0] = key;
    values[1] = time;
    values[values.length - 2] = state;
    values[values.length - 1] = Boolean.FALSE;
    return RowFactory.create(values);
  }

  private static int width(ScanConfig config) {
    return 2 + config.model.outputs() + (config.emitState ? 1 : 0) + 2;
  }

  /** Releases the workspace when this segment owns it (outside a task); a task's stays for the next segment. */
  private void finish() {
    finished = true;
    if (ws != null && ws.workspace.ownedBySegment()) {
      ws.workspace.close();
    }
    ws = null;
  }
}
