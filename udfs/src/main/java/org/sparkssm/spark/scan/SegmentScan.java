package org.sparkssm.spark.scan;

import org.sparkssm.scan.IrregularScanModel;
import org.sparkssm.state.ScanState;

/**
 * Scans one time-ordered segment of one series (a whole series in the many-series path, a block
 * in the two-pass path) chunk by chunk from a given state, as a cursor over its output rows: it
 * reads at most one chunk (and one row) ahead of what it has emitted, so memory is one chunk
 * whatever the length. The chunk lives in the task's {@link ScanConfig.Workspace}: each row's time
 * and values are copied from the input row straight into the kernel's input array (time-major,
 * {@code u[row * inputs + j]}), the kernel writes {@code y[row * outputs + j]} in place, and
 * outputs are read from there: no per-row object on either side.
 *
 * <p>Policies (documented on {@link SsmScan}): a null time or a time not after the previous one
 * fails naming the series; a row with a null or non-finite value holds the state and outputs NaN.
 * Rows at or before {@code skipThrough} are counted and skipped (incremental runs).
 */
final class SegmentScan {
  private final ScanConfig config;
  private final Object key;
  private final SeriesCursor input;
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

  private final ScanConfig.Workspace ws;
  private boolean pending;  // the cursor stands on a row not yet read into a chunk
  private int chunkSize;
  private int current = -1; // the output row the accessors read
  private boolean inputDone;
  private boolean finished;
  private double[][] statePerRow;
  private double[] reportedEndState;
  private long reportedFingerprint;

  /**
   * @param ws the chunk arrays ({@link ScanConfig#acquireWorkspace()}), shared by the segments of a task one after another
   * @param key the series key, for messages (and {@link #key()})
   * @param h the incoming state (used and updated in place)
   * @param position steps of the series before this segment (the end state records position + rows)
   * @param skipThrough rows with {@code t <= skipThrough} are skipped ({@code Long.MIN_VALUE}: none)
   */
  SegmentScan(ScanConfig config, ScanConfig.Workspace ws, Object key, SeriesCursor input, double[] h, long position,
      long skipThrough, boolean endStateOnLastRow) {
    this.config = config;
    this.ws = ws;
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

  /** The current row's time; a null time fails naming the series. */
  static long timeOf(SeriesCursor row, ScanConfig config, Object key) {
    if (row.timeIsNull()) {
      throw nullTime(config, key);
    }
    return row.time();
  }

  static IllegalArgumentException nullTime(ScanConfig config, Object key) {
    return new IllegalArgumentException(String.format(
        "column '%s': expected a time in every row, got null in series %s", config.timeColumn, config.describe(key)));
  }

  /** Rows skipped as already scanned ({@code t <= skipThrough}); final once the scan is done. */
  long skippedRows() {
    return skipped;
  }

  /** Rows scanned; final once the scan is done. */
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

  /** The state, final once the scan is done. */
  double[] state() {
    return h;
  }

  /** Steps of the series up to here. */
  long position() {
    return position;
  }

  Object key() {
    return key;
  }

  /** Consumes the segment without reading output rows (a pass that needs only the end state). */
  void drain() {
    while (!finished) {
      fillAndScanChunk();
      current = chunkSize;
      if (inputDone) {
        finish();
      }
    }
  }

  /** Moves to the next output row; false (and the workspace released) once the segment is done. */
  boolean advance() {
    while (true) {
      if (current + 1 < chunkSize) {
        current++;
        return true;
      }
      if (finished) {
        return false;
      }
      if (chunkSize > 0 && inputDone) {
        finish();
        return false;
      }
      fillAndScanChunk();
      current = -1;
      if (chunkSize == 0) {
        finish();
      }
    }
  }

  /** The current output row's time. */
  long rowTime() {
    return ws.time[current];
  }

  /** The current output row's value of output channel {@code j} (NaN on a missing row). */
  double output(int j) {
    return ws.y[current * outputs + j];
  }

  /** The state after the current row (with {@code emitState} only). */
  double[] rowState() {
    return statePerRow[current];
  }

  /** The segment's end state as {@link ScanState} bytes on its last row, when asked for; else null. */
  byte[] rowEndState() {
    if (!endStateOnLastRow || !inputDone || current != chunkSize - 1) {
      return null;
    }
    return reportedEndState == null ? ScanState.of(config.model.fingerprint(), position, h).toBytes()
        : ScanState.of(reportedFingerprint, position, reportedEndState).toBytes();
  }

  private void fillAndScanChunk() {
    long[] time = ws.time;
    double[] u = ws.u;
    boolean[] missing = ws.missing;
    int rows = 0;
    while (rows < config.chunkRows) {
      if (!pending && !input.nextRow()) {
        inputDone = true;
        break;
      }
      pending = false;
      long t = timeOf(input, config, key);
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
      time[rows] = t;
      boolean absent = false;
      int at = rows * inputs;
      for (int j = 0; j < inputs; j++) {
        double v = input.valueIsNull(j) ? Double.NaN : input.value(j);
        absent |= !Double.isFinite(v);
        u[at + j] = v;
      }
      missing[rows] = absent;
      rows++;
    }
    if (!inputDone) { // a full chunk: look one row ahead to know whether it was the segment's last
      pending = input.nextRow();
      inputDone = !pending;
    }
    chunkSize = rows;
    scanChunk(rows);
  }

  /** Scans the runs of present rows; a missing row holds the state and outputs NaN. */
  private void scanChunk(int rows) {
    boolean[] missing = ws.missing;
    double[] u = ws.u;
    double[] y = ws.y;
    int row = 0;
    while (row < rows) {
      if (missing[row]) {
        java.util.Arrays.fill(y, row * outputs, (row + 1) * outputs, Double.NaN);
        stateAfter(row);
        row++;
        continue;
      }
      int end = row + 1;
      // With a state column each row needs its own state, so scan one step at a time.
      while (!config.emitState && end < rows && !missing[end]) {
        end++;
      }
      int len = end - row;
      if (config.stepEvery > 0) {
        double[] dt = ws.dt;
        long[] time = ws.time;
        for (int k = 0; k < len; k++) {
          int r = row + k;
          // Δt from the real gap to the previous row; a series' first row takes one model time unit.
          boolean hasPrevious = r > 0 || hasPreviousRow;
          long previous = r > 0 ? time[r - 1] : previousRowTime;
          dt[k] = hasPrevious ? (double) (time[r] - previous) / config.stepEvery : 1.0;
        }
        ((IrregularScanModel) config.model).scanIrregular(dt, 0, u, row * inputs, y, row * outputs, len, h);
      } else {
        config.model.scan(u, row * inputs, y, row * outputs, len, h);
      }
      stepsTaken += len;
      stateAfter(end - 1);
      row = end;
    }
    position += rows;
    rowsScanned += rows;
    if (rows > 0) {
      previousRowTime = ws.time[rows - 1];
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

  private void finish() {
    finished = true;
    chunkSize = 0;
  }
}
