package org.sparkssm.spark.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.IrregularDiagonalScan;
import org.sparkssm.spark.SparkTests;

class IrregularTimeScanTest {
  private final SparkSession spark = SparkTests.session();

  @Test
  void realGapsDriveTheDiscretizationAcrossChunks() {
    ContinuousDiagonalSsm m = ContinuousDiagonalSsm.of(1, 3, Discretization.ZOH, new double[] {-0.2, -1.0, -0.05},
        new double[] {0.5, 0.0, 2.0}, new double[] {1, 1, 1}, null, new double[] {1, -1, 0.5}, null,
        new double[] {0.3});
    SplittableRandom rnd = new SplittableRandom(3);
    int length = 60;
    long hour = 3_600_000_000L;
    long[] t = new long[length];
    double[] u = new double[length];
    double[] dt = new double[length];
    List<Row> rows = new ArrayList<>();
    long now = 1_700_000_000_000_000L;
    for (int i = 0; i < length; i++) {
      long gapHours = 1 + rnd.nextInt(6);
      now += gapHours * hour;
      t[i] = now;
      u[i] = rnd.nextDouble() - 0.5;
      dt[i] = i == 0 ? 1.0 : gapHours; // the first row takes one model time unit
      rows.add(RowFactory.create("x", new Timestamp(now / 1000), u[i]));
    }
    double[] expected = new double[length];
    IrregularDiagonalScan.scan(m, dt, 0, u, 0, expected, 0, length, new double[m.stateSize()]);

    StructType schema = new StructType().add("unique_id", DataTypes.StringType).add("ds", DataTypes.TimestampType)
        .add("y", DataTypes.DoubleType);
    List<Row> out = SsmScan.on(spark.createDataFrame(rows, schema)).model(m).stepEvery(hour).chunkRows(7).run()
        .orderBy("ds").collectAsList();
    for (int i = 0; i < length; i++) {
      assertEquals(expected[i], (Double) out.get(i).getList(2).get(0), 0.0, "row " + i);
    }
  }

  @Test
  void perStepDeltaNeedsAnIrregularModel() {
    StructType schema = new StructType().add("unique_id", DataTypes.StringType).add("ds", DataTypes.LongType)
        .add("y", DataTypes.DoubleType);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SsmScan.on(spark.createDataFrame(List.of(RowFactory.create("a", 1L, 1.0)), schema))
            .model(org.sparkssm.scan.DiagonalSsm.real(1, 1, new double[] {0.5}, new double[] {1}, new double[] {1}, null))
            .stepEvery(10).run());
    assertTrue(e.getMessage().startsWith("stepEvery:") && e.getMessage().contains("DiagonalSsm"), e.getMessage());
  }
}
