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
}
