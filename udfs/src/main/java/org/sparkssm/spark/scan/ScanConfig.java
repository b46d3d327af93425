package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.types.DataType;
import org.sparkssm.scan.ScanModel;
import org.sparkssm.spark.arrow.ChunkVectors;
import org.sparkssm.spark.arrow.TaskAllocators;

/**
 * What a task needs to scan segments of series: the model, the chunk size, the memory limit, the
 * output options and the column names for error messages. Shipped to executors with the task;
 * {@link #acquireWorkspace()} gives each task attempt one set of chunk buffers that every series
 * (or block) of the task reuses.
 */
final class ScanConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  final ScanModel model;
  final int chunkRows;
  final long allocatorLimit;
  final boolean emitState;
  final String seriesColumn;
  final String timeColumn;
  /** The time column's type, for times in messages ({@link TimeCodec#format}). */
  final DataType timeType;
  /** Time-column units per model time unit for per-step Δt from real gaps; 0 for fixed steps. */
  final long stepEvery;
  private final String scanId = UUID.randomUUID().toString();

  ScanConfig(ScanModel model, int chunkRows, long allocatorLimit, boolean emitState, String seriesColumn,
      String timeColumn, DataType timeType, long stepEvery) {
    this.stepEvery = stepEvery;
    this.model = model;
    this.chunkRows = chunkRows;
    this.allocatorLimit = allocatorLimit;
    this.emitState = emitState;
    this.seriesColumn = seriesColumn;
    this.timeColumn = timeColumn;
    this.timeType = timeType;
  }

  /** The same settings for another model (one stage of a layer stack). */
  ScanConfig withModel(ScanModel stageModel) {
    return new ScanConfig(stageModel, chunkRows, allocatorLimit, emitState, seriesColumn, timeColumn, timeType,
        stepEvery);
  }

  String describe(Object key) {
    return seriesColumn + " = '" + key + "'";
  }

  /** An encoded time as ISO-8601 (or the number), for messages. */
  String formatTime(long t) {
    return TimeCodec.format(t, timeType);
  }

  /** Per task attempt and scan: the chunk buffers and kernel windows. */
  private static final ConcurrentMap<String, Workspace> WORKSPACES = new ConcurrentHashMap<>();

  /** The buffers one segment scan needs; inside a task, one per task, reused segment after segment. */
  static final class Workspace implements AutoCloseable {
    final ChunkVectors chunk;
    final double[] u;
    final double[] y;
    final double[] dt;
    private final BufferAllocator ownAllocator; // only outside a Spark task

    Workspace(ChunkVectors chunk, int rows, int inputs, int outputs, BufferAllocator ownAllocator) {
      this.chunk = chunk;
      this.u = new double[rows * inputs];
      this.y = new double[rows * outputs];
      this.dt = new double[rows];
      this.ownAllocator = ownAllocator;
    }

    /** True when the segment owns it (outside a task) and must close it when done. */
    boolean ownedBySegment() {
      return ownAllocator != null;
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
   * Inside a task: the task's workspace, created on first use and closed when the task completes
   * (before the task's allocator: completion listeners run last-registered first). Outside a task:
   * a private workspace the segment closes itself.
   */
  Workspace acquireWorkspace() {
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
      Workspace w = new Workspace(new ChunkVectors(allocator, chunkRows, inputs, outputs), chunkRows, inputs, outputs,
          null);
      task.addTaskCompletionListener(ctx -> {
        WORKSPACES.remove(k);
        w.close();
      });
      return w;
    });
  }
}
