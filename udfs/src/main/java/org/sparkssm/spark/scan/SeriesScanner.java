package org.sparkssm.spark.scan;

import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.CoGroupFunction;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.arrow.ChunkVectors;
import org.sparkssm.spark.arrow.TaskAllocators;
import org.sparkssm.state.ScanState;

/**
 * The per-series function of the many-series path: consumes one series' rows in time order
 * (Spark sorts and spills them), fills {@link ChunkVectors} chunk by chunk, scans each chunk from
 * the carried state and emits the chunk's output rows before reading the next, so memory is one
 * chunk whatever the series length.
 *
 * <p>Rows in (after {@link SsmScan}'s projection): {@code [key, t: long, v_0 .. v_{M-1}: double]}.
 * Saved states in (incremental runs): {@code [key, last_t: long, state: binary, version: int,
 * fingerprint: long]}. Rows out: {@code [key, t, y_0 .. y_{P-1}, (state vector), end_state: binary,
 * is_output: boolean]}; {@code end_state} is set on each series' last row only, and a series with a
 * saved state but no new rows yields one row with {@code is_output = false} that carries its state
 * forward.
 */
final class SeriesScanner implements FlatMapGroupsFunction<Row, Row, Row>, CoGroupFunction<Row, Row, Row, Row> {
  private static final long serialVersionUID = 1L;

  private final ScanModel model;
  private final int chunkRows;
  private final long allocatorLimit;
  private final boolean emitState;
  private final String seriesColumn;
  private final String timeColumn;
  private final String scanId = java.util.UUID.randomUUID().toString();

  /** Per task attempt and scan: the chunk buffers and kernel windows, reused by every series. */
  private static final java.util.concurrent.ConcurrentMap<String, Workspace> WORKSPACES =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The buffers one series scan needs; one per task, reused series after series. */
  private static final class Workspace implements AutoCloseable {
    final ChunkVectors chunk;
    final double[] u;
    final double[] y;
    final BufferAllocator ownAllocator; // only outside a Spark task

    Workspace(ChunkVectors chunk, int rows, int inputs, int outputs, BufferAllocator ownAllocator) {
      this.chunk = chunk;
      this.u = new double[rows * inputs];
      this.y = new double[rows * outputs];
      this.ownAllocator = ownAllocator;
    }

    @Override
    public void close() {
      chunk.close();
      if (ownAllocator != null) {
        ownAllocator.close();
      }
    }
  }

  /**
   * Inside a task: the task's workspace, created on first use and closed (before the task's
   * allocator, listeners run last-registered first) when the task completes. Outside a task: a
   * private workspace the series closes itself.
   */
  private Workspace acquireWorkspace() {
    int inputs = model.inputs();
    int outputs = model.outputs();
    TaskContext task = TaskContext.get();
    if (task == null) {
      BufferAllocator own = TaskAllocators.standalone("spark-ssm scan " + scanId, allocatorLimit);
      return new Workspace(new ChunkVectors(own, chunkRows, inputs, outputs), chunkRows, inputs, outputs, own);
    }
    String id = task.taskAttemptId() + "/" + scanId;
    return WORKSPACES.computeIfAbsent(id, k -> {
      BufferAllocator allocator = TaskAllocators.forCurrentTask(allocatorLimit);
      Workspace w = new Workspace(new ChunkVectors(allocator, chunkRows, inputs, outputs), chunkRows, inputs, outputs, null);
      task.addTaskCompletionListener(ctx -> {
        WORKSPACES.remove(k);
        w.close();
      });
      return w;
    });
  }

  SeriesScanner(ScanModel model, int chunkRows, long allocatorLimit, boolean emitState, String seriesColumn,
      String timeColumn) {
    this.model = model;
    this.chunkRows = chunkRows;
    this.allocatorLimit = allocatorLimit;
    this.emitState = emitState;
    this.seriesColumn = seriesColumn;
    this.timeColumn = timeColumn;
  }

  @Override
  public Iterator<Row> call(Row key, Iterator<Row> rows) {
    return new SeriesIterator(key, rows, null);
  }

