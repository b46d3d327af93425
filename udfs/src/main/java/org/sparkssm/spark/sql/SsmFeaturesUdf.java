package org.sparkssm.spark.sql;

import java.util.Locale;
import org.apache.spark.sql.api.java.UDF4;
import org.sparkssm.discretize.Discretization;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.S4dInit;
import org.sparkssm.scan.ContinuousDiagonalSsm;
import org.sparkssm.scan.DiagonalSsm;
import scala.collection.Seq;

/**
 * {@code ssm_features(x array<double>, init string, n int, dt double) -> array<double>}: the final
 * hidden state of an S4D memory bank after reading {@code x} from the zero state, as n features:
 * the real parts of the n/2 complex modes, then their imaginary parts. {@code init} is
 * {@code 's4d-lin'}, {@code 's4d-inv'} or {@code 's4d-legs'} (the S4D initializations, B as the
 * init gives it), discretized by zero-order hold at step {@code dt}; n is even. Missing (null or
 * NaN) elements hold the state; a null {@code x} yields null.
 *
 * <pre>{@code SELECT ssm_features(values, 's4d-lin', 16, 0.1) FROM windows}</pre>
 */
public final class SsmFeaturesUdf implements UDF4<Seq<Object>, String, Object, Object, double[]> {
  private static final long serialVersionUID = 1L;

  public SsmFeaturesUdf() {}

  @Override
  public double[] call(Seq<Object> x, String init, Object n, Object dt) {
    if (x == null) {
      return null;
    }
    DiagonalSsm m = model(init, n, dt);
    double[] h = new double[m.stateSize()];
    SqlArrays.scanHoldingMissing(m, SqlArrays.toDoubles(x), null, h);
    return h;
  }

  static DiagonalSsm model(String init, Object nArg, Object dtArg) {
    int n = SqlArrays.intArgument(nArg, "ssm_features", "n");
    double dt = SqlArrays.doubleArgument(dtArg, "ssm_features", "dt");
    if (n < 2 || n % 2 != 0) {
      throw new IllegalArgumentException("ssm_features: argument 'n': expected an even state size >= 2, got " + n);
    }
    if (!(dt > 0) || Double.isInfinite(dt)) {
      throw new IllegalArgumentException("ssm_features: argument 'dt': expected a finite step > 0, got " + dt);
    }
    DiagonalSystem system;
    switch (init == null ? "" : init.toLowerCase(Locale.ROOT)) {
      case "s4d-lin":
        system = S4dInit.lin(n);
        break;
      case "s4d-inv":
        system = S4dInit.inv(n);
        break;
      case "s4d-legs":
        system = S4dInit.legS(n);
        break;
      default:
        throw new IllegalArgumentException(
            "ssm_features: argument 'init': expected 's4d-lin', 's4d-inv' or 's4d-legs', got '" + init + "'");
    }
    int modes = system.modes();
    // C is not used (the features are the state); ones keep the system well formed.
    double[] ones = new double[modes];
    java.util.Arrays.fill(ones, 1.0);
    return ContinuousDiagonalSsm.of(1, modes, Discretization.ZOH, system.aRe(), system.aIm(), system.bRe(), system.bIm(),
        ones, new double[modes], null).discretize(dt);
  }
}
