package org.sparkssm.jobs.cli;

import java.net.URISyntaxException;
import java.net.URL;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.DefaultConfiguration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.spark.SparkConf;

/**
 * Spark logs at INFO by default, which buries a job's own output; the jobs log WARN and ERROR only
 * unless {@code --verbose}. The level is set on log4j2 (Spark's logging back end) programmatically,
 * so a user's own log4j2 configuration still decides appenders and layouts.
 */
final class SparkLogging {
  private SparkLogging() {}

  /** Messages that are noise for a job's user, even at WARN. */
  private static final String[] QUIET_LOGGERS = {"org.apache.hadoop.util.NativeCodeLoader"};

  /**
   * Loggers that report a failed task or job with its stack trace (ERROR): the job prints the
   * cause as one line itself (see {@link Failures}), so without --verbose they are silent.
   */
  private static final String[] FAILURE_LOGGERS = {"org.apache.spark.executor.Executor",
      "org.apache.spark.scheduler.TaskSetManager", "org.apache.spark.scheduler.TaskSchedulerImpl",
      "org.apache.spark.scheduler.DAGScheduler", "org.apache.spark.sql.execution.datasources.FileFormatWriter",
      "org.apache.spark.util.Utils", "org.apache.spark.sql.execution.adaptive.AdaptiveSparkPlanExec"};

  /**
   * Sets the root level to INFO ({@code verbose}) or WARN; returns the action that restores the
   * previous levels (jobs run in tests share the JVM).
   */
  static Runnable configure(boolean verbose) {
    try {
      // Spark's context, not this class's: under spark-submit this jar has its own class loader,
      // and log4j2 gives each loader its own context, so levels set on ours would not reach Spark.
      LoggerContext context = (LoggerContext) LogManager.getContext(SparkConf.class.getClassLoader(), false);
      if (unconfigured(context)) {
        // Spark installs its defaults (root INFO) when it finds log4j2 unconfigured, which would undo
        // the level set below: install the same defaults first, so Spark sees a configured logger.
        URL defaults = SparkConf.class.getClassLoader().getResource("org/apache/spark/log4j2-defaults.properties");
        if (defaults != null) {
          context.setConfigLocation(defaults.toURI());
        }
      }
      Configuration config = context.getConfiguration();
      LoggerConfig root = config.getRootLogger();
      Level rootBefore = root.getLevel();
      List<String> added = new ArrayList<>();
      Map<LoggerConfig, Level> quietBefore = new HashMap<>();
      root.setLevel(verbose ? Level.INFO : Level.WARN);
      if (!verbose) {
        for (String name : QUIET_LOGGERS) {
          quiet(config, name, Level.ERROR, quietBefore, added);
        }
        for (String name : FAILURE_LOGGERS) {
          quiet(config, name, Level.OFF, quietBefore, added);
        }
      }
      context.updateLoggers();
      return () -> {
        root.setLevel(rootBefore);
        quietBefore.forEach(LoggerConfig::setLevel);
        added.forEach(config::removeLogger);
        context.updateLoggers();
      };
    } catch (LinkageError | ClassCastException | URISyntaxException e) {
      // Another logging back end than log4j2 core: its own configuration decides.
      return () -> {};
    }
  }

  private static void quiet(Configuration config, String name, Level level, Map<LoggerConfig, Level> before,
      List<String> added) {
    LoggerConfig own = config.getLoggerConfig(name);
    if (own.getName().equals(name)) {
      before.put(own, own.getLevel());
      own.setLevel(level);
    } else {
      config.addLogger(name, new LoggerConfig(name, level, true));
      added.add(name);
    }
  }

  /** Spark's own test for "log4j2 found no configuration" (Logging.islog4j2DefaultConfigured). */
  private static boolean unconfigured(LoggerContext context) {
    Logger root = context.getRootLogger();
    return root.getAppenders().isEmpty()
        || (root.getAppenders().size() == 1 && context.getConfiguration() instanceof DefaultConfiguration);
  }
}
