package org.sparkssm.spark.scan;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations options take: a positive integer and a unit, e.g. {@code 15min}, {@code 1h}, {@code 7d}. */
public final class Durations {
  private Durations() {}

  private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([a-z]+)");

  /** The units accepted, for messages. */
  public static final String UNITS = "us, ms, s, min, h, d, w";

  /**
   * Parses {@code text} for the option {@code option}; throws IllegalArgumentException naming the
   * option on anything else than a positive amount of a known unit.
   */
  public static Duration parse(String option, String text) {
    Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException(
          option + ": expected a duration such as 15min, 1h or 7d (units " + UNITS + "), got '" + text + "'");
    }
    long amount = Long.parseLong(m.group(1));
    if (amount <= 0) {
      throw new IllegalArgumentException(option + ": expected a positive duration, got '" + text + "'");
    }
    switch (m.group(2)) {
      case "us":
        return Duration.ofNanos(amount * 1000);
      case "ms":
        return Duration.ofMillis(amount);
      case "s":
        return Duration.ofSeconds(amount);
      case "m":
      case "min":
        return Duration.ofMinutes(amount);
      case "h":
        return Duration.ofHours(amount);
      case "d":
        return Duration.ofDays(amount);
      case "w":
        return Duration.ofDays(7 * amount);
      default:
        throw new IllegalArgumentException(
            option + ": expected a unit among " + UNITS + ", got '" + m.group(2) + "' in '" + text + "'");
    }
  }

  /** The duration in microseconds (Spark's timestamp unit). */
  public static long micros(Duration d) {
    return d.getSeconds() * 1_000_000L + d.getNano() / 1000;
  }
}
