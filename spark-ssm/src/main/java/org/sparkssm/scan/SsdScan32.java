package org.sparkssm.scan;

import org.sparkssm.Checks;

/**
 * The float32 chunked SSD algorithm behind {@link SsdScan#scan32}: the blocks, segment sums and
 * four terms of {@link SsdScan}'s class comment, with every product written as one primitive,
 * {@link #gemv32} ({@code out[w] = keep · out[w] + Σ_k a[k] m[k][w]}, lanes over w, a fused
 * multiply-add per k in order), or its float64 form {@link #gemv64}:
 * <ol>
 *   <li>{@code C Bᵀ} per group: row i is {@code C_i} times B of the block transposed to {@code [n][j]};</li>
 *   <li>the diagonal block: row i of {@code W = L ∘ C Bᵀ ⊙ Δ} ({@link #decayRow}) times the block's x;</li>
 *   <li>the incoming state's output: {@code decayIn_i C_i} times the state, held as {@code [n][p]};</li>
 *   <li>the state update: per n, the state row decayed by the block and plus
 *       {@code Σ_j decayOut_j B_j,n x_j}.</li>
 * </ol>
 * The segment sums run forward here: {@code seg(i, j) = seg(i-1, j) + ℓ_i} over the whole row (lanes
 * over j), still a running sum over exactly the segment, never a difference of prefix sums.
 *
 * <h2>Precision</h2>
 * Δ (softplus in {@link FloatMath}), {@code ℓ}, the decays ({@link FloatMath#exp}, within 1 ulp), the
 * weights W, {@code C Bᵀ}, the diagonal block, the skip term and y are float32. With a float32
 * state (FLOAT32) the state terms are float32 too. With a float64 state the state terms (3) and (4)
 * multiply and accumulate in float64, from the float32 decays and inputs widened exactly; their
 * contribution to y is rounded to float32 once per element.
 *
 * <h2>Paths</h2>
 * {@link SsdScan32Vector} holds the Vector API forms of {@link #gemv32}, {@link #gemv64} and
 * {@link #decayRow}: lanewise the same operations in the same order, so the two paths give the
 * same bits (the scalar code here is the reference twin; tails past the last full vector run it).
 * The state is transposed to {@code [h][n][p]} in the workspace for a call (O(H P N) against the
 * call's O(L H P N)), so that lanes run over the head dimension p in (3) and (4).
 */
final class SsdScan32 {
  private SsdScan32() {}

  /** A {@link SsdScan.Params}' A, Dskip and dtBias rounded to float32 once. Immutable once built. */
  static final class Float32 {
    final float[] a;
    final float[] dSkip; // null: none
    final float[] dtBias; // null: none

    Float32(double[] a64, double[] dSkip64, double[] dtBias64, int heads) {
      a = FloatMath.toFloat(a64, heads);
      for (int h = 0; h < heads; h++) {
        // A of -1e-50 or -1e50 is a valid double but -0 or -∞ in float: no decay, or NaN at Δ = 0.
        if (!(a[h] < 0f) || Float.isInfinite(a[h])) {
          Checks.fail("A: expected values that stay finite and < 0 in float32, got %s at head %d", a64[h], h);
        }
      }
      dSkip = FloatMath.toFloat(dSkip64, heads);
      dtBias = FloatMath.toFloat(dtBias64, heads);
    }
  }

