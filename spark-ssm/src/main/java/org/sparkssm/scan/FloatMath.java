package org.sparkssm.scan;

import org.sparkssm.Checks;

/**
 * Float32 {@code exp}, softplus and SiLU from additions, multiplications, fused multiply-adds, one
 * division and integer bit operations only, so that a result depends neither on whether the JIT has
 * compiled the caller nor on the path: these are the scalar twins of the {@code FloatVector}
 * functions of {@link VectorMath}, operation for operation, and give the same bits as one lane of
 * them. (Java's {@code float} arithmetic and {@link Math#fma(float, float, float)} are exactly
 * rounded IEEE operations in every mode.) This class does not touch the Vector API, so the scalar
 * float32 kernels run on a JVM without it.
 *
 * <h2>exp</h2>
 * Cody-Waite: {@code n = round(x log2 e)}, {@code r = x − n ln2} with ln 2 split in two
 * ({@link #LN2_HI} has 9 significant bits, so {@code n · LN2_HI} is exact), {@code |r| <= ln2/2};
 * {@code e^r = 1 + r + r² P(r)} with {@code P} a degree-4 minimax fit of relative error 5e-9
 * (below 0.05 ulp), evaluated by Horner in FMAs; then {@code e^x = e^r · 2^k1 · 2^k2} with
 * {@code k1 = ⌊n/2⌋}, {@code k2 = n − k1}, each factor built from exponent bits and each a normal
 * float for every n reached, so the product overflows and underflows gradually as {@code e^x} does,
 * with one rounding. Accuracy (tests: {@code FloatMathTest}): within 1 ulp of the correctly rounded
 * {@code e^x} over {@code [-87.3, 88.7]} (normal results); below that the result is subnormal,
 * within one subnormal step of it, and 0 for {@code x < -103.98}; {@code +∞} above 88.73;
 * {@code exp(0) = 1}; NaN stays NaN, {@code exp(−∞) = 0}, {@code exp(+∞) = +∞}.
 */
public final class FloatMath {
  private FloatMath() {}

  // Clamps: below EXP_LO, e^x < 2^-150 rounds to 0; above EXP_HI, e^x overflows. Clamping keeps
  // n in [-150, 128] (k1, k2 in [-75, 64]: normal powers of two) and the rounding trick valid.
  static final float EXP_LO = -104f;
  static final float EXP_HI = 89f;
  static final float LOG2E = 1.44269504088896341f;
  /** 1.5 · 2^23: {@code x + ROUND} holds round(x) in its low mantissa bits for {@code |x| < 2^22}. */
  static final float ROUND = 12582912f;
  static final float LN2_HI = 0.693359375f; // 355 / 512
  static final float LN2_LO = -2.12194440e-4f; // ln 2 − LN2_HI
  // e^r ≈ 1 + r + r² (E2 + r (E3 + r (E4 + r (E5 + r E6)))) on |r| <= ln2/2 (Lawson minimax fit).
  static final float E2 = 0.4999999701976776f;
  static final float E3 = 0.1666652113199234f;
  static final float E4 = 0.04166722670197487f;
  static final float E5 = 0.008368694223463535f;
  static final float E6 = 0.00138796865940094f;
  // log1p(v) = 2 atanh(s) = s (2 + w (T0 + w (T1 + w (T2 + w T3)))) with s = v / (2 + v) and
  // w = s², on v in [0, 1] (s <= 1/3); relative error of the fit 5e-9.
  static final float T0 = 0.6666640043258667f;
  static final float T1 = 0.4002230167388916f;
  static final float T2 = 0.2799034118652344f;
  static final float T3 = 0.2806401252746582f;
  /** torch's softplus threshold: above it, softplus(x) = x. */
  static final float SOFTPLUS_THRESHOLD = 20f;
  /** Exponent bias of a float. */
  static final int BIAS = 127;

  /** e^x in float32; the scalar twin of {@link VectorMath#exp(jdk.incubator.vector.FloatVector)}. */
  public static float exp(float x) {
    float xc = x < EXP_LO ? EXP_LO : x; // NaN compares false and stays NaN
    xc = xc > EXP_HI ? EXP_HI : xc;
    float shifted = Math.fma(xc, LOG2E, ROUND); // ROUND + n: one rounding, to the nearest integer
    float n = shifted - ROUND;
    float r = Math.fma(n, -LN2_HI, xc); // exact: n · LN2_HI has at most 17 significant bits
    r = Math.fma(n, -LN2_LO, r);
    float p = Math.fma(E6, r, E5);
    p = Math.fma(p, r, E4);
    p = Math.fma(p, r, E3);
    p = Math.fma(p, r, E2);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    // The bits of ROUND + n are 0x4B400000 + n; the constant part shifts out of an int at << 23,
    // so (bits + BIAS) << 23 is 2^n's bit pattern without extracting n first.
    int bits = Float.floatToRawIntBits(shifted);
    int half = bits >> 1; // 0x25A00000 + floor(n / 2): its constant part shifts out too
    float s1 = Float.intBitsToFloat((half + BIAS) << 23);
    float s2 = Float.intBitsToFloat((bits - half + BIAS) << 23);
    return p * s1 * s2;
  }

