package org.sparkssm.nn;

import org.sparkssm.scan.FloatMath;

/**
 * The float32 compute of {@link SelectiveScanGrad}, scalar: the reference twin of
 * {@code SelectiveScanGradVector32}, and the path itself without the Vector API or for groups
 * narrower than a vector. The equations are {@link SelectiveScanGrad}'s; every operation here is a
 * float32 IEEE operation ({@link Math#fma(float, float, float)} where written), {@code exp},
 * softplus, σ and SiLU are {@link FloatMath}'s, so a result does not depend on the JIT.
 *
 * <p>The kernels read and write the float copies in a {@link Work} (the tape's float32 scratch):
 * {@link SelectiveScanGrad} rounds the double inputs and parameters into it once per call and
 * widens the outputs back. Per channel the work is in {@link #forwardChannel},
 * {@link #recomputeChannel} and {@link #adjointChannel}, which read the state-shaped arrays (A,
 * h, Ā, the adjoint, gA) at {@code off + n * stride}: stride 1 in this path's {@code [d * N + n]},
 * stride D in the vector path's {@code [n * D + d]}, whose tail channels call them. Per step, the
 * per-channel scalars (Δ and softplus', the gate factors) come from the row functions
 * ({@link #stepRow}, {@link #softplusDerivativeRow}, {@link #gateRow}), which the vector path
 * mirrors lanewise. Every lane of the
 * vector path therefore gives this path's bits, except in dB and dC: those sum over a group's
 * channels, channel by channel here, lane by lane there.
 *
 * <p>Accumulation: within one call of {@link #reverse} (at most one chunk of steps) gA, gD and
 * gbias add up in float32 in the work's {@code gA, gD, gBias}; {@link SelectiveScanGrad} adds them
 * into its double {@code gp} after every chunk, so a long sequence does not drift.
 */
final class SelectiveScanGrad32 {
  private SelectiveScanGrad32() {}

  /**
   * The float32 scratch of a float32 {@link SelectiveScanGrad.Tape}: allocated once with the tape,
   * at its largest batch and length, and reused by every call.
   */
  static final class Work {
    final float[] u; // (b, t, D): the tape's inputs rounded
    final float[] delta;
    final float[] z;
    final float[] dy;
    final float[] B; // (b, t, G, N)
    final float[] C;
    final float[] y; // (b, t, D): outputs before widening into the tape
    final float[] du;
    final float[] dDelta;
    final float[] dz;
    final float[] dB; // (b, t, G, N)
    final float[] dC;
    final float[] a; // (D, N) or, on the vector path, (N, D): A rounded
    final float[] dSkip; // (D)
    final float[] bias; // (D)
    final float[] gA; // gA of one call, in a's layout
    final float[] gD; // (D)
    final float[] gBias; // (D)
    final float[] states; // (b, chunk index, D·N): the state before each chunk, in a's layout
    final float[] h; // (D·N): the forward's running state
    final float[] gh; // (D·N): the backward's carried adjoint
    final float[] hs; // (chunk, D·N): a chunk's recomputed states
    final float[] abar; // (chunk, D·N): its Ā
    final float[] dt; // (chunk, D): Δ (the forward uses row 0)
    final float[] dsp; // (chunk, D): softplus'(δ + bias)
    final float[] dy0; // (D): dy · silu(z) of one step
    final float[] gate; // (D): dy · silu'(z) of one step
    final float[] bLanes; // (N, lanes): per-lane partial sums of dB (vector path)
    final float[] cLanes; // (N, lanes): of dC
    /** Δ in [0, clampFree] keeps every |Δ·A| of the call below 81, inside exp's clamps (set with a). */
    float clampFree;

    Work(int D, int N, int G, int chunk, int batch, int len, int lanes) {
      int sd = batch * len * D;
      int sg = batch * len * G * N;
      int dn = D * N;
      int work = Math.min(chunk, len);
      u = new float[sd];
      delta = new float[sd];
      z = new float[sd];
      dy = new float[sd];
      y = new float[sd];
      du = new float[sd];
      dDelta = new float[sd];
      dz = new float[sd];
      B = new float[sg];
      C = new float[sg];
      dB = new float[sg];
      dC = new float[sg];
      a = new float[dn];
      dSkip = new float[D];
      bias = new float[D];
      gA = new float[dn];
      gD = new float[D];
      gBias = new float[D];
      states = new float[batch * ((len + chunk - 1) / chunk) * dn];
      h = new float[dn];
      gh = new float[dn];
      hs = new float[work * dn];
      abar = new float[work * dn];
      dt = new float[work * D];
      dsp = new float[work * D];
      dy0 = new float[D];
      gate = new float[D];
      bLanes = new float[N * lanes];
      cLanes = new float[N * lanes];
    }
  }

