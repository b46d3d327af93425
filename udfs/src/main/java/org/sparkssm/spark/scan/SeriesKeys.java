package org.sparkssm.spark.scan;

import java.io.Serializable;
import java.util.Arrays;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DateType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.TimestampNTZType;
import org.apache.spark.sql.types.TimestampType;

/**
 * Series keys of any type in Spark's internal form, read from column 0 of a sorted partition's
 * rows: {@link #sameAs} compares a row's key with the current series' without boxing the common
 * types, {@link #copy} keeps a key beyond the row (whose memory the sorter reuses), and
 * {@link #lookup} gives a key usable in a hash map (binary keys by content).
 */
final class SeriesKeys implements Serializable {
  private static final long serialVersionUID = 1L;

  private enum Kind { LONG, INT, SHORT, BYTE, BOOLEAN, DOUBLE, FLOAT, STRING, BINARY, OTHER }

  private final DataType type;
  private final Kind kind;

  SeriesKeys(DataType type) {
    this.type = type;
    this.kind = kindOf(type);
  }

  private static Kind kindOf(DataType t) {
    if (t.equals(DataTypes.LongType) || t instanceof TimestampType || t instanceof TimestampNTZType) {
      return Kind.LONG;
    }
    if (t.equals(DataTypes.IntegerType) || t instanceof DateType) {
      return Kind.INT;
    }
    if (t.equals(DataTypes.ShortType)) {
      return Kind.SHORT;
    }
    if (t.equals(DataTypes.ByteType)) {
      return Kind.BYTE;
    }
    if (t.equals(DataTypes.BooleanType)) {
      return Kind.BOOLEAN;
    }
    if (t.equals(DataTypes.DoubleType)) {
      return Kind.DOUBLE;
    }
    if (t.equals(DataTypes.FloatType)) {
      return Kind.FLOAT;
    }
    if (t.equals(DataTypes.StringType)) {
      return Kind.STRING;
    }
    if (t.equals(DataTypes.BinaryType)) {
      return Kind.BINARY;
    }
    return Kind.OTHER;
  }

  /** Keys a broadcast map can hold as they are: not structs or arrays (their internal forms differ by origin). */
  boolean hashable() {
    return !(type instanceof StructType || type instanceof ArrayType);
  }

  /** The key of {@code row}, safe to keep after the row's memory is reused. */
  Object copy(InternalRow row) {
    switch (kind) {
      case LONG:
        return row.getLong(0);
      case INT:
        return row.getInt(0);
      case SHORT:
        return row.getShort(0);
      case BYTE:
        return row.getByte(0);
      case BOOLEAN:
        return row.getBoolean(0);
      case DOUBLE:
        return row.getDouble(0);
      case FLOAT:
        return row.getFloat(0);
      case STRING:
        return row.getUTF8String(0).clone();
      case BINARY:
        return row.getBinary(0).clone();
      default:
        if (type instanceof DecimalType) {
          DecimalType d = (DecimalType) type;
          return row.getDecimal(0, d.precision(), d.scale()).clone();
        }
        if (type instanceof StructType) {
          return row.getStruct(0, ((StructType) type).size()).copy();
        }
        if (type instanceof ArrayType) {
          return row.getArray(0).copy();
        }
        return row.get(0, type);
    }
  }

  /** Whether {@code row}'s key (not null) equals {@code key}, a {@link #copy}. */
  boolean sameAs(InternalRow row, Object key) {
    switch (kind) {
      case LONG:
        return row.getLong(0) == (Long) key;
      case INT:
        return row.getInt(0) == (Integer) key;
      case SHORT:
        return row.getShort(0) == (Short) key;
      case BYTE:
        return row.getByte(0) == (Byte) key;
      case BOOLEAN:
        return row.getBoolean(0) == (Boolean) key;
      case DOUBLE:
        return Double.doubleToLongBits(row.getDouble(0)) == Double.doubleToLongBits((Double) key);
      case FLOAT:
        return Float.floatToIntBits(row.getFloat(0)) == Float.floatToIntBits((Float) key);
      case STRING:
        return row.getUTF8String(0).equals(key);
      case BINARY:
        return Arrays.equals(row.getBinary(0), (byte[]) key);
      default:
        return row.get(0, type).equals(key);
    }
  }

  /** A map key for {@code key} (a {@link #copy}): binary keys compare by content. */
  static Object lookup(Object key) {
    return key instanceof byte[] ? new Binary((byte[]) key) : key;
  }

  /** A binary key by content. */
  private static final class Binary implements Serializable {
    private static final long serialVersionUID = 1L;
    private final byte[] bytes;

    Binary(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Binary && Arrays.equals(bytes, ((Binary) o).bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }

  /** An external key value (from a collected row) in the internal form {@link #copy} gives. */
  static Object internal(Object external) {
    return org.apache.spark.sql.catalyst.CatalystTypeConverters.convertToCatalyst(external);
  }
}
