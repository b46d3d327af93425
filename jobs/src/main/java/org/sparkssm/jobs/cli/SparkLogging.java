package org.sparkssm.jobs.cli;

import java.net.URISyntaxException;
import java.net.URL;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.DefaultConfiguration;

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
   * Sets the root level to INFO ({@code verbose}) or WARN; returns the action that restores the
   * previous levels (jobs run in tests share the JVM).
   */
  static Runnable configure(boolean verbose) {
    try {
      LoggerContext context = (LoggerContext) LogManager.getContext(false);
      if (unconfigured(context)) {
        // Spark installs its defaults (root INFO) when it finds log4j2 unconfigured, which would undo
        // the level set below: install the same defaults first, so Spark sees a configured logger.
        URL defaults = SparkLogging.class.getClassLoader().getResource("org/apache/spark/log4j2-defaults.properties");
        if (defaults != null) {
          context.setConfigLocation(defaults.toURI());
        }
      }
      Level rootBefore = context.getRootLogger().getLevel();
      Level[] quietBefore = new Level[QUIET_LOGGERS.length];
      for (int i = 0; i < QUIET_LOGGERS.length; i++) {
        quietBefore[i] = context.getConfiguration().getLoggerConfig(QUIET_LOGGERS[i]).getLevel();
      }
      Configurator.setRootLevel(verbose ? Level.INFO : Level.WARN);
      if (!verbose) {
        for (String name : QUIET_LOGGERS) {
          Configurator.setLevel(name, Level.ERROR);
        }
      }
      return () -> {
        Configurator.setRootLevel(rootBefore);
        for (int i = 0; i < QUIET_LOGGERS.length; i++) {
          Configurator.setLevel(QUIET_LOGGERS[i], quietBefore[i]);
        }
      };
    } catch (LinkageError | ClassCastException | URISyntaxException e) {
      // Another logging back end than log4j2 core: its own configuration decides.
      return () -> {};
    }
  }

  /** Spark's own test for "log4j2 found no configuration" (Logging.islog4j2DefaultConfigured). */
  private static boolean unconfigured(LoggerContext context) {
    Logger root = context.getRootLogger();
    return root.getAppenders().isEmpty()
        || (root.getAppenders().size() == 1 && context.getConfiguration() instanceof DefaultConfiguration);
  }
}
