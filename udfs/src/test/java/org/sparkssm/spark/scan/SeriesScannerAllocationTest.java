package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;
import org.sparkssm.scan.ScanModel;

/**
 * The many-series path allocates nothing per row: the bytes this thread allocates while one
 * partition is scanned grow with the number of series (a key copy, a scan, an end state each), not
 * with the number of rows. Counted with the JVM's per-thread allocation counter, no Spark job
 * (the partition is a list of Spark's own {@code UnsafeRow}s, built before counting).
 */
class SeriesScannerAllocationTest {
  /** y_t = 0.5 h + u_t, h_t = 0.9 h + u_t: a scalar kernel, so the count sees the scan path, not vector boxes. */
  static final class Leaky implements ScanModel {
    private static final long serialVersionUID = 1L;

    @Override
    public int inputs() {
      return 1;
    }

    @Override
    public int outputs() {
      return 1;
    }

    @Override
    public int stateSize() {
      return 1;
    }

    @Override
    public long fingerprint() {
      return 42;
    }

    @Override
    public void scan(double[] u, int uOff, double[] y, int yOff, int length, double[] h) {
      double s = h[0];
      for (int t = 0; t < length; t++) {
        s = 0.9 * s + u[uOff + t];
        y[yOff + t] = 0.5 * s + u[uOff + t];
      }
      h[0] = s;
    }

    @Override
    public void decay(double[] h, long steps) {
      h[0] *= Math.pow(0.9, steps);
    }
  }

  /** Where the read outputs go, so the JIT cannot drop the reads. */
  static volatile double sink;

  private static List<InternalRow> partition(DataType keyType, int series, int rowsPerSeries) {
    StructType schema = new StructType().add("k", keyType).add(ScanRows.T, DataTypes.LongType)
        .add(ScanRows.value(0), DataTypes.DoubleType);
    UnsafeProjection toUnsafe = UnsafeProjection.create(schema);
    List<InternalRow> rows = new ArrayList<>();
    for (int s = 0; s < series; s++) {
      Object key = keyType.equals(DataTypes.StringType) ? UTF8String.fromString("series-" + s) : (Object) (long) s;
      for (int t = 0; t < rowsPerSeries; t++) {
        Object v = t % 97 == 5 ? null : (Object) Math.sin(0.01 * t); // a few missing rows
        rows.add(toUnsafe.apply(new GenericInternalRow(new Object[] {key, (long) t, v})).copy());
      }
    }
    return rows;
  }

  /** Bytes allocated by this thread while every output row of the partition is read. */
  private static long allocatedWhileScanning(SeriesScanner scanner, List<InternalRow> rows, long[] outputRows) {
    com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    long before = bean.getThreadAllocatedBytes(id);
    Iterator<InternalRow> out = scanner.scan(rows.iterator());
    long n = 0;
    double sum = 0;
    while (out.hasNext()) {
      InternalRow r = out.next();
      sum += r.isNullAt(2) ? 0 : r.getDouble(2);
      n++;
    }
    long after = bean.getThreadAllocatedBytes(id);
    outputRows[0] = n;
    sink = sum; // the reads stay live
    return after - before;
  }

  private static void allocationDoesNotGrowWithRows(DataType keyType) {
    ScanConfig config = new ScanConfig(new Leaky(), 1024, false, "k", "t", DataTypes.LongType, 0);
    SeriesScanner scanner = new SeriesScanner(config, config.layout(), keyType, null);
    List<InternalRow> small = partition(keyType, 8, 20_000);
    List<InternalRow> large = partition(keyType, 8, 80_000);
    long[] n = new long[1];
    for (int warm = 0; warm < 5; warm++) { // JIT first, so escape analysis is in place for both counts
      allocatedWhileScanning(scanner, small, n);
      allocatedWhileScanning(scanner, large, n);
    }
    long smallBytes = Long.MAX_VALUE;
    long largeBytes = Long.MAX_VALUE;
    for (int run = 0; run < 3; run++) {
      smallBytes = Math.min(smallBytes, allocatedWhileScanning(scanner, small, n));
      assertEquals(small.size(), n[0]);
      largeBytes = Math.min(largeBytes, allocatedWhileScanning(scanner, large, n));
      assertEquals(large.size(), n[0]);
    }
    double perExtraRow = (double) (largeBytes - smallBytes) / (large.size() - small.size());
    assertTrue(perExtraRow < 0.5, String.format(
        "%s keys: %d bytes for %d rows, %d bytes for %d rows: %.2f bytes per extra row", keyType.simpleString(),
        smallBytes, small.size(), largeBytes, large.size(), perExtraRow));
  }

  @Test
  void longKeysAllocateNothingPerRow() {
    allocationDoesNotGrowWithRows(DataTypes.LongType);
  }

  @Test
  void stringKeysAllocateNothingPerRow() {
    allocationDoesNotGrowWithRows(DataTypes.StringType);
  }
}
