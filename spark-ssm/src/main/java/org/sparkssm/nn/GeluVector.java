package org.sparkssm.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.sparkssm.scan.VectorMath;

/**
 * The Vector API kernel of {@link Nonlinearity#GELU} (forward and backward), loaded only when
 * {@link org.sparkssm.scan.VectorSupport#ENABLED}.
 *
 * <p>Why: on JDK 17 {@code Math.tanh} is {@code StrictMath.tanh}, a native call of about 20 ns, and
 * a GELU over every position of every layer calls it millions of times per training step
 * ({@code s4dnet} at ETTh1's shape: 4.1 M per direction, a third of its float32 step). Here
 * {@code tanh z = sign(z) (1 − 2 / (e^{2|z|} + 1))} on {@link VectorMath#exp}: its absolute error is a
 * few ulps of 1, which is what GELU's {@code 1 + tanh} and {@code 1 − tanh²} see (GeluVectorTest).
 * Not {@code lanewise(TANH)}: compiled it is SVML, interpreted {@code StrictMath}, which differ in
 * the last bits, so a result would depend on the JIT (see {@link VectorMath}).
 *
 * <p>Every element goes through the same full-width vector operation: the last partial vector is
 * copied into a padded buffer rather than finished by scalar code, so an element's value does not
 * depend on where it sits in the array (a window gets the same bits in any batch or shard).
 */
final class GeluVector {
  private GeluVector() {}

  private static final VectorSpecies<Double> SPECIES = DoubleVector.SPECIES_PREFERRED;
  private static final int LANES = SPECIES.length();
  private static final double C = Math.sqrt(2.0 / Math.PI);
  private static final double K = 0.044715;

  /** {@code y[i] = gelu(x[i])} for n elements (y may be x). */
  static void forward(double[] x, int xOff, double[] y, int yOff, int n) {
    int whole = n - n % LANES;
    for (int i = 0; i < whole; i += LANES) {
      forward(DoubleVector.fromArray(SPECIES, x, xOff + i)).intoArray(y, yOff + i);
    }
    if (whole < n) {
      double[] tail = new double[LANES]; // once per call, not per element
      System.arraycopy(x, xOff + whole, tail, 0, n - whole);
      forward(DoubleVector.fromArray(SPECIES, tail, 0)).intoArray(tail, 0);
      System.arraycopy(tail, 0, y, yOff + whole, n - whole);
    }
  }

  /** {@code dx[i] = gelu'(x[i]) · dy[i]} for n elements (dx may be dy). */
  static void backward(double[] x, int xOff, double[] dy, int dyOff, double[] dx, int dxOff, int n) {
    int whole = n - n % LANES;
    for (int i = 0; i < whole; i += LANES) {
      backward(DoubleVector.fromArray(SPECIES, x, xOff + i), DoubleVector.fromArray(SPECIES, dy, dyOff + i))
          .intoArray(dx, dxOff + i);
    }
    if (whole < n) {
      double[] tailX = new double[LANES];
      double[] tailDy = new double[LANES];
      System.arraycopy(x, xOff + whole, tailX, 0, n - whole);
      System.arraycopy(dy, dyOff + whole, tailDy, 0, n - whole);
      backward(DoubleVector.fromArray(SPECIES, tailX, 0), DoubleVector.fromArray(SPECIES, tailDy, 0))
          .intoArray(tailX, 0);
      System.arraycopy(tailX, 0, dx, dxOff + whole, n - whole);
    }
  }

  /** {@code 0.5 x (1 + t)}, {@code t = tanh(C (x + K x³))}: {@link Nonlinearity#gelu}'s order of operations. */
  private static DoubleVector forward(DoubleVector x) {
    DoubleVector t = tanh(inner(x));
    return x.mul(0.5).mul(t.add(1.0));
  }

  /** {@link Nonlinearity#geluDerivative}'s formula times dy. */
  private static DoubleVector backward(DoubleVector x, DoubleVector dy) {
    DoubleVector t = tanh(inner(x));
    DoubleVector slope = x.mul(0.5).mul(t.mul(t).neg().add(1.0)).mul(C).mul(x.mul(3.0 * K).mul(x).add(1.0));
    return t.add(1.0).mul(0.5).add(slope).mul(dy);
  }

  /** {@code sign(z) (1 − 2 / (e^{2|z|} + 1))}: ±1 beyond |z| ≈ 19, NaN stays NaN. */
  private static DoubleVector tanh(DoubleVector z) {
    DoubleVector a = z.abs();
    DoubleVector t = DoubleVector.broadcast(SPECIES, 2.0).div(VectorMath.exp(a.add(a)).add(1.0)).neg().add(1.0);
    return t.blend(t.neg(), z.compare(VectorOperators.LT, 0.0));
  }

  /** {@code C (x + K x³)}, multiplied as the scalar {@code GELU_C * (x + GELU_K * x * x * x)}. */
  private static DoubleVector inner(DoubleVector x) {
    return x.mul(K).mul(x).mul(x).add(x).mul(C);
  }
}
