package org.sparkssm.discretize;

import org.sparkssm.Checks;
import org.sparkssm.linalg.Expm;
import org.sparkssm.linalg.Lu;

/**
 * Discretization of continuous state-space systems {@code x' = A x + B u} into
 * {@code h_t = Ā h_{t-1} + B̄ u_t} for a step Δ (see {@link Discretization} for the rules).
 *
 * <p>Two forms: {@link #diagonal} for a diagonal A (real or complex, S4D/LRU/Mamba style, computed
 * element by element) and {@link #dense} for a dense A (HiPPO, S5 before diagonalization). For scan
 * kernels whose Δ changes every step (irregular timestamps, Mamba's input-dependent Δ) the scalar
 * per-element functions {@link #abar(Discretization, double, double)},
 * {@link #bbarScale(Discretization, double, double)} and {@link #diagonalStep} compute one element
 * without allocating or validating, for use inside the kernel's loop.
 */
public final class Discretize {
  private Discretize() {}

  /**
   * Below this |Δa| the complex ZOH factor (e^z - 1)/z is taken from its Taylor series: the
   * truncation error |z|^4/120 is then below 1e-18, while the closed form would divide two tiny
   * numbers.
   */
  private static final double SERIES_BELOW = 1e-4;

  /**
   * Discretizes a diagonal system element-wise, {@code Ā_i = f(Δ a_i)}, {@code B̄_i = g(Δ, a_i) b_i}:
   * <ul>
   *   <li>ZOH: {@code Ā = exp(Δa)}, {@code B̄ = (exp(Δa) - 1)/a · b}, evaluated as
   *       {@code Δ · φ(Δa) · b} with {@code φ(z) = (e^z - 1)/z} (expm1-based, series near 0), so
   *       {@code a → 0} gives {@code B̄ = Δ b} without cancellation;</li>
   *   <li>BILINEAR: {@code Ā = (1 + Δa/2)/(1 - Δa/2)}, {@code B̄ = Δ/(1 - Δa/2) · b};</li>
   *   <li>MAMBA: {@code Ā = exp(Δa)}, {@code B̄ = Δ b}.</li>
   * </ul>
   * Complex values are split into re/im arrays of the same layout (any layout: the operation is
   * element-wise, e.g. {@code [d * N + n]}). A real system passes {@code aIm == null}; then
   * {@code abarIm} may be null (if given it is filled with zeros). {@code bIm == null} means a real
   * b. {@code bbarIm} is required when a or b is complex and optional otherwise.
   *
   * @param method the rule
   * @param dt the step Δ, finite and {@code > 0}
   * @param aRe real parts of the diagonal of A, length n
   * @param aIm imaginary parts of A (length n) or null for a real A
   * @param bRe real parts of b (length n)
   * @param bIm imaginary parts of b (length n) or null for a real b
   * @param abarRe output: real parts of Ā (length n)
   * @param abarIm output: imaginary parts of Ā (length n); required when aIm is given
   * @param bbarRe output: real parts of B̄ (length n)
   * @param bbarIm output: imaginary parts of B̄ (length n); required when aIm or bIm is given
   * @throws IllegalArgumentException naming the argument on a bad Δ, length, missing output or
   *     non-finite parameter
   */
  public static void diagonal(Discretization method, double dt, double[] aRe, double[] aIm,
      double[] bRe, double[] bIm, double[] abarRe, double[] abarIm, double[] bbarRe, double[] bbarIm) {
    Checks.notNull("method", method);
    Checks.positiveFinite("dt", dt);
    Checks.allFinite("aRe", aRe);
    int n = aRe.length;
    String shape = "n = " + n + ", the length of aRe";
    if (aIm != null) {
      Checks.length("aIm", aIm, n, shape);
      Checks.allFinite("aIm", aIm);
    }
    Checks.length("bRe", bRe, n, shape);
    Checks.allFinite("bRe", bRe);
    if (bIm != null) {
      Checks.length("bIm", bIm, n, shape);
      Checks.allFinite("bIm", bIm);
    }
    Checks.length("abarRe", abarRe, n, shape);
    Checks.length("bbarRe", bbarRe, n, shape);
    if (aIm != null) {
      Checks.length("abarIm", abarIm, n, shape + " (A is complex)");
    } else if (abarIm != null) {
      Checks.length("abarIm", abarIm, n, shape);
    }
    if (aIm != null || bIm != null) {
      Checks.length("bbarIm", bbarIm, n, shape + " (A or b is complex)");
    } else if (bbarIm != null) {
      Checks.length("bbarIm", bbarIm, n, shape);
    }
    if (method == Discretization.BILINEAR) {
      for (int i = 0; i < n; i++) {
        if (0.5 * dt * aRe[i] == 1.0 && (aIm == null || aIm[i] == 0)) {
          Checks.fail("aRe: expected 1 - dt*a/2 != 0 for the bilinear rule, got a = %s with dt = %s at index %d",
              aRe[i], dt, i);
        }
      }
    }

    double[] out = new double[4];
    for (int i = 0; i < n; i++) {
      double ai = aIm == null ? 0 : aIm[i];
      double bi = bIm == null ? 0 : bIm[i];
      diagonalStep(method, dt, aRe[i], ai, out, 0);
      double br = bRe[i];
      abarRe[i] = out[0];
      if (abarIm != null) {
        abarIm[i] = out[1];
      }
      bbarRe[i] = out[2] * br - out[3] * bi;
      if (bbarIm != null) {
        bbarIm[i] = out[2] * bi + out[3] * br;
      }
    }
  }

