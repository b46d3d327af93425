package org.sparkssm.spark.scan;

import static org.apache.spark.sql.functions.col;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.VectorUDT;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.SpecificInternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The one internal row layout of a scan: every path (many series, saved states, streaming, the
 * two-pass long-series path) reads and writes rows through it, by the names and indices here.
 *
 * <p><b>Input</b> (after {@link #project}): {@code [key, __ssm_t: long, __ssm_v0 .. v{M-1}: double]}
 * (time encoded by {@link TimeCodec}). With saved states in the stream ({@link #withSavedStates}),
 * three more columns follow: {@code __ssm_saved: binary, __ssm_version: int, __ssm_fingerprint:
 * long}, non-null only on a series' state row, which sorts first ({@code __ssm_kind} 0 before the
 * data rows' 1, placed after the time).
 *
 * <p><b>Output</b>: {@code [key, __ssm_t, __ssm_y0 .. y{P-1}: double, (__ssm_state: vector),
 * __ssm_end_state: binary, __ssm_is_output: boolean]}; the end state is set on a series' last row
 * (or a carry row: a series with a saved state and no new rows, {@code is_output} false).
 */
final class ScanRows implements Serializable {
  private static final long serialVersionUID = 1L;

  static final String T = "__ssm_t";
  static final String KIND = "__ssm_kind";
  static final String SAVED = "__ssm_saved";
  static final String SAVED_VERSION = "__ssm_version";
  static final String SAVED_FINGERPRINT = "__ssm_fingerprint";
  static final String STATE = "__ssm_state";
  static final String END_STATE = "__ssm_end_state";
  static final String IS_OUTPUT = "__ssm_is_output";

  /** {@code __ssm_kind} of a series' saved-state row: before its data rows ({@link #DATA_ROW}). */
  static final int STATE_ROW = 0;
  static final int DATA_ROW = 1;

  static final int KEY = 0;
  static final int TIME = 1;

  final int inputs;
  final int outputs;
  final boolean emitState;
  /** Input rows carry a kind column and the saved-state columns. */
  final boolean savedStates;

  ScanRows(int inputs, int outputs, boolean emitState, boolean savedStates) {
    this.inputs = inputs;
    this.outputs = outputs;
    this.emitState = emitState;
    this.savedStates = savedStates;
  }

  /** The same layout with the saved-state columns in the input. */
  ScanRows withSavedStates() {
    return new ScanRows(inputs, outputs, emitState, true);
  }

  static String value(int channel) {
    return "__ssm_v" + channel;
  }

  static String output(int channel) {
    return "__ssm_y" + channel;
  }

  // ---- input ----

  /** Index of input channel {@code j}. */
  int valueIndex(int j) {
    return (savedStates ? 3 : 2) + j;
  }

  int kindIndex() {
    return 2;
  }

  int savedIndex() {
    return 2 + 1 + inputs;
  }

  /**
   * The input layout from a user's frame: key (float keys normalized, so -0.0 and 0.0, or two NaNs,
   * are one series as in Spark's grouping), encoded time, values as doubles.
   */
  Dataset<Row> project(Dataset<Row> input, String series, String time, String[] values) {
    StructType schema = input.schema();
    List<Column> projection = new ArrayList<>();
    projection.add(normalizedKey(col(series), schema.apply(series).dataType()).as(series));
    projection.add(TimeCodec.encode(col(time), schema.apply(time).dataType()).as(T));
    if (savedStates) {
      projection.add(functions.lit(DATA_ROW).as(KIND));
    }
    for (int j = 0; j < values.length; j++) {
      projection.add(col(values[j]).cast(DataTypes.DoubleType).as(value(j)));
    }
    if (savedStates) {
      projection.add(functions.lit(null).cast(DataTypes.BinaryType).as(SAVED));
      projection.add(functions.lit(null).cast(DataTypes.IntegerType).as(SAVED_VERSION));
      projection.add(functions.lit(null).cast(DataTypes.LongType).as(SAVED_FINGERPRINT));
    }
    return input.select(projection.toArray(new Column[0]));
  }

  /**
   * A state table in the input layout ({@code savedStates} only): one state row per series, at its
   * last time, sorting before the series' data rows.
   */
  Dataset<Row> projectStates(Dataset<Row> states, String series, DataType seriesType, DataType timeType) {
    Column[] state = stateColumns(series, seriesType, timeType);
    List<Column> projection = new ArrayList<>();
    projection.add(state[KEY]);
    projection.add(state[TIME]);
    projection.add(functions.lit(STATE_ROW).as(KIND));
    for (int j = 0; j < inputs; j++) {
      projection.add(functions.lit(null).cast(DataTypes.DoubleType).as(value(j)));
    }
    projection.addAll(Arrays.asList(state).subList(2, state.length));
    return states.select(projection.toArray(new Column[0]));
  }

  /**
   * A state table's columns as a scan reads them: key (cast and normalized as the input's), last
   * time (encoded), state bytes, format version, fingerprint.
   */
  static Column[] stateColumns(String series, DataType seriesType, DataType timeType) {
    return new Column[] {
        normalizedKey(col(series).cast(seriesType), seriesType).as(series),
        TimeCodec.encode(col(SsmScan.STATE_LAST_TIME).cast(timeType), timeType).as(T),
        col(SsmScan.STATE_BYTES).as(SAVED),
        col(SsmScan.STATE_VERSION).cast(DataTypes.IntegerType).as(SAVED_VERSION),
        col(SsmScan.STATE_FINGERPRINT).cast(DataTypes.LongType).as(SAVED_FINGERPRINT)};
  }

  /** The columns a partition is sorted by: series, (kind,) time. */
  Column[] sortOrder(String series) {
    return savedStates ? new Column[] {col(series), col(KIND), col(T)} : new Column[] {col(series), col(T)};
  }

  private static Column normalizedKey(Column key, DataType type) {
    if (type.equals(DataTypes.DoubleType) || type.equals(DataTypes.FloatType)) {
      // 0.0 for -0.0 (and one NaN): hash partitioning and equality then agree with Spark's grouping.
      return functions.when(key.equalTo(functions.lit(0).cast(type)), functions.lit(0).cast(type)).otherwise(key);
    }
    return key;
  }

  // ---- output ----

  int outputIndex(int j) {
    return 2 + j;
  }

  int stateIndex() {
    return 2 + outputs;
  }

  int endStateIndex() {
    return 2 + outputs + (emitState ? 1 : 0);
  }

  int isOutputIndex() {
    return endStateIndex() + 1;
  }

  int outputWidth() {
    return isOutputIndex() + 1;
  }

  StructType outputSchema(String series, DataType seriesType) {
    List<StructField> f = new ArrayList<>();
    f.add(DataTypes.createStructField(series, seriesType, true));
    f.add(DataTypes.createStructField(T, DataTypes.LongType, false));
    for (int j = 0; j < outputs; j++) {
      f.add(DataTypes.createStructField(output(j), DataTypes.DoubleType, true));
    }
    if (emitState) {
      f.add(DataTypes.createStructField(STATE, SQLDataTypes.VectorType(), true));
    }
    f.add(DataTypes.createStructField(END_STATE, DataTypes.BinaryType, true));
    f.add(DataTypes.createStructField(IS_OUTPUT, DataTypes.BooleanType, false));
    return DataTypes.createStructType(f);
  }

  /** A scan's output rows as external {@link Row}s (the streaming and two-pass paths). */
  Iterator<Row> rows(SegmentScan scan) {
    return new Iterator<Row>() {
      private boolean ready;

      @Override
      public boolean hasNext() {
        if (!ready) {
          ready = scan.advance();
        }
        return ready;
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        ready = false;
        Object[] values = new Object[outputWidth()];
        values[KEY] = scan.key();
        values[TIME] = scan.rowTime();
        for (int j = 0; j < outputs; j++) {
          values[outputIndex(j)] = scan.output(j);
        }
        if (emitState) {
          values[stateIndex()] = Vectors.dense(scan.rowState());
        }
        values[endStateIndex()] = scan.rowEndState();
        values[isOutputIndex()] = Boolean.TRUE;
        return RowFactory.create(values);
      }
    };
  }

  /** A row that only carries a state forward (a series with a saved state and no new rows). */
  Row carryRow(Object key, long time, byte[] state) {
    Object[] values = new Object[outputWidth()];
    values[KEY] = key;
    values[TIME] = time;
    values[endStateIndex()] = state;
    values[isOutputIndex()] = Boolean.FALSE;
    return RowFactory.create(values);
  }

  /**
   * Output rows as one reused {@link InternalRow} (the many-series path): primitive fields are
   * set in place, so emitting a row allocates nothing (a state vector or an end state aside).
   * Spark's scan of the result copies each row into its own buffer before the next is written.
   */
  final class InternalWriter {
    private final SpecificInternalRow row;
    private final VectorUDT vectors = new VectorUDT();

    InternalWriter(DataType seriesType) {
      this.row = new SpecificInternalRow(outputSchema("key", seriesType));
    }

    /** The scan's current row; {@code key} is the series key in Spark's internal form. */
    InternalRow of(Object key, SegmentScan scan) {
      row.update(KEY, key);
      row.setLong(TIME, scan.rowTime());
      for (int j = 0; j < outputs; j++) {
        row.setDouble(outputIndex(j), scan.output(j));
      }
      if (emitState) {
        row.update(stateIndex(), vectors.serialize(Vectors.dense(scan.rowState())));
      }
      byte[] end = scan.rowEndState();
      if (end == null) {
        row.setNullAt(endStateIndex());
      } else {
        row.update(endStateIndex(), end);
      }
      row.setBoolean(isOutputIndex(), true);
      return row;
    }

    /** A carry row (see {@link ScanRows#carryRow}). */
    InternalRow carry(Object key, long time, byte[] state) {
      row.update(KEY, key);
      row.setLong(TIME, time);
      for (int j = 0; j < outputs; j++) {
        row.setNullAt(outputIndex(j));
      }
      if (emitState) {
        row.setNullAt(stateIndex());
      }
      row.update(endStateIndex(), state);
      row.setBoolean(isOutputIndex(), false);
      return row;
    }
  }
}
