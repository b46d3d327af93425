package org.sparkssm.nn;

/**
 * Element-wise activations with their derivatives. {@code GELU} is PyTorch's
 * {@code gelu(approximate='tanh')}: {@code 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))}, whose
 * derivative is exact in closed form (the erf form would need an erf the JDK lacks). Its tanh is
 * {@link #tanh}, not {@code Math.tanh}.
 */
public enum Nonlinearity {
  IDENTITY, RELU, SILU, GELU;

  private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
  private static final double GELU_K = 0.044715;

  /** {@code y[i] = f(x[i])} for n elements (y may be x). */
  public void forward(double[] x, int xOff, double[] y, int yOff, int n) {
    switch (this) {
      case IDENTITY:
        if (x != y || xOff != yOff) {
          System.arraycopy(x, xOff, y, yOff, n);
        }
        break;
      case RELU:
        for (int i = 0; i < n; i++) {
          double v = x[xOff + i];
          y[yOff + i] = v > 0 ? v : 0.0;
        }
        break;
      case SILU:
        for (int i = 0; i < n; i++) {
          y[yOff + i] = silu(x[xOff + i]);
        }
        break;
      default:
        for (int i = 0; i < n; i++) {
          y[yOff + i] = gelu(x[xOff + i]);
        }
        break;
    }
  }

  /** {@code dx[i] = f'(x[i]) · dy[i]} for n elements; x is the forward's input; dx may be dy. */
  public void backward(double[] x, int xOff, double[] dy, int dyOff, double[] dx, int dxOff, int n) {
    switch (this) {
      case IDENTITY:
        if (dy != dx || dyOff != dxOff) {
          System.arraycopy(dy, dyOff, dx, dxOff, n);
        }
        break;
      case RELU:
        for (int i = 0; i < n; i++) {
          dx[dxOff + i] = x[xOff + i] > 0 ? dy[dyOff + i] : 0.0;
        }
        break;
      case SILU:
        for (int i = 0; i < n; i++) {
          dx[dxOff + i] = siluDerivative(x[xOff + i]) * dy[dyOff + i];
        }
        break;
      default:
        for (int i = 0; i < n; i++) {
          dx[dxOff + i] = geluDerivative(x[xOff + i]) * dy[dyOff + i];
        }
        break;
    }
  }

  /** {@code silu(x) = x σ(x)}. */
  public static double silu(double x) {
    return x / (1.0 + Math.exp(-x));
  }

  /** {@code silu'(x) = σ(x) (1 + x (1 - σ(x)))}. */
  public static double siluDerivative(double x) {
    double s = 1.0 / (1.0 + Math.exp(-x));
    return s * (1.0 + x * (1.0 - s));
  }

  public static double gelu(double x) {
    return 0.5 * x * (1.0 + tanh(GELU_C * (x + GELU_K * x * x * x)));
  }

  public static double geluDerivative(double x) {
    double t = tanh(GELU_C * (x + GELU_K * x * x * x));
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_K * x * x);
  }

  /**
   * {@code tanh z = sign(z) (1 − 2 / (e^{2|z|} + 1))}, within a few ulps of 1 in absolute terms
   * (what GELU's {@code 1 + tanh} and {@code 1 − tanh²} see; near 0 its relative error is larger
   * than {@code Math.tanh}'s). Why: on JDK 17 {@code Math.tanh} is a native {@code StrictMath} call
   * of about 20 ns, and the GELUs of one {@code s4dnet} training step call it 8 M times;
   * {@code Math.exp} is an intrinsic in the interpreter and both compilers alike, so the result
   * does not depend on the JIT.
   */
  static double tanh(double z) {
    double a = Math.abs(z);
    double t = 1.0 - 2.0 / (Math.exp(a + a) + 1.0);
    return z < 0 ? -t : t;
  }

  /** {@code softplus(x) = log(1 + e^x)}, torch's threshold: x itself above 20. */
  public static double softplus(double x) {
    return x > 20.0 ? x : Math.log1p(Math.exp(x));
  }

  /** {@code softplus'(x) = σ(x)}; 1 above the threshold, as torch's backward. */
  public static double softplusDerivative(double x) {
    return x > 20.0 ? 1.0 : 1.0 / (1.0 + Math.exp(-x));
  }
}
