package org.sparkssm.spark.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.TaskContext;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * A Spark plugin for fault tests: every task of the job whose description is
 * {@code spark.ssm.test.gateDescription} announces itself as {@code running-<executor pid>} in the
 * folder {@code spark.ssm.test.gate} and waits there until the file {@code open} appears, so the
 * test can kill an executor while it holds such a task. Runs in Spark's own task thread before the
 * task's code; production code has no hook for it.
 */
public final class TaskGatePlugin implements SparkPlugin {
  @Override
  public DriverPlugin driverPlugin() {
    return null;
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return new ExecutorPlugin() {
      private Path gate;
      private String description;

      @Override
      public void init(PluginContext ctx, Map<String, String> extraConf) {
        gate = Paths.get(ctx.conf().get("spark.ssm.test.gate"));
        description = ctx.conf().get("spark.ssm.test.gateDescription");
      }

      @Override
      public void onTaskStart() {
        TaskContext task = TaskContext.get();
        if (task == null || !description.equals(task.getLocalProperty("spark.job.description"))
            || Files.exists(gate.resolve("open"))) {
          return;
        }
        try {
          Path running = gate.resolve("running-" + ProcessHandle.current().pid());
          if (!Files.exists(running)) {
            Files.writeString(running, "partition " + task.partitionId());
          }
          long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
          while (!Files.exists(gate.resolve("open"))) {
            if (System.nanoTime() > deadline) {
              throw new IllegalStateException("gate " + gate + " never opened");
            }
            Thread.sleep(50);
          }
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted", e);
        }
      }
    };
  }
}
