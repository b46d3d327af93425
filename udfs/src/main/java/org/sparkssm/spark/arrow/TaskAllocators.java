package org.sparkssm.spark.arrow;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.spark.TaskContext;

/**
 * Who owns off-heap memory in an executor: one root allocator per JVM, and one named child
 * allocator per task attempt with a byte limit, closed when the task completes. Closing an
 * allocator that still has buffers throws and names them, so a leak fails the task instead of
 * growing the executor. Outside a task (driver-side use, unit tests) callers get a standalone child
 * they close themselves.
 */
public final class TaskAllocators {
  private TaskAllocators() {}

  private static final Object LOCK = new Object();
  private static volatile BufferAllocator root;
  private static final ConcurrentMap<Long, BufferAllocator> BY_TASK = new ConcurrentHashMap<>();

  /** The JVM's root allocator (created on first use, unlimited: children carry the limits). */
  public static BufferAllocator root() {
    BufferAllocator r = root;
    if (r == null) {
      synchronized (LOCK) {
        r = root;
        if (r == null) {
          r = new RootAllocator(Long.MAX_VALUE);
          root = r;
        }
      }
    }
    return r;
  }

  /**
   * The current task attempt's allocator, created on first call with {@code limitBytes} and closed
   * (leak-checked) when the task completes. Must be called inside a Spark task.
   */
  public static BufferAllocator forCurrentTask(long limitBytes) {
    TaskContext task = TaskContext.get();
    if (task == null) {
      throw new IllegalStateException("forCurrentTask: expected to run inside a Spark task, got no TaskContext");
    }
    long attempt = task.taskAttemptId();
    return BY_TASK.computeIfAbsent(attempt, id -> {
      String name = "spark-ssm stage " + task.stageId() + " partition " + task.partitionId() + " attempt "
          + task.attemptNumber() + " (task " + id + ")";
      BufferAllocator child = root().newChildAllocator(name, 0, limitBytes);
      task.addTaskCompletionListener(ctx -> {
        BY_TASK.remove(id);
        child.close();
      });
      return child;
    });
  }

  /** A standalone child allocator for use outside tasks; the caller closes it. */
  public static BufferAllocator standalone(String name, long limitBytes) {
    return root().newChildAllocator(name, 0, limitBytes);
  }
}
