package org.sparkssm.jobs.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress of a long job on stderr: Spark jobs, stages and tasks done out of those known so far.
 * On a terminal one line is rewritten in place (at most every {@link #REDRAW_MILLIS}); otherwise
 * (a log file, CI) a plain line is printed when a stage or a job ends.
 *
 * <p>A stage counts once however many jobs list it; stages that Spark skips (their shuffle output
 * already exists) leave the total when their job ends, so a finished run reads n/n.
 */
public final class ConsoleProgress extends SparkListener {
  static final long REDRAW_MILLIS = 200;

  private final PrintWriter out;
  private final boolean terminal;
  private final LongSupplier clockMillis;
  private final long startMillis;

  // Listener events arrive on Spark's one listener-bus thread; the lock covers awaitIdle's reads.
  private final Map<Integer, List<Integer>> stagesOfJob = new HashMap<>();
  private final Set<Integer> stagesKnown = new HashSet<>();
  private final Set<Integer> stagesDone = new HashSet<>();
  private int jobsDone;
  private long tasksTotal;
  private long tasksDone;
  private long lastDrawMillis = Long.MIN_VALUE;
  private int lastWidth;

  ConsoleProgress(PrintWriter out, boolean terminal, LongSupplier clockMillis) {
    this.out = out;
    this.terminal = terminal;
    this.clockMillis = clockMillis;
    this.startMillis = clockMillis.getAsLong();
  }

  /** Starts reporting the jobs of {@code sc} to {@code out}. */
  public static ConsoleProgress attach(SparkContext sc, PrintWriter out, boolean terminal) {
    ConsoleProgress progress = new ConsoleProgress(out, terminal, System::currentTimeMillis);
    sc.addSparkListener(progress);
    return progress;
  }

  /** Stops reporting, after waiting a little for the last jobs' end events. */
  public void detach(SparkContext sc) {
    awaitIdle(2000);
    sc.removeSparkListener(this);
    synchronized (this) {
      if (terminal && lastWidth > 0) {
        out.println();
        out.flush();
        lastWidth = 0;
      }
    }
  }

  /** Waits until every job started has ended (events are delivered asynchronously), at most {@code millis}. */
  synchronized boolean awaitIdle(long millis) {
    long deadline = System.currentTimeMillis() + millis;
    while (!stagesOfJob.isEmpty()) {
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        return false;
      }
      try {
        wait(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  @Override
  public synchronized void onJobStart(SparkListenerJobStart event) {
    List<Integer> stages = new ArrayList<>();
    for (StageInfo stage : CollectionConverters.asJava(event.stageInfos())) {
      stages.add(stage.stageId());
    }
    stagesOfJob.put(event.jobId(), stages);
    stagesKnown.addAll(stages);
    draw(false, null);
  }

  @Override
  public synchronized void onStageSubmitted(SparkListenerStageSubmitted event) {
    tasksTotal += event.stageInfo().numTasks();
    draw(false, null);
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd event) {
    if (event.taskInfo() != null && event.taskInfo().successful()) {
      tasksDone++;
    }
    draw(false, null);
  }

  @Override
  public synchronized void onStageCompleted(SparkListenerStageCompleted event) {
    stagesDone.add(event.stageInfo().stageId());
    draw(!terminal, null);
  }

  @Override
  public synchronized void onJobEnd(SparkListenerJobEnd event) {
    List<Integer> stages = stagesOfJob.remove(event.jobId());
    if (stages != null) {
      jobsDone++;
      for (Integer stage : stages) {
        if (!stagesDone.contains(stage)) {
          stagesKnown.remove(stage); // skipped: it will not run
        }
      }
    }
    boolean ok = event.jobResult() instanceof org.apache.spark.scheduler.JobSucceeded$;
    draw(true, "job " + event.jobId() + (ok ? " done" : " failed"));
    notifyAll();
  }

  private void draw(boolean force, String note) {
    long now = clockMillis.getAsLong();
    if (!force && (!terminal || now - lastDrawMillis < REDRAW_MILLIS)) {
      return;
    }
    lastDrawMillis = now;
    String line = String.format(Locale.ROOT, "spark-ssm: jobs %d/%d, stages %d/%d, tasks %d/%d, %.1f s%s",
        jobsDone, jobsDone + stagesOfJob.size(), stagesDone.size(), stagesKnown.size(), tasksDone, tasksTotal,
        (now - startMillis) / 1000.0, note == null ? "" : " (" + note + ")");
    if (terminal) {
      // \r returns to the line start; spaces blank what a longer previous line left.
      out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
      lastWidth = line.length();
    } else {
      out.println(line);
    }
    out.flush();
  }
}