  /**
   * One element of a complex diagonal discretization, allocation-free and unvalidated, for scan
   * loops with a per-step Δ: writes {@code out[off] = Re Ā}, {@code out[off+1] = Im Ā},
   * {@code out[off+2] = Re s}, {@code out[off+3] = Im s}, where {@code B̄ = s · b} (complex product):
   * ZOH {@code Ā = e^{Δa}, s = (e^{Δa} - 1)/a}; BILINEAR {@code Ā = (1 + Δa/2)/(1 - Δa/2),
   * s = Δ/(1 - Δa/2)}; MAMBA {@code Ā = e^{Δa}, s = Δ}. The caller guarantees a finite
   * {@code dt > 0} and finite a (checked only by {@code assert}).
   *
   * @param method the rule
   * @param dt this step's Δ
   * @param aRe real part of a
   * @param aIm imaginary part of a (0 for a real a)
   * @param out receives Ā and s at {@code out[off .. off+3]}
   * @param off offset into {@code out}
   */
  public static void diagonalStep(Discretization method, double dt, double aRe, double aIm,
      double[] out, int off) {
    assert dt > 0 && Double.isFinite(dt) : "dt must be finite and > 0";
    double zr = dt * aRe;
    double zi = dt * aIm;
    switch (method) {
      case ZOH:
      case MAMBA: {
        double ex = Math.exp(zr);
        out[off] = ex * Math.cos(zi);
        out[off + 1] = ex * Math.sin(zi);
        if (method == Discretization.MAMBA) {
          out[off + 2] = dt;
          out[off + 3] = 0;
        } else {
          phi1(zr, zi, out, off + 2);
          out[off + 2] *= dt;
          out[off + 3] *= dt;
        }
        break;
      }
      case BILINEAR: {
        // Ā = (1 + z/2)/(1 - z/2), s = Δ/(1 - z/2): multiply by the conjugate of the denominator.
        double dr = 1 - 0.5 * zr;
        double di = -0.5 * zi;
        double inv = 1.0 / (dr * dr + di * di);
        double nr = 1 + 0.5 * zr;
        double ni = 0.5 * zi;
        out[off] = (nr * dr + ni * di) * inv;
        out[off + 1] = (ni * dr - nr * di) * inv;
        out[off + 2] = dt * dr * inv;
        out[off + 3] = -dt * di * inv;
        break;
      }
      default:
        throw new AssertionError(method);
    }
  }

  /**
   * Ā of one real diagonal element for a per-step Δ (unvalidated, allocation-free): ZOH and MAMBA
   * {@code exp(Δa)}, BILINEAR {@code (1 + Δa/2)/(1 - Δa/2)}.
   */
  public static double abar(Discretization method, double dt, double a) {
    assert dt > 0 && Double.isFinite(dt) : "dt must be finite and > 0";
    double z = dt * a;
    switch (method) {
      case ZOH:
      case MAMBA:
        return Math.exp(z);
      case BILINEAR:
        return (1 + 0.5 * z) / (1 - 0.5 * z);
      default:
        throw new AssertionError(method);
    }
  }

  /**
   * The factor s with {@code B̄ = s · b} for one real diagonal element and a per-step Δ
   * (unvalidated, allocation-free): ZOH {@code (exp(Δa) - 1)/a = Δ · expm1(Δa)/(Δa)} (Δ when
   * a = 0), BILINEAR {@code Δ/(1 - Δa/2)}, MAMBA {@code Δ}.
   */
  public static double bbarScale(Discretization method, double dt, double a) {
    assert dt > 0 && Double.isFinite(dt) : "dt must be finite and > 0";
    double z = dt * a;
    switch (method) {
      case ZOH:
        // expm1 keeps full relative accuracy for tiny z, where (exp(z) - 1) would cancel.
        return z == 0 ? dt : dt * (Math.expm1(z) / z);
      case BILINEAR:
        return dt / (1 - 0.5 * z);
      case MAMBA:
        return dt;
      default:
        throw new AssertionError(method);
    }
  }

