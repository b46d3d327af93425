package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.sparkssm.testing.Tolerances.Tolerance;

/**
 * The protocol check: the parameter-free last-value forecast over every test window reproduces
 * the reference evaluation of the benchmark data (shared/data/README.md: the same numbers as the
 * 'Repeat' row of LTSF-Linear's Table 2), which pins split borders, the L-row head start of the
 * test split, train-row z-scoring with the population std, channel-independent windows and the
 * averaging of both metrics at once. Reference values are given to 4 decimals, hence ±5e-4.
 */
class LtsfProtocolTest {
  private static final Tolerance FOUR_DECIMALS = new Tolerance(5e-4, 0);

  @Test
  void naiveOnEtth1Horizon96() throws IOException {
    Path data = BenchmarkData.require();
    LtsfEvaluation.Result r = LtsfEvaluation.evaluate(data.resolve("ETTh1.csv"), "naive", 336, 96);
    assertEquals((2880 - 96 + 1) * 7L, r.testWindows(), "test windows x channels");
    assertClose("ETTh1 naive MSE", 1.2944, r.mse(), FOUR_DECIMALS);
    assertClose("ETTh1 naive MAE", 0.7132, r.mae(), FOUR_DECIMALS);
  }

  @Test
  void naiveOnWeatherHorizon96() throws IOException {
    Path data = BenchmarkData.require();
    LtsfEvaluation.Result r = LtsfEvaluation.evaluate(data.resolve("weather.csv"), "naive", 336, 96);
    assertEquals((10539 - 96 + 1) * 21L, r.testWindows(), "test windows x channels");
    assertClose("Weather naive MSE", 0.2591, r.mse(), FOUR_DECIMALS);
    assertClose("Weather naive MAE", 0.2542, r.mae(), FOUR_DECIMALS);
  }
}
