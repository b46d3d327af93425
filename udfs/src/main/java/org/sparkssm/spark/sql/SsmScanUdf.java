package org.sparkssm.spark.sql;

import org.apache.spark.sql.api.java.UDF4;
import org.sparkssm.scan.DiagonalSsm;
import scala.collection.Seq;

/**
 * {@code ssm_scan(x array<double>, abar array<double>, bbar array<double>, c array<double>) ->
 * array<double>}: scans the sequence {@code x} with the real diagonal system of N states
 * {@code h_t = abar ⊙ h_{t-1} + bbar x_t}, {@code y_t = Σ c ⊙ h_t}, from the zero state, and returns
 * {@code y}. A null or NaN element holds the state and yields NaN; a null {@code x} yields null.
 *
 * <pre>{@code SELECT ssm_scan(array(1.0, 0.0, 0.0), array(0.9), array(1.0), array(1.0))  -- [1.0, 0.9, 0.81]}</pre>
 */
public final class SsmScanUdf implements UDF4<Seq<Object>, Seq<Object>, Seq<Object>, Seq<Object>, double[]> {
  private static final long serialVersionUID = 1L;

  public SsmScanUdf() {}

  @Override
  public double[] call(Seq<Object> x, Seq<Object> abar, Seq<Object> bbar, Seq<Object> c) {
    if (x == null) {
      return null;
    }
    double[] a = SqlArrays.parameter(abar, "ssm_scan", "abar");
    double[] b = SqlArrays.parameter(bbar, "ssm_scan", "bbar");
    double[] cc = SqlArrays.parameter(c, "ssm_scan", "c");
    if (a.length == 0 || b.length != a.length || cc.length != a.length) {
      throw new IllegalArgumentException(String.format(
          "ssm_scan: arguments 'abar', 'bbar', 'c': expected three arrays of the same length N >= 1, got %d, %d, %d",
          a.length, b.length, cc.length));
    }
    DiagonalSsm m = DiagonalSsm.real(1, a.length, a, b, cc, null);
    double[] values = SqlArrays.toDoubles(x);
    double[] y = new double[values.length];
    SqlArrays.scanHoldingMissing(m, values, y, new double[m.stateSize()]);
    return y;
  }
}