  /**
   * {@code softplus(x) = log(1 + e^x)} with torch's threshold ({@code x} itself above 20), in the
   * overflow-free form {@code max(x, 0) + log1p(e^{−|x|})}: within 4 ulp (3.67 at worst on every
   * third float of [-110, 25]; exp's error on {@code e^{−|x|}} carries over and may land in a
   * binade below). Scalar twin of {@link VectorMath#softplus(jdk.incubator.vector.FloatVector)}.
   */
  public static float softplus(float x) {
    float v = exp(-Math.abs(x)); // (0, 1]
    float s = v / (2f + v); // log1p(v) = 2 atanh(s); keeps full relative accuracy for tiny v
    float w = s * s;
    float q = Math.fma(T3, w, T2);
    q = Math.fma(q, w, T1);
    q = Math.fma(q, w, T0);
    q = Math.fma(q, w, 2f);
    float positive = x > 0f ? x : 0f;
    float smooth = positive + s * q;
    return x > SOFTPLUS_THRESHOLD ? x : smooth;
  }

  /**
   * {@code silu(x) = x / (1 + e^{−x})} in float32, written as torch writes it; scalar twin of
   * {@link VectorMath#silu(jdk.incubator.vector.FloatVector)}. Within 3 ulp (2.39 at worst on every
   * third float of [-88.7, 25]); −0 below −88.72, where {@code e^{−x}} overflows and the exact value
   * is below 2e-37; x itself for large x; NaN for NaN.
   */
  public static float silu(float x) {
    return x / (exp(-x) + 1f);
  }

  /**
   * {@code σ(x) = 1 / (1 + e^{−x})} in float32, as {@link #silu} divides: within 3 ulp where the
   * result is normal ({@code x > −87.3}); 0 below −88.72, where {@code e^{−x}} overflows; NaN for NaN. Scalar twin of
   * {@link VectorMath#sigmoid(jdk.incubator.vector.FloatVector)}.
   */
  public static float sigmoid(float x) {
    return 1f / (exp(-x) + 1f);
  }

  /**
   * {@code softplus'(x) = σ(x)}, 1 above torch's threshold 20 (where softplus is x itself), as
   * torch's backward. Scalar twin of {@link VectorMath#softplusDerivative(jdk.incubator.vector.FloatVector)}.
   */
  public static float softplusDerivative(float x) {
    return x > SOFTPLUS_THRESHOLD ? 1f : sigmoid(x);
  }

  /**
   * {@code y[yOff + i] = silu(x[xOff + i])} for {@code i < n}; {@code y} may be {@code x} at the same
   * offset (in place). On the Vector API when {@link VectorSupport#ENABLED}, with the same bits as
   * the scalar path.
   *
   * @throws IllegalArgumentException naming the argument when a range is outside its array
   */
  public static void silu(float[] x, int xOff, float[] y, int yOff, int n) {
    Checks.nonNegative("n", n);
    Checks.range("x", x, xOff, n);
    Checks.range("y", y, yOff, n);
    if (VectorSupport.ENABLED) {
      VectorMath.silu(x, xOff, y, yOff, n);
    } else {
      siluScalar(x, xOff, y, yOff, n);
    }
  }

  /** The scalar path of {@link #silu(float[], int, float[], int, int)}, unchecked. */
  static void siluScalar(float[] x, int xOff, float[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = silu(x[xOff + i]);
    }
  }

  /** The first {@code n} values of {@code x} rounded to float32 (a new array); null for null. */
  public static float[] toFloat(double[] x, int n) {
    if (x == null) {
      return null;
    }
    float[] out = new float[n];
    for (int k = 0; k < n; k++) {
      out[k] = (float) x[k];
    }
    return out;
  }

  /** {@code y[yOff + i] = (float) x[xOff + i]} for {@code i < n}: rounded into reused scratch; unchecked. */
  public static void toFloat(double[] x, int xOff, float[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = (float) x[xOff + i];
    }
  }

  /** {@code y[yOff + i] = x[xOff + i]} for {@code i < n}: widened (exact) into an existing array; unchecked. */
  public static void toDouble(float[] x, int xOff, double[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] = x[xOff + i];
    }
  }

  /** The first {@code n} values of {@code x} widened to float64 (exact; a new array). */
  public static double[] toDouble(float[] x, int n) {
    double[] out = new double[n];
    for (int k = 0; k < n; k++) {
      out[k] = x[k];
    }
    return out;
  }
}
