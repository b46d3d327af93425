package org.sparkssm.scan;

import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

class LtiConvolutionTest {

  @Test
  void kernelEqualsTheRecurrentImpulseResponse() {
    for (boolean complex : new boolean[] {false, true}) {
      SplittableRandom rnd = new SplittableRandom(complex ? 1 : 2);
      int dim = 3;
      int length = 120;
      DiagonalSsm m = DiagonalSystems.random(rnd, dim, 7, complex, false);
      double[] kernel = new double[length * dim];
      LtiConvolution.kernel(m, length, kernel, 0);
      // An impulse on every channel at t = 0: channels are independent, so y_t[d] = K_t[d].
      double[] impulse = new double[length * dim];
      for (int d = 0; d < dim; d++) {
        impulse[d] = 1.0;
      }
      double[] y = new double[length * dim];
      DiagonalScan.scan(m, impulse, 0, y, 0, length, new double[m.stateSize()]);
      assertClose("K vs impulse response, complex=" + complex, y, kernel, Tolerances.F64);
    }
  }

  @Test
  void convolutionModeEqualsRecurrentMode() {
    for (boolean complex : new boolean[] {false, true}) {
      for (int length : TestData.LENGTHS) {
        SplittableRandom rnd = new SplittableRandom(length * 2L + (complex ? 1 : 0));
        int dim = 2;
        DiagonalSsm m = DiagonalSystems.random(rnd, dim, 5, complex, true);
        double[] u = TestData.gaussian(rnd, length * dim, 1.0);
        double[] kernel = new double[length * dim];
        LtiConvolution.kernel(m, length, kernel, 0);
        double[] yConv = new double[length * dim];
        LtiConvolution.convolve(m, kernel, 0, u, 0, yConv, 0, length);
        double[] yRec = new double[length * dim];
        DiagonalScan.scan(m, u, 0, yRec, 0, length, new double[m.stateSize()]);
        assertClose("conv vs recurrent, L=" + length + " complex=" + complex, yRec, yConv, Tolerances.F64);
      }
    }
  }
}
