package org.sparkssm.scan;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Lanewise {@code exp} and {@code log1p} from additions, multiplications and fused multiply-adds
 * only, so a result does not depend on whether the JIT has compiled the caller.
 *
 * <p>Why not {@code lanewise(VectorOperators.EXP)}: compiled, it calls the platform's vector math
 * library (SVML on x86), interpreted it calls {@code StrictMath}; the two differ in the last bit
 * for some inputs, so the same run gave different weights before and after warm-up (a training
 * step, a task retry, a resumed run). Every operation used here is exactly specified by IEEE 754
 * in both modes.
 *
 * <p>Accuracy (tested against {@code Math.exp} / {@code Math.log1p}): within 2 ulp over the
 * double range; {@code exp} underflows gradually to 0 below −745.1 and overflows to +∞ above
 * 709.78; NaN stays NaN.
 *
 * <p>The float32 functions ({@link #exp(FloatVector)}, {@link #silu(FloatVector)}, softplus) are
 * the same operations, in the same order, as their scalar twins in {@link FloatMath} (which holds
 * the constants and documents the method and its accuracy: within 1 ulp for normal results), so a
 * lane gives the same bits as the scalar function.
 */
public final class VectorMath {
  private VectorMath() {}

  private static final double LOG2E = 1.4426950408889634;
  // ln 2 split so that n · LN2_HI is exact for |n| < 2^11 (Cody and Waite).
  private static final double LN2_HI = 6.93147180369123816490e-01;
  private static final double LN2_LO = 1.90821492927058770002e-10;
  private static final double ROUND = 6755399441055744.0; // 1.5 · 2^52: x + ROUND − ROUND rounds x to an integer
  private static final double SQRT_HALF = 0.7071067811865476;

  /** 1 / k! for k = 0 … 13: exp(r) for |r| ≤ ln2 / 2 to below an ulp (the next term is 4e-18). */
  private static final double[] EXP_COEFFS = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720,
      1.0 / 5040, 1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};

  /** Lanewise e^x. */
  public static DoubleVector exp(DoubleVector x) {
    DoubleVector xc = x.max(-745.2).min(709.8); // NaN stays NaN
    DoubleVector shifted = xc.mul(LOG2E).add(ROUND); // ROUND + n: n in the low mantissa bits
    DoubleVector n = shifted.sub(ROUND);
    DoubleVector r = xc.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO)); // n · LN2_HI is exact
    DoubleVector p = DoubleVector.broadcast(x.species(), EXP_COEFFS[13]);
    for (int k = 12; k >= 0; k--) {
      p = p.fma(r, DoubleVector.broadcast(x.species(), EXP_COEFFS[k]));
    }
    // 2^n in two factors, each a normal number for n in [-1075, 1024], so the product under- and
    // overflows as e^x does. n is read from the bits of ROUND + n (0x4338000000000000 + n), not
    // converted: JDK 17 does not intrinsify the 512-bit D2L conversion, and the call out of line
    // boxed every vector of the selective scan. The constant part shifts out at << 52, in k1 too.
    LongVector bits = shifted.reinterpretAsLongs();
    LongVector k1 = bits.lanewise(VectorOperators.ASHR, 1);
    LongVector k2 = bits.sub(k1);
    return p.mul(pow2(k1)).mul(pow2(k2));
  }

  /** Lanewise ln(1 + x) for x ≥ −1 (NaN below). */
  public static DoubleVector log1p(DoubleVector x) {
    DoubleVector u = x.add(1.0);
    // ln(1 + x) = ln(u) + (x − (u − 1)) / u: the rounding of 1 + x, corrected to first order.
    DoubleVector correction = x.sub(u.sub(1.0)).div(u);
    var finite = u.compare(VectorOperators.GE, Double.MIN_NORMAL).and(u.compare(VectorOperators.LE, Double.MAX_VALUE));
    DoubleVector far = log(u).add(DoubleVector.zero(x.species()).blend(correction, finite));
    // Near 0 (1 + x in [√½, √2]): 2 atanh(x / (2 + x)) directly, without rounding 1 + x first.
    var near = x.compare(VectorOperators.GE, SQRT_HALF - 1).and(x.compare(VectorOperators.LE, 2 * SQRT_HALF - 1));
    return far.blend(twoAtanh(x.div(x.add(2.0))), near);
  }

  /** Lanewise ln(u) for u > 0: u = m · 2^e with m in [√½, √2), ln m = 2 atanh(s), s = (m − 1) / (m + 1). */
  static DoubleVector log(DoubleVector u) {
    LongVector bits = (LongVector) u.reinterpretAsLongs();
    LongVector e = bits.lanewise(VectorOperators.LSHR, 52).and(0x7FFL).sub(1023L);
    DoubleVector m = bits.and(0x000FFFFFFFFFFFFFL).or(0x3FF0000000000000L).reinterpretAsDoubles(); // [1, 2)
    var big = m.compare(VectorOperators.GT, 2 * SQRT_HALF);
    m = m.blend(m.mul(0.5), big);
    // e as a double without a conversion (JDK 17 does not intrinsify 512-bit L2D): the bits of
    // ROUND + e, minus ROUND, exact for |e| < 2^51.
    DoubleVector eD = e.add(Double.doubleToRawLongBits(ROUND)).reinterpretAsDoubles().sub(ROUND);
    DoubleVector ed = eD.add(DoubleVector.zero(u.species()).blend(1.0, big));
    DoubleVector lnM = twoAtanh(m.sub(1.0).div(m.add(1.0)));
    DoubleVector out = ed.mul(LN2_HI).add(ed.mul(LN2_LO).add(lnM));
    // Zero, subnormal, negative, infinite and NaN inputs: the cases this decomposition does not cover.
    var special = u.compare(VectorOperators.LT, Double.MIN_NORMAL).or(u.compare(VectorOperators.GT, Double.MAX_VALUE))
        .or(u.compare(VectorOperators.NE, u));
    if (special.anyTrue()) {
      double[] lanes = u.toArray();
      double[] res = out.toArray();
      for (int i = 0; i < lanes.length; i++) {
        if (special.laneIsSet(i)) {
          res[i] = Math.log(lanes[i]);
        }
      }
      out = DoubleVector.fromArray(u.species(), res, 0);
    }
    return out;
  }

  /** 2 atanh(s) = 2 (s + s³/3 + s⁵/5 + …) for |s| ≤ 0.172 (= ln((1 + s) / (1 − s))): 13 terms reach below an ulp. */
  private static DoubleVector twoAtanh(DoubleVector s) {
    DoubleVector s2 = s.mul(s);
    DoubleVector p = DoubleVector.broadcast(s.species(), 2.0 / 27);
    for (int k = 25; k >= 1; k -= 2) {
      p = p.fma(s2, DoubleVector.broadcast(s.species(), 2.0 / k));
    }
    return p.mul(s);
  }

  private static DoubleVector pow2(LongVector k) {
    return k.add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
  }

  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

  /** Lanewise e^x in float32; {@link FloatMath#exp(float)} is its scalar twin and documents it. */
  public static FloatVector exp(FloatVector x) {
    FloatVector xc = x.blend(FloatMath.EXP_LO, x.compare(VectorOperators.LT, FloatMath.EXP_LO)); // NaN stays
    xc = xc.blend(FloatMath.EXP_HI, xc.compare(VectorOperators.GT, FloatMath.EXP_HI));
    return expClamped(xc);
  }

  /**
   * {@link #exp(FloatVector)}, without its clamps when the caller knows every lane lies in
   * {@code [FloatMath.EXP_LO, FloatMath.EXP_HI]} ({@code withinClamps}): the same bits either way,
   * from one inlined exp (a kernel that chose between {@link #expClamped} and {@link #exp} at each
   * step inlined two, and C2 ran out of its node budget in the selective scan's backward).
   */
  public static FloatVector exp(FloatVector x, boolean withinClamps) {
    return expClamped(withinClamps ? x : x.max(FloatMath.EXP_LO).min(FloatMath.EXP_HI)); // NaN stays NaN
  }

  /**
   * {@link #exp(FloatVector)} for arguments the caller knows to lie in
   * {@code [FloatMath.EXP_LO, FloatMath.EXP_HI]}, where the clamps change nothing: the same bits
   * without their two compares and blends (a quarter of the selective scan's time).
   */
  public static FloatVector expClamped(FloatVector xc) {
    FloatVector shifted = xc.fma(FloatMath.LOG2E, FloatMath.ROUND);
    FloatVector n = shifted.sub(FloatMath.ROUND);
    VectorSpecies<Float> sp = xc.species();
    FloatVector r = n.fma(FloatVector.broadcast(sp, -FloatMath.LN2_HI), xc);
    r = n.fma(FloatVector.broadcast(sp, -FloatMath.LN2_LO), r);
    FloatVector p = FloatVector.broadcast(sp, FloatMath.E6).fma(r, FloatVector.broadcast(sp, FloatMath.E5));
    p = p.fma(r, FloatVector.broadcast(sp, FloatMath.E4));
    p = p.fma(r, FloatVector.broadcast(sp, FloatMath.E3));
    p = p.fma(r, FloatVector.broadcast(sp, FloatMath.E2));
    FloatVector one = FloatVector.broadcast(sp, 1f);
    p = p.fma(r, one);
    p = p.fma(r, one);
    IntVector bits = shifted.reinterpretAsInts();
    IntVector half = bits.lanewise(VectorOperators.ASHR, 1);
    FloatVector s1 = half.add(FloatMath.BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector s2 = bits.sub(half).add(FloatMath.BIAS).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    return p.mul(s1).mul(s2);
  }

  /** Lanewise softplus with torch's threshold 20; {@link FloatMath#softplus(float)} is its scalar twin. */
  public static FloatVector softplus(FloatVector x) {
    FloatVector v = exp(x.abs().neg());
    FloatVector s = v.div(v.add(2f));
    FloatVector w = s.mul(s);
    VectorSpecies<Float> sp = x.species();
    FloatVector q = FloatVector.broadcast(sp, FloatMath.T3).fma(w, FloatVector.broadcast(sp, FloatMath.T2));
    q = q.fma(w, FloatVector.broadcast(sp, FloatMath.T1));
    q = q.fma(w, FloatVector.broadcast(sp, FloatMath.T0));
    q = q.fma(w, FloatVector.broadcast(sp, 2f));
    FloatVector positive = FloatVector.zero(sp).blend(x, x.compare(VectorOperators.GT, 0f));
    FloatVector smooth = positive.add(s.mul(q));
    return smooth.blend(x, x.compare(VectorOperators.GT, FloatMath.SOFTPLUS_THRESHOLD));
  }

  /** Lanewise {@code silu(x) = x / (1 + e^{−x})}; {@link FloatMath#silu(float)} is its scalar twin. */
  public static FloatVector silu(FloatVector x) {
    return x.div(exp(x.neg()).add(1f));
  }

  /** Lanewise {@code σ(x) = 1 / (1 + e^{−x})}; {@link FloatMath#sigmoid(float)} is its scalar twin. */
  public static FloatVector sigmoid(FloatVector x) {
    return FloatVector.broadcast(x.species(), 1f).div(exp(x.neg()).add(1f));
  }

  /** Lanewise {@code softplus'(x)}: σ(x), 1 above 20; {@link FloatMath#softplusDerivative(float)} is its scalar twin. */
  public static FloatVector softplusDerivative(FloatVector x) {
    return sigmoid(x).blend(1f, x.compare(VectorOperators.GT, FloatMath.SOFTPLUS_THRESHOLD));
  }

  /** {@link FloatMath#silu(float[], int, float[], int, int)} on vectors, unchecked; the tail in scalar code. */
  static void silu(float[] x, int xOff, float[] y, int yOff, int n) {
    int end = F.loopBound(n);
    for (int i = 0; i < end; i += F.length()) {
      silu(FloatVector.fromArray(F, x, xOff + i)).intoArray(y, yOff + i);
    }
    for (int i = end; i < n; i++) {
      y[yOff + i] = FloatMath.silu(x[xOff + i]);
    }
  }
}