  /**
   * The chunked scan over checked arguments, {@code 1 <= q <= length}; exactly one of
   * {@code state32} ({@code [h][p][n]} floats) and {@code state64} ({@code [h][p][n]} doubles) is
   * not null. {@code vector} picks the Vector API primitives (only when {@link VectorSupport#ENABLED}).
   */
  static void chunked(SsdScan.Params params, int length, int q, float[] x, int xOff, float[] dt, int dtOff,
      float[] B, int bOff, float[] C, int cOff, float[] y, int yOff, float[] state32, double[] state64,
      SsdScan.Workspace32 ws, boolean vector) {
    final int heads = params.heads();
    final int pDim = params.headDim();
    final int nDim = params.stateSize();
    final int groups = params.groups();
    final int headsPerGroup = heads / groups;
    final int hp = heads * pDim; // stride of x and y between steps
    final boolean wide = state64 != null;
    final Float32 f = params.float32();
    final boolean softplus = params.dtSoftplus();
    assert q >= 1 && q <= length && (state32 == null) == wide : "unchecked arguments; see SsdScan.scan32()";
    ws.ensure(params, q, wide);
    final float[] delta = ws.delta;
    final float[] bT = ws.bT;
    final float[] cb = ws.cb;
    final float[] deltaH = ws.deltaH;
    final float[] ell = ws.ell;
    final float[] decayIn = ws.decayIn;
    final float[] decayOut = ws.decayOut;

    // The state as [h][n][p] for the call: lanes over p in the state terms.
    if (wide) {
      transpose(state64, ws.state64, heads, pDim, nDim);
    } else {
      transpose(state32, ws.state32, heads, pDim, nDim);
    }

    for (int t0 = 0; t0 < length; t0 += q) {
      final int len = Math.min(q, length - t0);

      for (int i = 0; i < len; i++) {
        for (int h = 0; h < heads; h++) {
          float v = dt[dtOff + (t0 + i) * heads + h];
          if (f.dtBias != null) {
            v += f.dtBias[h];
          }
          delta[i * heads + h] = softplus ? FloatMath.softplus(v) : v;
        }
      }

      // (1) C Bᵀ once per group (its heads share it), from B transposed to [g][n][j].
      for (int g = 0; g < groups; g++) {
        int bTBase = g * nDim * q;
        for (int j = 0; j < len; j++) {
          int bRow = bOff + ((t0 + j) * groups + g) * nDim;
          for (int n = 0; n < nDim; n++) {
            bT[bTBase + n * q + j] = B[bRow + n];
          }
        }
        for (int i = 0; i < len; i++) {
          gemv32(vector, C, cOff + ((t0 + i) * groups + g) * nDim, nDim, bT, bTBase, q, cb, (g * q + i) * q, i + 1,
              false, 0f);
        }
      }

      for (int h = 0; h < heads; h++) {
        final int g = h / headsPerGroup;
        final float aH = f.a[h];
        final int xBlock = xOff + t0 * hp + h * pDim; // x[t0][h][0]; row j at + j * hp
        final int sHead = h * nDim * pDim; // the transposed state of head h, [n][p]

        float prefix = 0f;
        for (int i = 0; i < len; i++) {
          deltaH[i] = delta[i * heads + h];
          ell[i] = deltaH[i] * aH;
          prefix += ell[i];
          decayIn[i] = FloatMath.exp(prefix); // exp(seg(i, -1))
        }
        final float blockDecay = decayIn[len - 1];
        float suffix = 0f; // seg(len-1, j), summed backwards over exactly (j, len-1]
        for (int j = len - 1; j >= 0; j--) {
          decayOut[j] = FloatMath.exp(suffix) * deltaH[j];
          suffix += ell[j];
        }

        for (int i = 0; i < len; i++) {
          int yRow = yOff + (t0 + i) * hp + h * pDim;
          int cRowAt = cOff + ((t0 + i) * groups + g) * nDim;
          // (1) y_i = Σ_{j<=i} W[i][j] x_j
          decayRow(vector, ws.seg, ell[i], i, cb, (g * q + i) * q, deltaH, ws.w);
          gemv32(vector, ws.w, 0, i + 1, x, xBlock, hp, y, yRow, pDim, false, 0f);
          // (4) + decayIn_i C_i S_in
          if (wide) {
            double[] c64 = ws.cRow64;
            for (int n = 0; n < nDim; n++) {
              c64[n] = (double) decayIn[i] * C[cRowAt + n];
            }
            gemv64(vector, c64, 0, nDim, ws.state64, sHead, pDim, ws.cs64, 0, pDim, false, 0.0);
            for (int p = 0; p < pDim; p++) {
              y[yRow + p] += (float) ws.cs64[p];
            }
          } else {
            float[] c32 = ws.cRow;
            for (int n = 0; n < nDim; n++) {
              c32[n] = decayIn[i] * C[cRowAt + n];
            }
            gemv32(vector, c32, 0, nDim, ws.state32, sHead, pDim, y, yRow, pDim, true, 1f);
          }
          // + Dskip_h x_i
          if (f.dSkip != null) {
            gemv32(vector, f.dSkip, h, 1, x, xBlock + i * hp, 0, y, yRow, pDim, true, 1f);
          }
        }

        // (3) + (2): per n, S[n][·] ← blockDecay S[n][·] + Σ_j (decayOut_j B_j,n) x_j
        int bTBase = g * nDim * q;
        if (wide) {
          double[] x64 = ws.x64;
          for (int j = 0; j < len; j++) {
            for (int p = 0; p < pDim; p++) {
              x64[j * pDim + p] = x[xBlock + j * hp + p];
            }
          }
          for (int n = 0; n < nDim; n++) {
            for (int j = 0; j < len; j++) {
              ws.u64[j] = (double) decayOut[j] * bT[bTBase + n * q + j];
            }
            gemv64(vector, ws.u64, 0, len, x64, 0, pDim, ws.state64, sHead + n * pDim, pDim, true, blockDecay);
          }
        } else {
          float[] u = ws.u;
          for (int n = 0; n < nDim; n++) {
            for (int j = 0; j < len; j++) {
              u[n * q + j] = decayOut[j] * bT[bTBase + n * q + j];
            }
            gemv32(vector, u, n * q, len, x, xBlock, hp, ws.state32, sHead + n * pDim, pDim, true, blockDecay);
          }
        }
      }
    }

    if (wide) {
      transposeBack(ws.state64, state64, heads, pDim, nDim);
    } else {
      transposeBack(ws.state32, state32, heads, pDim, nDim);
    }
  }

