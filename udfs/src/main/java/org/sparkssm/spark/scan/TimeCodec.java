package org.sparkssm.spark.scan;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;

/**
 * Time columns to and from the {@code long} a scan orders by: timestamps as microseconds since the
 * epoch, dates as days since the epoch, integers as they are. Done with Spark SQL expressions on
 * whole columns, so the per-series function only ever reads a primitive long. Shared by the scan
 * and forecast APIs; not meant for users.
 */
public final class TimeCodec {
  private TimeCodec() {}

  public static boolean supports(DataType type) {
    return type.equals(DataTypes.TimestampType) || type.equals(DataTypes.TimestampNTZType)
        || type.equals(DataTypes.DateType) || type.equals(DataTypes.LongType) || type.equals(DataTypes.IntegerType);
  }

  public static Column encode(Column time, DataType type) {
    if (type.equals(DataTypes.TimestampType)) {
      return functions.unix_micros(time);
    }
    if (type.equals(DataTypes.TimestampNTZType)) {
      // Read the wall-clock time as if it were UTC: a fixed offset keeps the order and the gaps.
      return functions.unix_micros(functions.to_utc_timestamp(time.cast(DataTypes.TimestampType),
          functions.current_timezone()));
    }
    if (type.equals(DataTypes.DateType)) {
      return functions.unix_date(time).cast(DataTypes.LongType);
    }
    return time.cast(DataTypes.LongType);
  }

  public static Column decode(Column t, DataType type) {
    if (type.equals(DataTypes.TimestampType)) {
      return functions.timestamp_micros(t);
    }
    if (type.equals(DataTypes.TimestampNTZType)) {
      return functions.from_utc_timestamp(functions.timestamp_micros(t), functions.current_timezone())
          .cast(DataTypes.TimestampNTZType);
    }
    if (type.equals(DataTypes.DateType)) {
      return functions.date_from_unix_date(t.cast(DataTypes.IntegerType));
    }
    return t.cast(type);
  }

  /** An encoded time as ISO-8601 for messages: instants in UTC, wall-clock times, dates, or the number. */
  public static String format(long t, DataType type) {
    if (type.equals(DataTypes.TimestampType)) {
      return java.time.Instant.EPOCH.plus(t, java.time.temporal.ChronoUnit.MICROS).toString();
    }
    if (type.equals(DataTypes.TimestampNTZType)) {
      return java.time.LocalDateTime.ofEpochSecond(Math.floorDiv(t, 1_000_000L),
          (int) Math.floorMod(t, 1_000_000L) * 1000, java.time.ZoneOffset.UTC).toString();
    }
    if (type.equals(DataTypes.DateType)) {
      return java.time.LocalDate.ofEpochDay(t).toString();
    }
    return Long.toString(t);
  }

  /** A grid step in encoded units for messages: an ISO-8601 duration, days, or the number. */
  public static String formatStep(long step, DataType type) {
    if (type.equals(DataTypes.TimestampType) || type.equals(DataTypes.TimestampNTZType)) {
      return java.time.Duration.of(step, java.time.temporal.ChronoUnit.MICROS).toString();
    }
    if (type.equals(DataTypes.DateType)) {
      return step + (step == 1 ? " day" : " days");
    }
    return Long.toString(step);
  }
}