  /** {@code dt[dtOff + d] = softplus(δ + bias)} for channels {@code [from, to)} of the step at {@code row}. */
  static void stepRow(Work w, int row, float[] dt, int dtOff, int from, int to) {
    for (int d = from; d < to; d++) {
      dt[dtOff + d] = FloatMath.softplus(w.delta[row + d] + w.bias[d]);
    }
  }

  /** {@code dsp[off + d] = softplus'(δ + bias)} for channels {@code [from, to)} of the step at {@code row}. */
  static void softplusDerivativeRow(Work w, int row, float[] dsp, int off, int from, int to) {
    for (int d = from; d < to; d++) {
      dsp[off + d] = FloatMath.softplusDerivative(w.delta[row + d] + w.bias[d]);
    }
  }

  /** {@code y[row + d] *= silu(z[row + d])} for channels {@code [from, to)}: the forward's gate. */
  static void gateOutput(Work w, int row, int from, int to) {
    for (int d = from; d < to; d++) {
      w.y[row + d] *= FloatMath.silu(w.z[row + d]);
    }
  }

  /**
   * The gate's backward factors of the step at {@code row}, channels {@code [from, to)}:
   * {@code dy0 = dy · silu(z)} (the gradient of y before the gate) and
   * {@code gate = dy · silu'(z)}, {@code silu'(z) = σ(z) (1 + z (1 − σ(z)))} (dz is gate · y0).
   * Both from one σ(z): silu(z) here is {@code z · σ(z)}, within an ulp or two of the forward's
   * {@code z / (1 + e^{−z})}.
   */
  static void gateRow(Work w, int row, int from, int to) {
    for (int d = from; d < to; d++) {
      float zt = w.z[row + d];
      float dyt = w.dy[row + d];
      float sig = FloatMath.sigmoid(zt);
      w.dy0[d] = dyt * (zt * sig);
      w.gate[d] = dyt * (sig * Math.fma(zt, 1f - sig, 1f));
    }
  }

  /**
   * One forward step of channel d: for each n {@code h ← fma(exp(Δ·A), h, (Δ·u)·B)} and
   * {@code y0 ← fma(h, C, y0)}, then {@code y0 ← fma(u, Dskip, y0)}; returns y0 (before the gate).
   * State at {@code h[hOff + n * stride]}, A at {@code a[aOff + n * stride]}.
   */
  static float forwardChannel(Work w, int d, int row, int bc, int N, float dt, float[] h, int hOff, int aOff,
      int stride) {
    final float[] a = w.a;
    final float[] Bm = w.B;
    final float[] Cm = w.C;
    float ut = w.u[row + d];
    float dtu = dt * ut; // Δ·u is shared by every n; B varies.
    float acc = 0f;
    for (int n = 0; n < N; n++) {
      int at = n * stride;
      float hn = Math.fma(FloatMath.exp(dt * a[aOff + at]), h[hOff + at], dtu * Bm[bc + n]);
      h[hOff + at] = hn;
      acc = Math.fma(hn, Cm[bc + n], acc);
    }
    return Math.fma(ut, w.dSkip[d], acc);
  }

  /**
   * The backward's recomputation of one step of channel d, with {@link #forwardChannel}'s
   * operations (so the states are the forward's bits): {@code Ā = exp(Δ·A)} into
   * {@code abar[hOff + n * stride]}, {@code h = fma(Ā, prev, (Δ·u)·B)} into {@code hs[hOff + ..]}.
   */
  static void recomputeChannel(Work w, int d, int row, int bc, int N, float dt, float[] prev, int pOff, int hOff,
      int aOff, int stride) {
    final float[] a = w.a;
    final float[] Bm = w.B;
    final float[] hs = w.hs;
    final float[] abar = w.abar;
    float dtu = dt * w.u[row + d];
    for (int n = 0; n < N; n++) {
      int at = n * stride;
      float ab = FloatMath.exp(dt * a[aOff + at]);
      abar[hOff + at] = ab;
      hs[hOff + at] = Math.fma(ab, prev[pOff + at], dtu * Bm[bc + n]);
    }
  }