  @Override
  public Iterator<Row> call(Row key, Iterator<Row> rows, Iterator<Row> savedStates) {
    Row saved = null;
    if (savedStates.hasNext()) {
      saved = savedStates.next();
      if (savedStates.hasNext()) {
        throw new IllegalArgumentException(String.format(
            "state table: expected one state per series, got several for series %s", describe(key)));
      }
    }
    return new SeriesIterator(key, rows, saved);
  }

  private String describe(Row key) {
    return seriesColumn + " = '" + key.get(0) + "'";
  }

  /** Lazily scans one series chunk by chunk. */
  private final class SeriesIterator implements Iterator<Row> {
    private final Row key;
    private final Object keyValue;
    private final Iterator<Row> input;
    private final int inputs = model.inputs();
    private final int outputs = model.outputs();
    private final double[] h;
    private double[] u;
    private double[] y;
    private Workspace workspace;
    private ChunkVectors chunk;
    private long position;
    private long lastTime;
    private boolean hasLastTime;
    private final long savedPosition;
    private final long savedTime;
    private long rowsAtOrBeforeSaved;
    private int chunkSize;
    private int emitted;
    private boolean inputDone;
    private boolean finished;
    private Row pendingCarry; // state-only row for a series with no new rows

    SeriesIterator(Row key, Iterator<Row> input, Row saved) {
      this.key = key;
      this.keyValue = key.get(0);
      if (keyValue == null) {
        throw new IllegalArgumentException(String.format(
            "column '%s': expected a series key in every row, got null", seriesColumn));
      }
      this.input = input;
      this.h = new double[model.stateSize()];
      if (saved != null) {
        ScanState state = readState(saved);
        System.arraycopy(state.hidden(), 0, h, 0, h.length);
        this.position = state.position();
        this.savedPosition = state.position();
        this.savedTime = saved.getLong(1);
        this.lastTime = savedTime;
        this.hasLastTime = true;
      } else {
        this.savedPosition = -1;
        this.savedTime = Long.MIN_VALUE;
      }
    }

    private ScanState readState(Row saved) {
      String source = "series " + describe(key);
      if (saved.isNullAt(2) || saved.isNullAt(1)) {
        throw new IllegalArgumentException(String.format(
            "state table: expected a state and a last timestamp for %s, got null", source));
      }
      int version = saved.getInt(3);
      if (version != ScanState.FORMAT_VERSION) {
        throw new IllegalArgumentException(String.format(
            "state table: expected state format version %d for %s, got %d", ScanState.FORMAT_VERSION, source, version));
      }
      ScanState state = ScanState.fromBytes((byte[]) saved.get(2), model.fingerprint(), source);
      if (state.size() != model.stateSize()) {
        throw new IllegalArgumentException(String.format(
            "state table: expected %d state values for %s, got %d", model.stateSize(), source, state.size()));
      }
      return state;
    }

    @Override
    public boolean hasNext() {
      if (chunk != null && emitted < chunkSize) {
        return true;
      }
      if (pendingCarry != null) {
        return true;
      }
      if (finished) {
        return false;
      }
      fillAndScanChunk();
      return hasNext();
    }

    @Override
    public Row next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      if (pendingCarry != null) {
        Row carry = pendingCarry;
        pendingCarry = null;
        return carry;
      }
      int row = emitted++;
      boolean last = emitted == chunkSize && inputDone;
      Row out = outputRow(row, last);
      if (last) {
        finish();
      }
      return out;
    }

