package org.sparkssm.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import java.util.function.UnaryOperator;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link FloatMath} against {@code Math.exp} in double rounded to float, and against its vector
 * twins in {@link VectorMath}: lanes give the scalar function's bits.
 *
 * <p>Besides these sampled tests, {@code FloatMath.exp} was checked once on every float in
 * {@code [-104, 88.72]}: largest error 0.915 ulp (at 26.72; 0.912 at -5.85), subnormal results
 * within 0.86 of a subnormal step, so the tests' bound of 1 ulp holds everywhere.
 */
class FloatMathTest {
  private static final float[] SPECIAL = {0f, -0f, 1f, -1f, 1e-8f, -1e-8f, Float.MIN_VALUE, -Float.MIN_VALUE,
      Float.MIN_NORMAL, 0.34657359f, -0.34657359f, 0.3465736f, (float) Math.log(2), 88.72283f, 88.72284f, 88.7229f,
      89f, 89.1f, 100f, 1e30f, -87.33654f, -87.3f, -100f, -103.97f, -103.973f, -104f, -104.5f, -1e30f, 20f, 20.000002f,
      19.999998f, -20f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
      Float.intBitsToFloat(0x7FC00001), Float.intBitsToFloat(0xFF800123)};

  /** Inputs for the twin tests: the specials, uniform over the exp range, and arbitrary bit patterns. */
  private static float[] inputs(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      switch (i % 4) {
        case 0:
          x[i] = (float) rnd.nextDouble(-110, 95);
          break;
        case 1:
          x[i] = Float.intBitsToFloat(rnd.nextInt());
          break;
        case 2:
          x[i] = (float) rnd.nextDouble(-1e-3, 1e-3);
          break;
        default:
          x[i] = (float) rnd.nextDouble(-25, 25);
      }
    }
    System.arraycopy(SPECIAL, 0, x, 0, SPECIAL.length);
    return x;
  }

  private static void assertSameBits(float[] x, float[] expected, float[] got, String what) {
    for (int i = 0; i < x.length; i++) {
      // floatToIntBits: every NaN is the same NaN (payloads are not part of the contract).
      if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(got[i])) {
        fail(what + " at x = " + x[i] + " (bits " + Integer.toHexString(Float.floatToRawIntBits(x[i])) + "): scalar "
            + expected[i] + ", vector " + got[i]);
      }
    }
  }

  /** Applies {@code f} lanewise, the tail padded with zeros. */
  private static float[] lanewise(float[] x, UnaryOperator<FloatVector> f) {
    VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
    float[] padded = java.util.Arrays.copyOf(x, (x.length + s.length() - 1) / s.length() * s.length());
    float[] out = new float[padded.length];
    for (int i = 0; i < padded.length; i += s.length()) {
      f.apply(FloatVector.fromArray(s, padded, i)).intoArray(out, i);
    }
    return java.util.Arrays.copyOf(out, x.length);
  }

  private static float[] scalar(float[] x, UnaryOperator<Float> f) {
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = f.apply(x[i]);
    }
    return out;
  }

  @Test
  void expVectorLanesEqualTheScalarTwinBitForBit() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "Vector API not enabled");
    float[] x = inputs(1, 1 << 20);
    assertSameBits(x, scalar(x, FloatMath::exp), lanewise(x, VectorMath::exp), "exp");
    // Without the clamps, on the range where they change nothing (NaN included).
    float[] inRange = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      inRange[i] = Float.isNaN(x[i]) ? x[i] : Math.max(FloatMath.EXP_LO, Math.min(FloatMath.EXP_HI, x[i]));
    }
    assertSameBits(inRange, scalar(inRange, FloatMath::exp), lanewise(inRange, VectorMath::expClamped), "expClamped");
    assertSameBits(inRange, scalar(inRange, FloatMath::exp), lanewise(inRange, v -> VectorMath.exp(v, true)),
        "exp within the clamps");
    assertSameBits(x, scalar(x, FloatMath::exp), lanewise(x, v -> VectorMath.exp(v, false)), "exp, clamped");
  }

  @Test
  void softplusAndSiluVectorLanesEqualTheirScalarTwinsBitForBit() {
    Assumptions.assumeTrue(VectorSupport.ENABLED, "Vector API not enabled");
    float[] x = inputs(2, 1 << 18);
    assertSameBits(x, scalar(x, FloatMath::softplus), lanewise(x, VectorMath::softplus), "softplus");
    assertSameBits(x, scalar(x, FloatMath::silu), lanewise(x, VectorMath::silu), "silu");
    assertSameBits(x, scalar(x, FloatMath::sigmoid), lanewise(x, VectorMath::sigmoid), "sigmoid");
    assertSameBits(x, scalar(x, FloatMath::softplusDerivative), lanewise(x, VectorMath::softplusDerivative),
        "softplusDerivative");
  }

  @Test
  void sigmoidIsWithinThreeUlpAndSoftplusDerivativeIsOneAboveTheThreshold() {
    SplittableRandom rnd = new SplittableRandom(5);
    UlpMeter sigmoid = new UlpMeter();
    for (int i = 0; i < 1 << 18; i++) {
      float x = i % 2 == 0 ? (float) rnd.nextDouble(-30, 30) : (float) rnd.nextDouble(-87, 100); // normal results
      sigmoid.add(x, 1.0 / (1.0 + Math.exp(-x)), FloatMath.sigmoid(x));
    }
    sigmoid.assertWithin(3, 0, "sigmoid");
    assertEquals(0.5f, FloatMath.sigmoid(0f));
    assertEquals(0f, FloatMath.sigmoid(-100f)); // e^100 overflows float
    assertEquals(1f, FloatMath.softplusDerivative(20.5f), "torch's threshold: softplus' = 1 above 20");
    assertEquals(FloatMath.sigmoid(19.5f), FloatMath.softplusDerivative(19.5f));
    assertTrue(Float.isNaN(FloatMath.softplusDerivative(Float.NaN)));
  }

  /** Largest error in ulp of the float nearest to {@code exact}; results below the normal range in subnormal steps. */
  private static final class UlpMeter {
    double maxUlp;
    float maxAt;
    double maxSubnormalSteps;

    void add(float x, double exact, float got) {
      float rounded = (float) exact;
      if (Float.isNaN(rounded) || Float.isInfinite(rounded) || rounded == 0f) {
        assertEquals(Float.floatToIntBits(rounded), Float.floatToIntBits(got), "x = " + x);
      } else if (Math.abs(rounded) < Float.MIN_NORMAL) {
        maxSubnormalSteps = Math.max(maxSubnormalSteps, Math.abs(got - exact) / Float.MIN_VALUE);
      } else {
        double ulps = Math.abs(got - exact) / Math.ulp(rounded);
        if (ulps > maxUlp) {
          maxUlp = ulps;
          maxAt = x;
        }
      }
    }

    void assertWithin(double ulps, double subnormalSteps, String what) {
      assertTrue(maxUlp <= ulps, what + ": " + maxUlp + " ulp at x = " + maxAt);
      assertTrue(maxSubnormalSteps <= subnormalSteps, what + ": " + maxSubnormalSteps + " subnormal steps");
    }
  }

  @Test
  void expIsWithinOneUlpOnTheScanRangeAndTheWholeFloatRange() {
    SplittableRandom rnd = new SplittableRandom(3);
    UlpMeter scanRange = new UlpMeter();
    UlpMeter whole = new UlpMeter();
    for (int i = 0; i < 1 << 20; i++) {
      // Δ·A of a Mamba scan: [-100, 0], dense near 0 (small Δ, small |A|).
      float x = i % 2 == 0 ? (float) rnd.nextDouble(-100, 0) : (float) -Math.exp(rnd.nextDouble(-30, 0));
      scanRange.add(x, Math.exp(x), FloatMath.exp(x));
      float w = (float) rnd.nextDouble(-87, 88);
      whole.add(w, Math.exp(w), FloatMath.exp(w));
    }
    for (int i = 0; i < SPECIAL.length; i++) {
      whole.add(SPECIAL[i], Math.exp(SPECIAL[i]), FloatMath.exp(SPECIAL[i]));
    }
    scanRange.assertWithin(1, 1, "exp on [-100, 0]");
    whole.assertWithin(1, 1, "exp on [-87, 88]");
    assertEquals(1f, FloatMath.exp(0f));
    assertEquals(0f, FloatMath.exp(-104f));
    assertEquals(Float.MIN_VALUE, FloatMath.exp(-103.97f)); // gradual underflow, not flushed
    assertEquals(Float.POSITIVE_INFINITY, FloatMath.exp(88.72284f));
    assertEquals(3.4027985e38f, FloatMath.exp(88.72283f));
  }

  @Test
  void softplusIsWithinFourUlpAndSiluWithinThree() {
    SplittableRandom rnd = new SplittableRandom(4);
    UlpMeter softplus = new UlpMeter();
    UlpMeter silu = new UlpMeter();
    for (int i = 0; i < 1 << 18; i++) {
      float x = i % 2 == 0 ? (float) rnd.nextDouble(-30, 30) : (float) rnd.nextDouble(-88, 100);
      softplus.add(x, SelectiveScan.stepSize(x, true), FloatMath.softplus(x));
      silu.add(x, x / (1.0 + Math.exp(-x)), FloatMath.silu(x));
    }
    for (int i = 0; i < SPECIAL.length; i++) {
      float x = SPECIAL[i];
      softplus.add(x, SelectiveScan.stepSize(x, true), FloatMath.softplus(x));
    }
    softplus.assertWithin(4, 2, "softplus"); // subnormal: s = v / 2 and s · q round twice
    silu.assertWithin(3, 1, "silu");
    assertEquals(25f, FloatMath.softplus(25f), "torch's threshold: x itself above 20");
    assertTrue(FloatMath.softplus(-80f) > 0f, "tiny step sizes stay positive");
    assertEquals(0f, FloatMath.softplus(Float.NEGATIVE_INFINITY));
    assertTrue(Float.isNaN(FloatMath.softplus(Float.NaN)));
    assertEquals(-0f, FloatMath.silu(-100f)); // as torch's x / (1 + exp(-x)) in float32
    assertEquals(100f, FloatMath.silu(100f));
  }

  @Test
  void siluOverArraysMatchesTheScalarTwinInPlaceAndAtOffsets() {
    float[] x = inputs(5, 1000);
    for (int n : new int[] {0, 1, 15, 16, 17, 63, 997}) {
      int xOff = 3;
      int yOff = 1;
      float[] expected = new float[n + 2];
      FloatMath.siluScalar(x, xOff, expected, yOff, n);
      float[] got = new float[n + 2];
      java.util.Arrays.fill(got, 7f);
      FloatMath.silu(x, xOff, got, yOff, n);
      for (int i = 0; i < n; i++) {
        assertEquals(Float.floatToIntBits(expected[yOff + i]), Float.floatToIntBits(got[yOff + i]),
            "silu(float[]) n = " + n + " at " + i + ", x = " + x[xOff + i]);
      }
      assertEquals(7f, got[0], "wrote before the window");
      assertEquals(7f, got[n + 1], "wrote past the window");
      float[] inPlace = java.util.Arrays.copyOf(x, x.length);
      FloatMath.silu(inPlace, xOff, inPlace, xOff, n);
      for (int i = 0; i < n; i++) {
        assertEquals(Float.floatToIntBits(expected[yOff + i]), Float.floatToIntBits(inPlace[xOff + i]), "in place");
      }
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> FloatMath.silu(x, 990, new float[20], 0, 20));
    assertTrue(e.getMessage().startsWith("x:"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> FloatMath.silu(x, 0, new float[20], 1, 20));
    assertTrue(e.getMessage().startsWith("y:"), e.getMessage());
  }
}
