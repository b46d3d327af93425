package org.sparkssm.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The per-channel causal convolution and correlation of {@link S4dLayer}'s convolution mode on
 * the Vector API, over time-major rows ({@code x[row · H + d]}), lanes across channels d. Four
 * output rows are computed together with their input rows held in registers and shifted by one
 * row per tap, so each tap loads one kernel row and one input row for four FMAs. Only loaded
 * behind {@link org.sparkssm.scan.VectorSupport#ENABLED}; the scalar twins are
 * {@link S4dLayer#convolveScalar} and {@link S4dLayer#correlateScalar}, which also finish the
 * channels past the last whole vector (the returned index).
 *
 * <p>{@link #convolve32} and {@link #correlate32} are the float32 twins (convolution mode in
 * {@link Precision#FLOAT32} / {@link Precision#FLOAT32_STATE64}): the same loops on
 * {@link FloatVector} (16 lanes on AVX-512), each element one float32 fused multiply-add chain in
 * tap order, the bits of their scalar twins {@link S4dLayer#convolveScalar32} and
 * {@link S4dLayer#correlateScalar32}.
 */
final class S4dConvolutionVector {
  private S4dConvolutionVector() {}

  private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED; // 16 lanes on AVX-512

  /**
   * {@code y_t = Σ_{k≤t} K_k u_{t-k} + skip · u_t} for t in [0, len), channels [0, returned
   * index). y must not overlap u.
   */
  static int convolve(double[] kern, int kOff, double[] u, int uOff, double[] skip, double[] y, int yOff, int len,
      int H) {
    final int lanes = S.length();
    int d = 0;
    for (; d + lanes <= H; d += lanes) {
      DoubleVector sk = DoubleVector.fromArray(S, skip, d);
      final int kd = kOff + d;
      final int ud = uOff + d;
      final int yd = yOff + d;
      int t = 0;
      for (; t + 4 <= len; t += 4) {
        DoubleVector a0 = DoubleVector.zero(S);
        DoubleVector a1 = a0;
        DoubleVector a2 = a0;
        DoubleVector a3 = a0;
        // x_q holds u_{t+q-k} at tap k: entering tap k, x1..x3 = u_{t+1-k}..u_{t+3-k}.
        DoubleVector x1 = DoubleVector.fromArray(S, u, ud + (t + 1) * H);
        DoubleVector x2 = DoubleVector.fromArray(S, u, ud + (t + 2) * H);
        DoubleVector x3 = DoubleVector.fromArray(S, u, ud + (t + 3) * H);
        for (int k = 0; k <= t; k++) {
          DoubleVector x0 = DoubleVector.fromArray(S, u, ud + (t - k) * H);
          DoubleVector kv = DoubleVector.fromArray(S, kern, kd + k * H);
          a0 = kv.fma(x0, a0);
          a1 = kv.fma(x1, a1);
          a2 = kv.fma(x2, a2);
          a3 = kv.fma(x3, a3);
          x3 = x2;
          x2 = x1;
          x1 = x0;
        }
        // Now x1, x2, x3 = u_0, u_1, u_2: the taps only the later rows reach.
        DoubleVector kv = DoubleVector.fromArray(S, kern, kd + (t + 1) * H);
        a1 = kv.fma(x1, a1);
        a2 = kv.fma(x2, a2);
        a3 = kv.fma(x3, a3);
        kv = DoubleVector.fromArray(S, kern, kd + (t + 2) * H);
        a2 = kv.fma(x1, a2);
        a3 = kv.fma(x2, a3);
        kv = DoubleVector.fromArray(S, kern, kd + (t + 3) * H);
        a3 = kv.fma(x1, a3);
        sk.fma(DoubleVector.fromArray(S, u, ud + t * H), a0).intoArray(y, yd + t * H);
        sk.fma(DoubleVector.fromArray(S, u, ud + (t + 1) * H), a1).intoArray(y, yd + (t + 1) * H);
        sk.fma(DoubleVector.fromArray(S, u, ud + (t + 2) * H), a2).intoArray(y, yd + (t + 2) * H);
        sk.fma(DoubleVector.fromArray(S, u, ud + (t + 3) * H), a3).intoArray(y, yd + (t + 3) * H);
      }
      for (; t < len; t++) {
        DoubleVector a = DoubleVector.zero(S);
        for (int k = 0; k <= t; k++) {
          a = DoubleVector.fromArray(S, kern, kd + k * H).fma(DoubleVector.fromArray(S, u, ud + (t - k) * H), a);
        }
        sk.fma(DoubleVector.fromArray(S, u, ud + t * H), a).intoArray(y, yd + t * H);
      }
    }
    return d;
  }

  /**
   * {@code c_j (= or +=) Σ_{i ≤ len-1-j} a_i b_{i+j} + skip · b_j} for j in [0, len), channels
   * [0, returned index); {@code skip} may be null (no term). c may be b at the same offset: rows
   * go forward and a row of c is stored after the last read of that row of b.
   */
  static int correlate(double[] a, int aOff, double[] b, int bOff, double[] skip, double[] c, int cOff, int len,
      int H, boolean accumulate) {
    final int lanes = S.length();
    int d = 0;
    for (; d + lanes <= H; d += lanes) {
      DoubleVector sk = skip == null ? null : DoubleVector.fromArray(S, skip, d);
      final int ad = aOff + d;
      final int bd = bOff + d;
      final int cd = cOff + d;
      int j = 0;
      for (; j + 4 <= len; j += 4) {
        DoubleVector a0 = DoubleVector.zero(S);
        DoubleVector a1 = a0;
        DoubleVector a2 = a0;
        DoubleVector a3 = a0;
        // Entering term i, x0..x2 = b_{i+j}..b_{i+j+2}.
        DoubleVector x0 = DoubleVector.fromArray(S, b, bd + j * H);
        DoubleVector x1 = DoubleVector.fromArray(S, b, bd + (j + 1) * H);
        DoubleVector x2 = DoubleVector.fromArray(S, b, bd + (j + 2) * H);
        final int n = len - 3 - j; // terms all four rows reach
        for (int i = 0; i < n; i++) {
          DoubleVector x3 = DoubleVector.fromArray(S, b, bd + (i + j + 3) * H);
          DoubleVector av = DoubleVector.fromArray(S, a, ad + i * H);
          a0 = av.fma(x0, a0);
          a1 = av.fma(x1, a1);
          a2 = av.fma(x2, a2);
          a3 = av.fma(x3, a3);
          x0 = x1;
          x1 = x2;
          x2 = x3;
        }
        // Now x0, x1, x2 = b_{len-3}, b_{len-2}, b_{len-1}: the terms only the earlier rows reach.
        DoubleVector av = DoubleVector.fromArray(S, a, ad + n * H);
        a0 = av.fma(x0, a0);
        a1 = av.fma(x1, a1);
        a2 = av.fma(x2, a2);
        av = DoubleVector.fromArray(S, a, ad + (n + 1) * H);
        a0 = av.fma(x1, a0);
        a1 = av.fma(x2, a1);
        av = DoubleVector.fromArray(S, a, ad + (n + 2) * H);
        a0 = av.fma(x2, a0);
        if (sk != null) {
          a0 = sk.fma(DoubleVector.fromArray(S, b, bd + j * H), a0);
          a1 = sk.fma(DoubleVector.fromArray(S, b, bd + (j + 1) * H), a1);
          a2 = sk.fma(DoubleVector.fromArray(S, b, bd + (j + 2) * H), a2);
          a3 = sk.fma(DoubleVector.fromArray(S, b, bd + (j + 3) * H), a3);
        }
        if (accumulate) {
          a0 = a0.add(DoubleVector.fromArray(S, c, cd + j * H));
          a1 = a1.add(DoubleVector.fromArray(S, c, cd + (j + 1) * H));
          a2 = a2.add(DoubleVector.fromArray(S, c, cd + (j + 2) * H));
          a3 = a3.add(DoubleVector.fromArray(S, c, cd + (j + 3) * H));
        }
        a0.intoArray(c, cd + j * H);
        a1.intoArray(c, cd + (j + 1) * H);
        a2.intoArray(c, cd + (j + 2) * H);
        a3.intoArray(c, cd + (j + 3) * H);
      }
      for (; j < len; j++) {
        DoubleVector acc = DoubleVector.zero(S);
        for (int i = 0; i + j < len; i++) {
          acc = DoubleVector.fromArray(S, a, ad + i * H).fma(DoubleVector.fromArray(S, b, bd + (i + j) * H), acc);
        }
        if (sk != null) {
          acc = sk.fma(DoubleVector.fromArray(S, b, bd + j * H), acc);
        }
        if (accumulate) {
          acc = acc.add(DoubleVector.fromArray(S, c, cd + j * H));
        }
        acc.intoArray(c, cd + j * H);
      }
    }
    return d;
  }

  /**
   * The float32 twin of {@link #convolve}: {@code y_t = Σ_{k≤t} K_k u_{t-k} + skip · u_t}, each
   * element the float32 chain {@code a = fma(K_k, u_{t-k}, a)} for k = 0 .. t from {@code a = 0},
   * then {@code y = fma(skip, u_t, a)}: the bits of {@link S4dLayer#convolveScalar32}. Channels
   * [0, returned index); y must not overlap u.
   */
  static int convolve32(float[] kern, int kOff, float[] u, int uOff, float[] skip, float[] y, int yOff, int len,
      int H) {
    final int lanes = F.length();
    int d = 0;
    for (; d + lanes <= H; d += lanes) {
      FloatVector sk = FloatVector.fromArray(F, skip, d);
      final int kd = kOff + d;
      final int ud = uOff + d;
      final int yd = yOff + d;
      int t = 0;
      for (; t + 4 <= len; t += 4) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        // x_q holds u_{t+q-k} at tap k: entering tap k, x1..x3 = u_{t+1-k}..u_{t+3-k}.
        FloatVector x1 = FloatVector.fromArray(F, u, ud + (t + 1) * H);
        FloatVector x2 = FloatVector.fromArray(F, u, ud + (t + 2) * H);
        FloatVector x3 = FloatVector.fromArray(F, u, ud + (t + 3) * H);
        for (int k = 0; k <= t; k++) {
          FloatVector x0 = FloatVector.fromArray(F, u, ud + (t - k) * H);
          FloatVector kv = FloatVector.fromArray(F, kern, kd + k * H);
          a0 = kv.fma(x0, a0);
          a1 = kv.fma(x1, a1);
          a2 = kv.fma(x2, a2);
          a3 = kv.fma(x3, a3);
          x3 = x2;
          x2 = x1;
          x1 = x0;
        }
        // Now x1, x2, x3 = u_0, u_1, u_2: the taps only the later rows reach.
        FloatVector kv = FloatVector.fromArray(F, kern, kd + (t + 1) * H);
        a1 = kv.fma(x1, a1);
        a2 = kv.fma(x2, a2);
        a3 = kv.fma(x3, a3);
        kv = FloatVector.fromArray(F, kern, kd + (t + 2) * H);
        a2 = kv.fma(x1, a2);
        a3 = kv.fma(x2, a3);
        kv = FloatVector.fromArray(F, kern, kd + (t + 3) * H);
        a3 = kv.fma(x1, a3);
        sk.fma(FloatVector.fromArray(F, u, ud + t * H), a0).intoArray(y, yd + t * H);
        sk.fma(FloatVector.fromArray(F, u, ud + (t + 1) * H), a1).intoArray(y, yd + (t + 1) * H);
        sk.fma(FloatVector.fromArray(F, u, ud + (t + 2) * H), a2).intoArray(y, yd + (t + 2) * H);
        sk.fma(FloatVector.fromArray(F, u, ud + (t + 3) * H), a3).intoArray(y, yd + (t + 3) * H);
      }
      for (; t < len; t++) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k <= t; k++) {
          a = FloatVector.fromArray(F, kern, kd + k * H).fma(FloatVector.fromArray(F, u, ud + (t - k) * H), a);
        }
        sk.fma(FloatVector.fromArray(F, u, ud + t * H), a).intoArray(y, yd + t * H);
      }
    }
    return d;
  }

  /**
   * The float32 twin of {@link #correlate}, overwriting c: {@code c_j = Σ_{i ≤ len-1-j} a_i b_{i+j}
   * + skip · b_j}, each element the float32 chain {@code c = fma(a_i, b_{i+j}, c)} for i = 0, 1, ...
   * from {@code c = 0}, then {@code c = fma(skip, b_j, c)} ({@code skip} may be null: no term): the
   * bits of {@link S4dLayer#correlateScalar32}. Channels [0, returned index); c may be b at the
   * same offset.
   */
  static int correlate32(float[] a, int aOff, float[] b, int bOff, float[] skip, float[] c, int cOff, int len,
      int H) {
    final int lanes = F.length();
    int d = 0;
    for (; d + lanes <= H; d += lanes) {
      FloatVector sk = skip == null ? null : FloatVector.fromArray(F, skip, d);
      final int ad = aOff + d;
      final int bd = bOff + d;
      final int cd = cOff + d;
      int j = 0;
      for (; j + 4 <= len; j += 4) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        // Entering term i, x0..x2 = b_{i+j}..b_{i+j+2}.
        FloatVector x0 = FloatVector.fromArray(F, b, bd + j * H);
        FloatVector x1 = FloatVector.fromArray(F, b, bd + (j + 1) * H);
        FloatVector x2 = FloatVector.fromArray(F, b, bd + (j + 2) * H);
        final int n = len - 3 - j; // terms all four rows reach
        for (int i = 0; i < n; i++) {
          FloatVector x3 = FloatVector.fromArray(F, b, bd + (i + j + 3) * H);
          FloatVector av = FloatVector.fromArray(F, a, ad + i * H);
          a0 = av.fma(x0, a0);
          a1 = av.fma(x1, a1);
          a2 = av.fma(x2, a2);
          a3 = av.fma(x3, a3);
          x0 = x1;
          x1 = x2;
          x2 = x3;
        }
        // Now x0, x1, x2 = b_{len-3}, b_{len-2}, b_{len-1}: the terms only the earlier rows reach.
        FloatVector av = FloatVector.fromArray(F, a, ad + n * H);
        a0 = av.fma(x0, a0);
        a1 = av.fma(x1, a1);
        a2 = av.fma(x2, a2);
        av = FloatVector.fromArray(F, a, ad + (n + 1) * H);
        a0 = av.fma(x1, a0);
        a1 = av.fma(x2, a1);
        av = FloatVector.fromArray(F, a, ad + (n + 2) * H);
        a0 = av.fma(x2, a0);
        if (sk != null) {
          a0 = sk.fma(FloatVector.fromArray(F, b, bd + j * H), a0);
          a1 = sk.fma(FloatVector.fromArray(F, b, bd + (j + 1) * H), a1);
          a2 = sk.fma(FloatVector.fromArray(F, b, bd + (j + 2) * H), a2);
          a3 = sk.fma(FloatVector.fromArray(F, b, bd + (j + 3) * H), a3);
        }
        a0.intoArray(c, cd + j * H);
        a1.intoArray(c, cd + (j + 1) * H);
        a2.intoArray(c, cd + (j + 2) * H);
        a3.intoArray(c, cd + (j + 3) * H);
      }
      for (; j < len; j++) {
        FloatVector acc = FloatVector.zero(F);
        for (int i = 0; i + j < len; i++) {
          acc = FloatVector.fromArray(F, a, ad + i * H).fma(FloatVector.fromArray(F, b, bd + (i + j) * H), acc);
        }
        if (sk != null) {
          acc = sk.fma(FloatVector.fromArray(F, b, bd + j * H), acc);
        }
        acc.intoArray(c, cd + j * H);
      }
    }
    return d;
  }
}
