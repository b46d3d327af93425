package org.sparkssm.forecast;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sparkssm.testing.Tolerances.assertClose;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.sparkssm.testing.TestData;
import org.sparkssm.testing.Tolerances;

/**
 * {@link LongMemoryFeatures} against its definition written out: the last L − 1 values of the
 * span minus the last value (exact: one subtraction each), then the LegT memory of the whole span
 * of S = span · L values. The memory part is compared bit for bit with
 * {@link LinearWindowFeatures#legt} called directly on the same span (the class is documented to
 * be exactly that), and with the step-by-step LegT scan of {@link LinearWindowFeaturesTest} to
 * {@link Tolerances#F64} (same float64 quantity, different order of operations). Level invariance
 * uses {@link LinearWindowFeaturesTest#LEVEL_SHIFT}, for the reason given there.
 */
class LongMemoryFeaturesTest {

  private static void assertFailsNaming(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().startsWith(argument + ":"),
        "expected the message to name '" + argument + "', got: " + e.getMessage());
  }

  @Test
  void shapesFollowLookbackSpanAndOrder() {
    for (int lookback : new int[] {1, 3, 8}) {
      for (int span : new int[] {1, 2, 5}) {
        for (int order : new int[] {1, 4, 9}) {
          LongMemoryFeatures f = LongMemoryFeatures.of(lookback, span, order);
          assertEquals("ssm", f.name());
          assertEquals(span * lookback, f.rowsRead(), "S = span * L");
          assertEquals(lookback, f.recentLookback());
          assertEquals(lookback - 1 + order, f.featureCount(), "L - 1 + N");
        }
      }
    }
  }

  @Test
  void featuresAreTheRecentWindowMinusTheLevelThenTheLegTMemoryOfTheSpan() {
    SplittableRandom rnd = new SplittableRandom(201);
    for (int lookback : new int[] {1, 2, 6, 11}) {
      for (int span : new int[] {1, 3, 4}) {
        for (int order : new int[] {1, 5, 8}) {
          LongMemoryFeatures f = LongMemoryFeatures.of(lookback, span, order);
          int s = span * lookback;
          int off = rnd.nextInt(6);
          double[] series = TestData.gaussian(rnd, off + s + 3, 1.0);
          double last = series[off + s - 1];
          assertEquals(last, f.level(series, off));

          double[] got = LinearWindowFeaturesTest.featuresOf(f, series, off);
          assertEquals(lookback - 1 + order, got.length);
          String what = "L=" + lookback + " span=" + span + " N=" + order;
          for (int k = 0; k < lookback - 1; k++) {
            assertEquals(series[off + s - lookback + k] - last, got[k], what + " recent " + k);
          }
          double[] memory = Arrays.copyOfRange(got, lookback - 1, got.length);
          double[] direct = LinearWindowFeaturesTest.featuresOf(LinearWindowFeatures.legt(s, order), series, off);
          assertArrayEquals(direct, memory, what + ": memory bit-equal to legt(S, N)");
          assertClose(what + ": memory vs the LegT scan",
              LinearWindowFeaturesTest.legtReference(series, off, s, order), memory, Tolerances.F64);
        }
      }
    }
  }

  @Test
  void theSsmModelIsALegTMemoryOfFourLookbacks() {
    SplittableRandom rnd = new SplittableRandom(202);
    int lookback = 5;
    WindowFeatures byDefault = ForecastModels.features("ssm", lookback);
    WindowFeatures sixteen = ForecastModels.features("SSM:16", lookback);
    assertInstanceOf(LongMemoryFeatures.class, byDefault);
    assertInstanceOf(LongMemoryFeatures.class, sixteen);
    assertEquals(4 * lookback, byDefault.rowsRead());
    assertEquals(lookback - 1 + 64, byDefault.featureCount());
    assertEquals(4 * lookback, sixteen.rowsRead());
    assertEquals(lookback - 1 + 16, sixteen.featureCount());
    assertTrue(ForecastModels.isFitted("ssm"));

    double[] series = TestData.gaussian(rnd, 4 * lookback + 2, 1.0);
    assertArrayEquals(LinearWindowFeaturesTest.featuresOf(LongMemoryFeatures.of(lookback, 4, 64), series, 1),
        LinearWindowFeaturesTest.featuresOf(byDefault, series, 1));
    assertArrayEquals(LinearWindowFeaturesTest.featuresOf(LongMemoryFeatures.of(lookback, 4, 16), series, 2),
        LinearWindowFeaturesTest.featuresOf(sixteen, series, 2));
    assertFailsNaming("model", () -> ForecastModels.features("ssm:0", lookback));
  }

  @Test
  void theFeaturesIgnoreAConstantAddedToTheSpan() {
    SplittableRandom rnd = new SplittableRandom(203);
    LongMemoryFeatures f = LongMemoryFeatures.of(6, 3, 8);
    double[] series = TestData.gaussian(rnd, f.rowsRead(), 1.0);
    double[] shifted = series.clone();
    for (int k = 0; k < shifted.length; k++) {
      shifted[k] += LinearWindowFeaturesTest.SHIFT;
    }
    assertClose("ssm under a level shift", LinearWindowFeaturesTest.featuresOf(f, series, 0),
        LinearWindowFeaturesTest.featuresOf(f, shifted, 0), LinearWindowFeaturesTest.LEVEL_SHIFT);
  }

  @Test
  void badArgumentsFailNamingTheArgument() {
    for (int bad : new int[] {0, -1}) {
      assertFailsNaming("lookback (L)", () -> LongMemoryFeatures.of(bad, 4, 8));
      assertFailsNaming("span", () -> LongMemoryFeatures.of(5, bad, 8));
      assertFailsNaming("order (N)", () -> LongMemoryFeatures.of(5, 4, bad));
    }
    // S · N must fit an array: 2^16 · 2^10 · 64 = 2^32 does not (fails before allocating).
    assertFailsNaming("span", () -> LongMemoryFeatures.of(1 << 16, 1 << 10, 64));
  }
}
