package org.sparkssm.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkssm.nn.GradientCheck;
import org.sparkssm.weights.Safetensors;

/**
 * Saved trained forecasters: every model name, with and without the ridge skip, forecasts the same
 * after a save and a load (bit for bit), and a folder saved by another architecture, holding other
 * weights than its probe forecast says, or missing its config is refused naming the folder.
 */
class TrainedForecasterTest {
  @TempDir
  Path tmp;

  private static final int L = 12;
  private static final int H = 4;
  private static final int C = 3;

  private static TrainedForecaster randomForecaster(DeepModels spec, long seed) {
    org.sparkssm.forecast.LinearForecaster skip = spec.skip() ? DeepNetsTest.ridge(L, H) : null;
    WindowModel net = spec.build(L, H, C, skip);
    double[] w = new double[net.layout().size()];
    net.init(w, seed);
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int i = 0; i < w.length; i++) { // away from the init's zeros (skip heads start at zero)
      w[i] += 0.05 * GradientCheck.gaussian(rnd, 1, 1)[0];
    }
    return new TrainedForecaster(spec, skip, net, w);
  }

  private static double[][] series(int rows) {
    return TrainerTest.sines(rows, 3); // three channels (C)
  }

  @Test
  void everyModelForecastsTheSameAfterASaveAndALoad() throws Exception {
    DeepModels[] specs = {
        new DeepModels("smamba", 6, 2, 3, 5, 0.1, 4, false),
        new DeepModels("smamba", 6, 1, 3, 5, 0.1, 0, true),
        new DeepModels("s4dnet", 4, 2, 3, 5, 0.1, 4, false),
        new DeepModels("s4dnet", 4, 1, 3, 5, 0.0, 0, true),
        new DeepModels("rlinear", -1, -1, -1, -1, Double.NaN, 4, true)};
    double[][] s = series(40);
    for (int i = 0; i < specs.length; i++) {
      TrainedForecaster f = randomForecaster(specs[i], 100 + i);
      Path dir = tmp.resolve("m" + i);
      f.save(dir);
      TrainedForecaster back = TrainedForecaster.load(dir);
      assertEquals(f.spec(), back.spec());
      assertArrayEquals(f.weights(), back.weights(), specs[i].settings());
      for (int start : new int[] {0, 7, 40 - L}) {
        double[][] a = f.forecast(s, start);
        double[][] b = back.forecast(s, start);
        for (int c = 0; c < C; c++) {
          assertArrayEquals(a[c], b[c], specs[i].settings() + " start " + start);
        }
      }
    }
  }

  @Test
  void aFolderOfAnotherArchitectureOrOtherWeightsIsRefused() throws Exception {
    TrainedForecaster f = randomForecaster(new DeepModels("smamba", 6, 1, 3, 5, 0.1, 0, true), 7);
    Path dir = tmp.resolve("m");
    f.save(dir);
    Path config = dir.resolve("config.json");
    String text = Files.readString(config);

    // Another architecture version: the rebuilt network's tensors differ from the saved ones.
    Files.writeString(config, text.replace("\"d_state\" : 3", "\"d_state\" : 4"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainedForecaster.load(dir));
    assertTrue(e.getMessage().contains("by another architecture version; retrain it"), e.getMessage());

    // Same tensors, another forward (as a build with a changed layer would compute): the probe differs.
    String probe = text.substring(text.indexOf("\"probe_forecast\""));
    String firstValue = probe.substring(probe.indexOf('[') + 1, probe.indexOf(',')).strip();
    Files.writeString(config, text.replace(firstValue, Double.toString(Double.parseDouble(firstValue) + 1e-6)));
    e = assertThrows(IllegalArgumentException.class, () -> TrainedForecaster.load(dir));
    assertTrue(e.getMessage().contains("to forecast the probe window as it did when saved, got value 0"),
        e.getMessage());

    Files.writeString(config, text.replace("\"format_version\" : 1", "\"format_version\" : 9"));
    e = assertThrows(IllegalArgumentException.class, () -> TrainedForecaster.load(dir));
    assertTrue(e.getMessage().contains("expected format version 1, got 9"), e.getMessage());

    Files.delete(config);
    e = assertThrows(IllegalArgumentException.class, () -> TrainedForecaster.load(dir));
    assertTrue(e.getMessage().endsWith("got no config.json"), e.getMessage());
  }

  @Test
  void theSavedTensorsCarryTheLayoutsNamesAndShapes() throws Exception {
    TrainedForecaster f = randomForecaster(new DeepModels("smamba", 6, 1, 3, 5, 0.1, 0, true), 9);
    Path dir = tmp.resolve("m");
    f.save(dir);
    Safetensors st = Safetensors.open(dir.resolve("model.safetensors"));
    for (org.sparkssm.nn.ParameterLayout.Tensor t : f.model().layout().tensors()) {
      long[] shape = st.tensor(t.name()).shape();
      assertEquals(t.shape().length, shape.length, t.name());
      double[] values = st.read(t.name());
      for (int i = 0; i < t.size(); i++) {
        assertEquals(f.weights()[t.offset() + i], values[i], 0, t.name());
      }
    }
    assertArrayEquals(new long[] {f.skip().weights().features(), H}, st.tensor("skip.beta").shape());
  }
}
