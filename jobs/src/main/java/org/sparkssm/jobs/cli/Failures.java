package org.sparkssm.jobs.cli;

/** Turns a failure into the one line a job prints: the root cause, which names what was wrong. */
public final class Failures {
  private Failures() {}

  /**
   * The message of the deepest cause that has one (Spark wraps a task's exception in a job
   * failure, whose own message is a long summary), cut to its first line (Spark's analysis errors
   * append the query plan).
   */
  public static String oneLine(Throwable failure) {
    Throwable chosen = failure;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        chosen = t;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    String message = chosen.getMessage();
    if (message == null || message.isBlank()) {
      return chosen.getClass().getName();
    }
    String first = message.strip().lines().findFirst().orElse("").strip();
    return chosen instanceof IllegalArgumentException ? first : simpleName(chosen) + ": " + first;
  }

  private static String simpleName(Throwable t) {
    return t.getClass().getSimpleName();
  }
}