  /**
   * {@code out[outOff + w] = (accumulate ? keep · out[outOff + w] : 0) + Σ_{k<count} a[aOff + k] ·
   * m[mOff + k·mStride + w]} for {@code w < width}, one fused multiply-add per k in increasing k.
   */
  static void gemv32(boolean vector, float[] a, int aOff, int count, float[] m, int mOff, int mStride, float[] out,
      int outOff, int width, boolean accumulate, float keep) {
    if (vector) {
      SsdScan32Vector.gemv32(a, aOff, count, m, mOff, mStride, out, outOff, width, accumulate, keep);
    } else {
      gemv32Scalar(a, aOff, count, m, mOff, mStride, out, outOff, width, accumulate, keep);
    }
  }

  /** The scalar twin of {@link SsdScan32Vector#gemv32} (and its tail). */
  static void gemv32Scalar(float[] a, int aOff, int count, float[] m, int mOff, int mStride, float[] out, int outOff,
      int width, boolean accumulate, float keep) {
    for (int w = 0; w < width; w++) {
      float acc = accumulate ? out[outOff + w] * keep : 0f;
      for (int k = 0; k < count; k++) {
        acc = Math.fma(a[aOff + k], m[mOff + k * mStride + w], acc);
      }
      out[outOff + w] = acc;
    }
  }

  /** {@link #gemv32} in float64. */
  static void gemv64(boolean vector, double[] a, int aOff, int count, double[] m, int mOff, int mStride,
      double[] out, int outOff, int width, boolean accumulate, double keep) {
    if (vector) {
      SsdScan32Vector.gemv64(a, aOff, count, m, mOff, mStride, out, outOff, width, accumulate, keep);
    } else {
      gemv64Scalar(a, aOff, count, m, mOff, mStride, out, outOff, width, accumulate, keep);
    }
  }

  /** The scalar twin of {@link SsdScan32Vector#gemv64} (and its tail). */
  static void gemv64Scalar(double[] a, int aOff, int count, double[] m, int mOff, int mStride, double[] out,
      int outOff, int width, boolean accumulate, double keep) {
    for (int w = 0; w < width; w++) {
      double acc = accumulate ? out[outOff + w] * keep : 0.0;
      for (int k = 0; k < count; k++) {
        acc = Math.fma(a[aOff + k], m[mOff + k * mStride + w], acc);
      }
      out[outOff + w] = acc;
    }
  }

  /**
   * Row i of the diagonal block's weights: advances {@code seg[j] = seg(i, j)} from row i-1 by
   * {@code ell_i} for {@code j < i}, sets {@code seg[i] = 0}, and writes
   * {@code w[j] = exp(seg[j]) · cb[cbOff + j] · Δ_j} for {@code j <= i}.
   */
  static void decayRow(boolean vector, float[] seg, float ellI, int i, float[] cb, int cbOff, float[] deltaH,
      float[] w) {
    if (vector) {
      SsdScan32Vector.decayRow(seg, ellI, i, cb, cbOff, deltaH, w);
    } else {
      decayRowScalar(seg, ellI, 0, i, cb, cbOff, deltaH, w);
    }
    seg[i] = 0f;
    w[i] = FloatMath.exp(0f) * cb[cbOff + i] * deltaH[i];
  }

  /** {@link #decayRow} for {@code from <= j < i}: the scalar twin of the vector path and its tail. */
  static void decayRowScalar(float[] seg, float ellI, int from, int i, float[] cb, int cbOff, float[] deltaH,
      float[] w) {
    for (int j = from; j < i; j++) {
      float s = seg[j] + ellI;
      seg[j] = s;
      w[j] = FloatMath.exp(s) * cb[cbOff + j] * deltaH[j];
    }
  }

  /** {@code to[(h*N + n)*P + p] = from[(h*P + p)*N + n]}: the state to lanes over p. */
  private static void transpose(float[] from, float[] to, int heads, int pDim, int nDim) {
    for (int h = 0; h < heads; h++) {
      int base = h * pDim * nDim;
      for (int p = 0; p < pDim; p++) {
        for (int n = 0; n < nDim; n++) {
          to[base + n * pDim + p] = from[base + p * nDim + n];
        }
      }
    }
  }

  private static void transpose(double[] from, double[] to, int heads, int pDim, int nDim) {
    for (int h = 0; h < heads; h++) {
      int base = h * pDim * nDim;
      for (int p = 0; p < pDim; p++) {
        for (int n = 0; n < nDim; n++) {
          to[base + n * pDim + p] = from[base + p * nDim + n];
        }
      }
    }
  }

  /** The inverse of {@link #transpose}: back to the caller's {@code [h][p][n]}. */
  private static void transposeBack(float[] from, float[] to, int heads, int pDim, int nDim) {
    for (int h = 0; h < heads; h++) {
      int base = h * pDim * nDim;
      for (int p = 0; p < pDim; p++) {
        for (int n = 0; n < nDim; n++) {
          to[base + p * nDim + n] = from[base + n * pDim + p];
        }
      }
    }
  }

  private static void transposeBack(double[] from, double[] to, int heads, int pDim, int nDim) {
    for (int h = 0; h < heads; h++) {
      int base = h * pDim * nDim;
      for (int p = 0; p < pDim; p++) {
        for (int n = 0; n < nDim; n++) {
          to[base + p * nDim + n] = from[base + n * pDim + p];
        }
      }
    }
  }
}
