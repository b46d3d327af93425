package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.types.DataType;
import org.sparkssm.scan.ScanModel;

/**
 * What a task needs to scan segments of series: the model, the chunk size, the memory limit, the
 * output options and the column names for error messages. Shipped to executors with the task;
 * {@link #acquireWorkspace()} gives each task attempt one set of chunk arrays that every series
 * (or block) of the task reuses.
 */
final class ScanConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  final ScanModel model;
  final int chunkRows;
  final boolean emitState;
  final String seriesColumn;
  final String timeColumn;
  /** The time column's type, for times in messages ({@link TimeCodec#format}). */
  final DataType timeType;
  /** Time-column units per model time unit for per-step Δt from real gaps; 0 for fixed steps. */
  final long stepEvery;
  private final String scanId = UUID.randomUUID().toString();

  ScanConfig(ScanModel model, int chunkRows, boolean emitState, String seriesColumn, String timeColumn,
      DataType timeType, long stepEvery) {
    this.stepEvery = stepEvery;
    this.model = model;
    this.chunkRows = chunkRows;
    this.emitState = emitState;
    this.seriesColumn = seriesColumn;
    this.timeColumn = timeColumn;
    this.timeType = timeType;
  }

  /** The same settings for another model (one stage of a layer stack). */
  ScanConfig withModel(ScanModel stageModel) {
    return new ScanConfig(stageModel, chunkRows, emitState, seriesColumn, timeColumn, timeType, stepEvery);
  }

  /** Heap bytes one chunk row takes in a {@link Workspace}. */
  static long bytesPerRow(int inputs, int outputs) {
    return 8L * (2 + inputs + outputs) + 1;
  }

  /** The row layout of a scan with this model (saved states not in the input). */
  ScanRows layout() {
    return new ScanRows(model.inputs(), model.outputs(), emitState, false);
  }

  /** A series for messages: {@code unique_id = 'a'} (binary keys in hex). */
  String describe(Object key) {
    if (key instanceof byte[]) {
      StringBuilder hex = new StringBuilder("X'");
      for (byte b : (byte[]) key) {
        hex.append(String.format("%02X", b));
      }
      return seriesColumn + " = " + hex.append("'");
    }
    return seriesColumn + " = '" + key + "'";
  }

  /** An encoded time as ISO-8601 (or the number), for messages. */
  String formatTime(long t) {
    return TimeCodec.format(t, timeType);
  }

  /** Per task attempt and scan: the chunk arrays. */
  private static final ConcurrentMap<String, Workspace> WORKSPACES = new ConcurrentHashMap<>();

  /**
   * The arrays one segment scan needs, sized for one chunk: times, the kernel's input (time-major,
   * {@code [row * inputs + j]}) and output ({@code [row * outputs + j]}), missing-row flags and
   * Δt. Inside a task, one per task, reused segment after segment.
   */
  static final class Workspace {
    final long[] time;
    final double[] u;
    final double[] y;
    final boolean[] missing;
    final double[] dt;

    Workspace(int rows, int inputs, int outputs) {
      this.time = new long[rows];
      this.u = new double[rows * inputs];
      this.y = new double[rows * outputs];
      this.missing = new boolean[rows];
      this.dt = new double[rows];
    }
  }

  /**
   * Inside a task: the task's workspace, created on first use and dropped when the task
   * completes. Outside a task: a new one.
   */
  Workspace acquireWorkspace() {
    int inputs = model.inputs();
    int outputs = model.outputs();
    TaskContext task = TaskContext.get();
    if (task == null) {
      return new Workspace(chunkRows, inputs, outputs);
    }
    String id = task.taskAttemptId() + "/" + scanId;
    return WORKSPACES.computeIfAbsent(id, k -> {
      task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> WORKSPACES.remove(k));
      return new Workspace(chunkRows, inputs, outputs);
    });
  }
}
