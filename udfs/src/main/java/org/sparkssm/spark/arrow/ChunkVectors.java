package org.sparkssm.spark.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.util.AutoCloseables;

/**
 * The off-heap buffers of one chunk of a series: time (BIGINT), input values (FLOAT8, time-major
 * {@code [row * inputs + j]}, a row with a missing value is null in every channel) and outputs
 * (FLOAT8, {@code [row * outputs + j]}). Allocated once with a fixed row capacity and reused chunk
 * after chunk: lifecycle allocate → (set, setValueCount, read)* → close. Writes use the unchecked
 * {@code set}: the capacity is fixed and callers never exceed {@link #capacity()}.
 */
public final class ChunkVectors implements AutoCloseable {
  private final int capacity;
  private final int inputs;
  private final int outputs;
  private final BigIntVector time;
  private final Float8Vector values;
  private final Float8Vector out;

  /** Bytes one row takes in the three vectors (data only; validity bits and rounding come on top). */
  public static long bytesPerRow(int inputs, int outputs) {
    return 8L * (1 + inputs + outputs);
  }

  public ChunkVectors(BufferAllocator allocator, int capacity, int inputs, int outputs) {
    this.capacity = capacity;
    this.inputs = inputs;
    this.outputs = outputs;
    BigIntVector t = new BigIntVector("time", allocator);
    Float8Vector v = new Float8Vector("values", allocator);
    Float8Vector o = new Float8Vector("outputs", allocator);
    try {
      t.allocateNew(capacity);
      v.allocateNew(capacity * inputs);
      o.allocateNew(capacity * outputs);
    } catch (RuntimeException e) {
      // An allocation over the task's limit: release what was taken before rethrowing.
      AutoCloseables.closeNoChecked(t);
      AutoCloseables.closeNoChecked(v);
      AutoCloseables.closeNoChecked(o);
      throw e;
    }
    this.time = t;
    this.values = v;
    this.out = o;
  }

  public int capacity() {
    return capacity;
  }

  public void setTime(int row, long value) {
    time.set(row, value);
  }

  public long time(int row) {
    return time.get(row);
  }

  public void setValue(int row, int channel, double value) {
    values.set(row * inputs + channel, value);
  }

  /** Marks every channel of {@code row} missing. */
  public void setMissing(int row) {
    for (int j = 0; j < inputs; j++) {
      values.setNull(row * inputs + j);
    }
  }

  public boolean isMissing(int row) {
    return values.isNull(row * inputs);
  }

  /** Copies {@code rows} rows of input values into {@code u[0 .. rows*inputs)} (missing rows as 0). */
  public void copyValuesTo(int fromRow, int rows, double[] u, int uOff) {
    int base = fromRow * inputs;
    for (int i = 0; i < rows * inputs; i++) {
      u[uOff + i] = values.isNull(base + i) ? 0.0 : values.get(base + i);
    }
  }

  /** Stores {@code rows} rows of kernel outputs from {@code y[yOff ..]} at {@code fromRow}. */
  public void setOutputs(int fromRow, int rows, double[] y, int yOff) {
    int base = fromRow * outputs;
    for (int i = 0; i < rows * outputs; i++) {
      out.set(base + i, y[yOff + i]);
    }
  }

  /** Marks {@code row}'s outputs NaN (a missing input row). */
  public void setOutputsNaN(int row) {
    for (int j = 0; j < outputs; j++) {
      out.set(row * outputs + j, Double.NaN);
    }
  }

  public double output(int row, int channel) {
    return out.get(row * outputs + channel);
  }

  /** Makes the first {@code rows} rows readable (Arrow's valueCount) before outputs are read. */
  public void setRowCount(int rows) {
    time.setValueCount(rows);
    values.setValueCount(rows * inputs);
    out.setValueCount(rows * outputs);
  }

  /** Clears validity so the next chunk starts with every value present. */
  public void reset() {
    time.reset();
    values.reset();
    out.reset();
  }

  @Override
  public void close() {
    AutoCloseables.closeNoChecked(time);
    AutoCloseables.closeNoChecked(values);
    AutoCloseables.closeNoChecked(out);
  }
}
