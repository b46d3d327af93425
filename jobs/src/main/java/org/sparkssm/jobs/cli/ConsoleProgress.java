package org.sparkssm.jobs.cli;

import java.io.PrintWriter;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Progress of a long job on stderr, in the job's own terms: the phase it is in (set by the job,
 * e.g. "fitting"), the tasks of its running stages done out of their total, the rows read so far
 * (input and shuffle records of finished tasks), the time since the start and, once a running stage
 * has finished some tasks, an estimate of the time left in it (its elapsed time scaled by its
 * tasks left over tasks done; the largest over running stages). On a terminal one line is
 * rewritten in place (at most every {@link #REDRAW_MILLIS}); otherwise (a log file, CI) a plain
 * line is printed when the phase changes and at most every {@link #PLAIN_MILLIS} while it lasts,
 * not one per Spark job.
 */
public final class ConsoleProgress extends SparkListener {
  static final long REDRAW_MILLIS = 200;
  static final long PLAIN_MILLIS = 10_000;

  private final PrintWriter out;
  private final boolean terminal;
  private final LongSupplier clockMillis;
  private final long startMillis;

  // Listener events arrive on Spark's one listener-bus thread; the lock covers the job's phase
  // calls and awaitIdle's reads.
  private final Set<Integer> runningJobs = new HashSet<>();
  /** Running stages: id → {start millis, tasks, tasks done}. */
  private final Map<Integer, long[]> runningStages = new HashMap<>();
  private String phase = "starting";
  private long rowsRead;
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

  /** The job enters a new phase (shown on the line from now on; a plain line is printed at once). */
  public synchronized void phase(String name) {
    phase = name;
    draw(true);
  }

  /**
   * Stops reporting, after waiting a little for the last jobs' end events; a job that {@code
   * succeeded} gets a last line (rows read, time), a failed one leaves the stage to its error line.
   */
  public void detach(SparkContext sc, boolean succeeded) {
    awaitIdle(2000);
    sc.removeSparkListener(this);
    synchronized (this) {
      if (succeeded) {
        phase = "done";
        draw(true);
      }
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
    while (!runningJobs.isEmpty()) {
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
    runningJobs.add(event.jobId());
  }

  @Override
  public synchronized void onStageSubmitted(SparkListenerStageSubmitted event) {
    runningStages.put(event.stageInfo().stageId(),
        new long[] {clockMillis.getAsLong(), event.stageInfo().numTasks(), 0});
    draw(false);
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd event) {
    if (event.taskInfo() != null && event.taskInfo().successful()) {
      long[] stage = runningStages.get(event.stageId());
      if (stage != null) {
        stage[2]++;
      }
      TaskMetrics m = event.taskMetrics();
      if (m != null) {
        rowsRead += m.inputMetrics().recordsRead() + m.shuffleReadMetrics().recordsRead();
      }
    }
    draw(false);
  }

  @Override
  public synchronized void onStageCompleted(SparkListenerStageCompleted event) {
    runningStages.remove(event.stageInfo().stageId());
    draw(false);
  }

  @Override
  public synchronized void onJobEnd(SparkListenerJobEnd event) {
    runningJobs.remove(event.jobId());
    notifyAll();
  }

  /** The progress line as it reads now. */
  synchronized String line() {
    long now = clockMillis.getAsLong();
    long tasks = 0;
    long done = 0;
    long etaMillis = -1;
    for (long[] stage : runningStages.values()) {
      tasks += stage[1];
      done += stage[2];
      if (stage[2] > 0) {
        etaMillis = Math.max(etaMillis, (now - stage[0]) * (stage[1] - stage[2]) / stage[2]);
      }
    }
    StringBuilder line = new StringBuilder("spark-ssm: ").append(phase);
    if (tasks > 0) {
      line.append(String.format(Locale.ROOT, ", tasks %d/%d", done, tasks));
    }
    line.append(", ").append(count(rowsRead)).append(" rows read");
    line.append(String.format(Locale.ROOT, ", %.1f s", (now - startMillis) / 1000.0));
    if (etaMillis >= 0 && tasks > done) {
      line.append(String.format(Locale.ROOT, ", about %.0f s left in this stage", Math.ceil(etaMillis / 1000.0)));
    }
    return line.toString();
  }

  /** 1234 as 1,234; 12.3 M past a million. */
  static String count(long n) {
    return n < 1_000_000 ? String.format(Locale.ROOT, "%,d", n) : String.format(Locale.ROOT, "%.1f M", n / 1e6);
  }

  private void draw(boolean force) {
    long now = clockMillis.getAsLong();
    long every = terminal ? REDRAW_MILLIS : PLAIN_MILLIS;
    if (!force && lastDrawMillis != Long.MIN_VALUE && now - lastDrawMillis < every) {
      return;
    }
    if (!force && !terminal && lastDrawMillis == Long.MIN_VALUE) {
      lastDrawMillis = now; // plain output starts with the job's first phase, not with Spark's first event
      return;
    }
    lastDrawMillis = now;
    String text = line();
    if (terminal) {
      // \r returns to the line start; spaces blank what a longer previous line left.
      out.print("\r" + text + " ".repeat(Math.max(0, lastWidth - text.length())));
      lastWidth = text.length();
    } else {
      out.println(text);
    }
    out.flush();
  }
}
