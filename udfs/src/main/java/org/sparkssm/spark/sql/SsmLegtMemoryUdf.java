package org.sparkssm.spark.sql;

import org.apache.spark.sql.api.java.UDF2;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.discretize.Discretize;
import org.sparkssm.init.ContinuousSystem;
import org.sparkssm.init.Hippo;
import org.sparkssm.scan.DenseSsm;
import scala.collection.Seq;

/**
 * {@code ssm_legt_memory(window array<double>, n int) -> array<double>}: the HiPPO-LegT memory of a
 * window (FiLM's Legendre memory): the window is read from the zero state by the LegT system of n
 * states, bilinear discretization at {@code Δt = 1 / length}, and the n Legendre coefficients are
 * returned; the window is approximately {@code u(s) ≈ Σ_k c_k P_k(2s - 1)} with s the fraction of
 * the window back from its end. Missing (null or NaN) elements hold the state; a null or empty
 * window yields null.
 *
 * <pre>{@code SELECT ssm_legt_memory(collect_list(y) OVER (ORDER BY ds ROWS 95 PRECEDING), 8) FROM t}</pre>
 */
public final class SsmLegtMemoryUdf implements UDF2<Seq<Object>, Object, double[]> {
  private static final long serialVersionUID = 1L;

  public SsmLegtMemoryUdf() {}

  @Override
  public double[] call(Seq<Object> window, Object nArg) {
    int n = SqlArrays.intArgument(nArg, "ssm_legt_memory", "n");
    if (n < 1) {
      throw new IllegalArgumentException("ssm_legt_memory: argument 'n': expected a state size >= 1, got " + n);
    }
    if (window == null || window.isEmpty()) {
      return null;
    }
    double[] x = SqlArrays.toDoubles(window);
    ContinuousSystem legT = Hippo.legT(n);
    double[] abar = new double[n * n];
    double[] bbar = new double[n];
    Discretize.dense(Discretization.BILINEAR, 1.0 / x.length, legT.A(), n, legT.B(), 1, abar, bbar);
    DenseSsm memory = DenseSsm.of(n, 1, abar, bbar, 0, null, null);
    double[] h = new double[n];
    SqlArrays.scanHoldingMissing(memory, x, null, h);
    return h;
  }
}
