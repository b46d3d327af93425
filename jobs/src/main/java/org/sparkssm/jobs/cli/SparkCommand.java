package org.sparkssm.jobs.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The base of every subcommand that runs on Spark: it takes the {@link CommonOptions}, sets the log
 * level, gets a SparkSession, shows progress, runs {@link #run(SparkSession)} and stops the session
 * it started. A new subcommand extends this class, declares its own options, and is listed in
 * {@link org.sparkssm.jobs.Main}'s {@code subcommands}.
 *
 * <p>Exit codes: {@link #run} returns 0 on success; a usage error found after parsing is thrown as
 * {@link #usageError} (exit 2); any other exception is a failure (exit 1, one line on stderr, see
 * {@link org.sparkssm.jobs.Main}).
 */
public abstract class SparkCommand implements Callable<Integer> {
  /** Used when neither --master nor spark-submit (the spark.master property) names a master. */
  public static final String DEFAULT_MASTER = "local[*]";

  /** spark.sql.shuffle.partitions in local mode unless --conf sets it. */
  static final int LOCAL_SHUFFLE_PARTITIONS = 16;

  @Mixin
  private CommonOptions common;

  @Spec
  private CommandSpec spec;

  private ConsoleProgress progress;

  /** The job itself; returns the exit code (0). */
  protected abstract int run(SparkSession spark) throws Exception;

  @Override
  public final Integer call() throws Exception {
    validate();
    SparkSession existing = runningSession();
    // A job that starts Spark owns the process's logging; one that joins a running session (tests,
    // notebooks) puts the levels back afterwards.
    Runnable restoreLogging = SparkLogging.configure(common.verbose());
    try {
      SparkSession spark = existing != null ? reuse(existing) : start();
      progress = common.quiet() ? null
          : ConsoleProgress.attach(spark.sparkContext(), err(), System.console() != null);
      boolean succeeded = false;
      try {
        int code = run(spark);
        succeeded = true;
        return code;
      } finally {
        if (progress != null) {
          progress.detach(spark.sparkContext(), succeeded);
          progress = null;
        }
        if (existing == null) {
          spark.stop();
        }
      }
    } finally {
      if (existing != null) {
        restoreLogging.run();
      }
    }
  }

  /** Checks option combinations before Spark starts; throw {@link #usageError} on a bad one. */
  protected void validate() {}

  /** Whether the command line gave the option (by its longest name), as opposed to its default. */
  protected final boolean given(String option) {
    return spec.commandLine().getParseResult() != null
        && spec.commandLine().getParseResult().hasMatchedOption(option);
  }

  /** The common options (--master, --verbose, --quiet, --conf). */
  protected final CommonOptions common() {
    return common;
  }

  /** A usage error naming the option (exit code 2, with the usage help). */
  protected final ParameterException usageError(String format, Object... args) {
    return new ParameterException(spec.commandLine(), String.format(java.util.Locale.ROOT, format, args));
  }

  /** Where results and summaries go (picocli's out: stdout unless a caller redirects it). */
  protected final PrintWriter out() {
    return spec.commandLine().getOut();
  }

  /** Where progress and errors go. */
  protected final PrintWriter err() {
    return spec.commandLine().getErr();
  }

  /** Prints a summary line unless --quiet. */
  protected final void summary(String format, Object... args) {
    if (!common.quiet()) {
      out().println(String.format(java.util.Locale.ROOT, format, args));
      out().flush();
    }
  }

  /** Names the phase the job is entering on the progress line (nothing under --quiet). */
  protected final void phase(String format, Object... args) {
    if (progress != null) {
      progress.phase(String.format(java.util.Locale.ROOT, format, args));
    }
  }

  /** Prints a notice on stderr (also under --quiet): what the job did to outputs it found. */
  protected final void notice(String message) {
    err().println(spec.name() + ": " + message);
    err().flush();
  }

  private static SparkSession runningSession() {
    scala.Option<SparkSession> active = SparkSession.getActiveSession();
    if (active.isDefined()) {
      return active.get();
    }
    scala.Option<SparkSession> byDefault = SparkSession.getDefaultSession();
    return byDefault.isDefined() ? byDefault.get() : null;
  }

  private SparkSession start() {
    // new SparkConf() reads the spark.* system properties that spark-submit sets.
    SparkConf conf = new SparkConf();
    if (common.master() != null) {
      conf.setMaster(common.master());
    } else if (!conf.contains("spark.master")) {
      conf.setMaster(DEFAULT_MASTER);
    }
    if (!conf.contains("spark.app.name")) {
      conf.setAppName("spark-ssm " + spec.name());
    }
    // Timestamps are read and written in UTC unless the user says otherwise: the same data gives
    // the same rows on every machine.
    conf.setIfMissing("spark.sql.session.timeZone", "UTC");
    // SparkContext applies this level when it starts, after spark-submit has reset logging for the
    // application; SparkLogging covers the time before.
    conf.setIfMissing("spark.log.level", common.verbose() ? "INFO" : "WARN");
    if (conf.get("spark.master").startsWith("local")) {
      // Spark's 200 shuffle partitions are sized for clusters; on one machine they are mostly empty
      // tasks. A fixed number (not one per core) keeps results bit-identical across machines.
      conf.setIfMissing("spark.sql.shuffle.partitions", String.valueOf(LOCAL_SHUFFLE_PARTITIONS));
    }
    for (Map.Entry<String, String> e : common.conf().entrySet()) {
      conf.set(e.getKey(), e.getValue());
    }
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /** A session already running in this JVM (tests, notebooks): runtime --conf entries only, never stopped. */
  private SparkSession reuse(SparkSession spark) {
    for (Map.Entry<String, String> e : common.conf().entrySet()) {
      if (!spark.conf().isModifiable(e.getKey())) {
        throw usageError("--conf %s: expected a runtime setting (a Spark session is already running), got a static one",
            e.getKey());
      }
      spark.conf().set(e.getKey(), e.getValue());
    }
    return spark;
  }
}