  /**
   * The adjoint of one step of channel d ({@link SelectiveScanGrad}'s equations): reads
   * {@code g_{t+1}}-carried {@code gh[ghOff + n * stride]} and leaves {@code Ā_t g_t} there; writes
   * du, dδ, dz of the step; adds into dB, dC (rows {@code bc}) and the call's gA (at
   * {@code aOff + n * stride}), gD, gbias. The step's state and Ā at {@code hOff}, the state before
   * it at {@code prev[pOff ..]}; Δ and softplus' at {@code tl * D + d}.
   */
  static void adjointChannel(Work w, int D, int d, int row, int bc, int N, int tl, float[] prev, int pOff, int hOff,
      int ghOff, int aOff, int stride) {
    final float[] a = w.a;
    final float[] Bm = w.B;
    final float[] Cm = w.C;
    final float[] dB = w.dB;
    final float[] dC = w.dC;
    final float[] hs = w.hs;
    final float[] abar = w.abar;
    final float[] gh = w.gh;
    final float[] gA = w.gA;
    float dy0 = w.dy0[d];
    float ut = w.u[row + d];
    float dt = w.dt[tl * D + d];
    float dtu = dt * ut;
    float y0 = 0f;
    float gDelta = 0f;
    float gBu = 0f; // Σ_n g B
    for (int n = 0; n < N; n++) {
      int at = n * stride;
      float hn = hs[hOff + at];
      float ab = abar[hOff + at];
      float cn = Cm[bc + n];
      float gn = Math.fma(dy0, cn, gh[ghOff + at]); // g_t = dy0 C_t + Ā_{t+1} g_{t+1}
      y0 = Math.fma(hn, cn, y0);
      dC[bc + n] = Math.fma(dy0, hn, dC[bc + n]);
      float gaa = gn * prev[pOff + at] * ab; // gĀ_t Ā_t
      gDelta = Math.fma(gaa, a[aOff + at], gDelta);
      gA[aOff + at] = Math.fma(gaa, dt, gA[aOff + at]);
      dB[bc + n] = Math.fma(gn, dtu, dB[bc + n]);
      gBu = Math.fma(gn, Bm[bc + n], gBu);
      gh[ghOff + at] = ab * gn; // ∂L/∂h_{t-1} through h_t
    }
    float dSkipD = w.dSkip[d];
    y0 = Math.fma(ut, dSkipD, y0);
    w.dz[row + d] = w.gate[d] * y0;
    w.gD[d] = Math.fma(dy0, ut, w.gD[d]);
    w.du[row + d] = Math.fma(dt, gBu, dy0 * dSkipD);
    gDelta = Math.fma(gBu, ut, gDelta); // Σ_n g B u
    float gd = gDelta * w.dsp[tl * D + d];
    w.dDelta[row + d] = gd;
    w.gBias[d] += gd;
  }

  /** The forward over steps [t0, t1) of sequence b, state {@code h[hOff + d * N + n]} in and out; unchecked. */
  static void steps(int D, int N, int G, Work w, int len, int b, int t0, int t1, float[] h, int hOff) {
    final int perGroup = D / G;
    for (int t = t0; t < t1; t++) {
      int row = (b * len + t) * D;
      stepRow(w, row, w.dt, 0, 0, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          w.y[row + d] = forwardChannel(w, d, row, bc, N, w.dt[d], h, hOff + d * N, d * N, 1);
        }
      }
      gateOutput(w, row, 0, D);
    }
  }

  /**
   * The backward over steps [t0, t1) of sequence b (at most a chunk), from the state
   * {@code h0[h0Off + d * N + n]} before them and the carried adjoint {@code w.gh} (in and out);
   * adds into the work's gA, gD, gBias. Unchecked.
   */
  static void reverse(int D, int N, int G, Work w, int len, int b, int t0, int t1, float[] h0, int h0Off) {
    final int dn = D * N;
    final int perGroup = D / G;
    // 1. Recompute the piece's states and Ā from h0, with the forward's operations.
    for (int t = t0; t < t1; t++) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      float[] prev = tl == 0 ? h0 : w.hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      stepRow(w, row, w.dt, tl * D, 0, D);
      softplusDerivativeRow(w, row, w.dsp, tl * D, 0, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          recomputeChannel(w, d, row, bc, N, w.dt[tl * D + d], prev, pBase + d * N, tl * dn + d * N, d * N, 1);
        }
      }
    }
    // 2. The adjoint from the last step down; w.gh holds ∂L/∂h_t from the later steps.
    for (int t = t1 - 1; t >= t0; t--) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      float[] prev = tl == 0 ? h0 : w.hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      gateRow(w, row, 0, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        java.util.Arrays.fill(w.dB, bc, bc + N, 0f); // the group's channels add into them
        java.util.Arrays.fill(w.dC, bc, bc + N, 0f);
        for (int d = g * perGroup; d < (g + 1) * perGroup; d++) {
          adjointChannel(w, D, d, row, bc, N, tl, prev, pBase + d * N, tl * dn + d * N, d * N, d * N, 1);
        }
      }
    }
  }
}