  /** φ(z) = (e^z - 1)/z for complex z = zr + i zi, into out[off], out[off+1]. */
  private static void phi1(double zr, double zi, double[] out, int off) {
    double mod2 = zr * zr + zi * zi;
    if (mod2 < SERIES_BELOW * SERIES_BELOW) {
      // 1 + z/2 + z²/6 + z³/24 by Horner in complex arithmetic, unrolled (no allocation).
      double pr = 1.0 / 6 + zr / 24;
      double pi = zi / 24;
      double tr = pr * zr - pi * zi + 0.5;
      double ti = pr * zi + pi * zr;
      pr = tr * zr - ti * zi + 1.0;
      pi = tr * zi + ti * zr;
      out[off] = pr;
      out[off + 1] = pi;
      return;
    }
    // e^z - 1 = (e^x cos y - 1) + i e^x sin y, with e^x cos y - 1 = expm1(x) cos y - 2 sin²(y/2)
    // so neither part cancels catastrophically for small x, y.
    double sh = Math.sin(0.5 * zi);
    double nr = Math.expm1(zr) * Math.cos(zi) - 2 * sh * sh;
    double ni = Math.exp(zr) * Math.sin(zi);
    out[off] = (nr * zr + ni * zi) / mod2;
    out[off + 1] = (ni * zr - nr * zi) / mod2;
  }

  /**
   * Discretizes a dense system {@code x' = A x + B u}:
   * <ul>
   *   <li>ZOH: {@code exp([[A, B], [0, 0]] Δ) = [[Ā, B̄], [0, I]]}, the augmented (n+m)×(n+m)
   *       matrix exponential, which needs no inverse of A (works for singular A);</li>
   *   <li>BILINEAR: {@code Ā = (I - ΔA/2)^{-1}(I + ΔA/2)}, {@code B̄ = (I - ΔA/2)^{-1} Δ B}, by LU
   *       solves;</li>
   *   <li>MAMBA: {@code Ā = exp(ΔA)}, {@code B̄ = Δ B}.</li>
   * </ul>
   *
   * @param method the rule
   * @param dt the step Δ, finite and {@code > 0}
   * @param a A, n×n row-major {@code a[i * n + j]}
   * @param n the state size, {@code >= 1}
   * @param b B, n×m row-major {@code b[i * m + k]}
   * @param m the input size, {@code >= 1}
   * @param abar output Ā, n×n row-major
   * @param bbar output B̄, n×m row-major
   * @throws IllegalArgumentException naming the argument on a bad Δ, shape or non-finite entry,
   *     or naming {@code I - dt*A/2} when it is singular (BILINEAR)
   */
  public static void dense(Discretization method, double dt, double[] a, int n, double[] b, int m,
      double[] abar, double[] bbar) {
    Checks.notNull("method", method);
    Checks.positiveFinite("dt", dt);
    Checks.positive("n", n);
    Checks.positive("m", m);
    String nn = "n*n = " + n + "*" + n;
    String nm = "n*m = " + n + "*" + m;
    Checks.length("A", a, n * n, nn);
    Checks.allFinite("A", a);
    Checks.length("B", b, n * m, nm);
    Checks.allFinite("B", b);
    Checks.length("abar", abar, n * n, nn);
    Checks.length("bbar", bbar, n * m, nm);
    switch (method) {
      case ZOH: {
        int k = n + m;
        double[] aug = new double[k * k];
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < n; j++) {
            aug[i * k + j] = dt * a[i * n + j];
          }
          for (int j = 0; j < m; j++) {
            aug[i * k + n + j] = dt * b[i * m + j];
          }
        }
        double[] e = Expm.expm(aug, k);
        for (int i = 0; i < n; i++) {
          System.arraycopy(e, i * k, abar, i * n, n);
          System.arraycopy(e, i * k + n, bbar, i * m, m);
        }
        break;
      }
      case BILINEAR: {
        double[] lhs = new double[n * n];
        double[] rhs = new double[n * (n + m)]; // [I + ΔA/2 | ΔB], solved together
        int w = n + m;
        for (int i = 0; i < n; i++) {
          for (int j = 0; j < n; j++) {
            double h = 0.5 * dt * a[i * n + j];
            lhs[i * n + j] = (i == j ? 1 : 0) - h;
            rhs[i * w + j] = (i == j ? 1 : 0) + h;
          }
          for (int j = 0; j < m; j++) {
            rhs[i * w + n + j] = dt * b[i * m + j];
          }
        }
        double[] x = Lu.solve("I - dt*A/2", lhs, n, rhs, w);
        for (int i = 0; i < n; i++) {
          System.arraycopy(x, i * w, abar, i * n, n);
          System.arraycopy(x, i * w + n, bbar, i * m, m);
        }
        break;
      }
      case MAMBA: {
        double[] scaled = new double[n * n];
        for (int i = 0; i < n * n; i++) {
          scaled[i] = dt * a[i];
        }
        System.arraycopy(Expm.expm(scaled, n), 0, abar, 0, n * n);
        for (int i = 0; i < n * m; i++) {
          bbar[i] = dt * b[i];
        }
        break;
      }
      default:
        throw new AssertionError(method);
    }
  }
}