    private void fillAndScanChunk() {
      if (chunk == null) {
        workspace = acquireWorkspace();
        chunk = workspace.chunk;
        u = workspace.u;
        y = workspace.y;
      }
      chunk.reset();
      int rows = 0;
      while (rows < chunkRows && input.hasNext()) {
        Row r = input.next();
        if (r.isNullAt(1)) {
          throw new IllegalArgumentException(String.format(
              "column '%s': expected a time in every row, got null in series %s", timeColumn, describe(key)));
        }
        long t = r.getLong(1);
        if (savedPosition >= 0 && t <= savedTime) {
          rowsAtOrBeforeSaved++; // already scanned by the run that saved the state
          continue;
        }
        if (hasLastTime && t <= lastTime) {
          throw new IllegalArgumentException(String.format(
              "column '%s': expected strictly increasing times, got %d twice in series %s (duplicate timestamp)",
              timeColumn, t, describe(key)));
        }
        lastTime = t;
        hasLastTime = true;
        chunk.setTime(rows, t);
        boolean missing = false;
        for (int j = 0; j < inputs; j++) {
          int col = 2 + j;
          if (r.isNullAt(col)) {
            missing = true;
            break;
          }
          double v = r.getDouble(col);
          if (!Double.isFinite(v)) {
            missing = true;
            break;
          }
          chunk.setValue(rows, j, v);
        }
        if (missing) {
          chunk.setMissing(rows);
        }
        rows++;
      }
      inputDone = !input.hasNext();
      checkSkippedRows();
      chunkSize = rows;
      emitted = 0;
      chunk.setRowCount(rows);
      scanChunk(rows);
      if (rows == 0) {
        finished = true;
        if (savedPosition >= 0 && position == savedPosition) {
          // No new rows: carry the saved state forward unchanged.
          pendingCarry = carryRow();
        }
        closeChunk();
      }
    }

    private void checkSkippedRows() {
      if (inputDone && savedPosition >= 0 && rowsAtOrBeforeSaved != 0 && rowsAtOrBeforeSaved != savedPosition) {
        throw new IllegalArgumentException(String.format(
            "series %s: expected 0 (new rows only) or %d (the full history) rows at or before the saved time %d, "
                + "got %d: rows were added or removed before the saved state",
            describe(key), savedPosition, savedTime, rowsAtOrBeforeSaved));
      }
    }

    /** Scans the runs of present rows; a missing row holds the state and outputs NaN. */
    private void scanChunk(int rows) {
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
        while (!emitState && end < rows && !chunk.isMissing(end)) {
          end++;
        }
        int len = end - row;
        chunk.copyValuesTo(row, len, u, 0);
        model.scan(u, 0, y, 0, len, h);
        chunk.setOutputs(row, len, y, 0);
        stateAfter(end - 1);
        row = end;
      }
      position += rows;
    }

    private double[][] statePerRow;

    private void stateAfter(int row) {
      if (!emitState) {
        return;
      }
      if (statePerRow == null) {
        statePerRow = new double[chunkRows][];
      }
      statePerRow[row] = h.clone();
    }

    private Row outputRow(int row, boolean last) {
      int width = 2 + outputs + (emitState ? 1 : 0) + 2;
      Object[] values = new Object[width];
      values[0] = keyValue;
      values[1] = chunk.time(row);
      for (int j = 0; j < outputs; j++) {
        values[2 + j] = chunk.output(row, j);
      }
      int next = 2 + outputs;
      if (emitState) {
        values[next++] = Vectors.dense(statePerRow[row]);
      }
      values[next++] = last ? ScanState.of(model.fingerprint(), position, h).toBytes() : null;
      values[next] = Boolean.TRUE;
      return RowFactory.create(values);
    }

    private Row carryRow() {
      int width = 2 + outputs + (emitState ? 1 : 0) + 2;
      Object[] values = new Object[width];
      values[0] = keyValue;
      values[1] = savedTime;
      int next = 2 + outputs;
      if (emitState) {
        next++;
      }
      values[next++] = ScanState.of(model.fingerprint(), position, h).toBytes();
      values[next] = Boolean.FALSE;
      return RowFactory.create(values);
    }

    private void finish() {
      finished = true;
      closeChunk();
    }

    /** Releases the workspace when it is this series' own (outside a task); a task's stays for the next series. */
    private void closeChunk() {
      if (workspace != null && workspace.ownAllocator != null) {
        workspace.close();
      }
      workspace = null;
      chunk = null;
    }
  }
}
