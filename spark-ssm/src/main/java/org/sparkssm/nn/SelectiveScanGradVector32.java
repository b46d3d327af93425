package org.sparkssm.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.sparkssm.scan.VectorMath;

/**
 * The Vector API path of {@link SelectiveScanGrad}'s float32 mode; only loaded when
 * {@link org.sparkssm.scan.VectorSupport#ENABLED}. The lanewise form of {@link SelectiveScanGrad32},
 * operation for operation (its {@code FloatVector} functions are {@link VectorMath}'s twins of
 * {@link org.sparkssm.scan.FloatMath}'s), laid out as the float64 {@code SelectiveScanGradVector}:
 * lanes over channels d (16 floats on AVX-512), every (n, d) array as {@code [n * D + d]}, B and C
 * broadcast, the per-channel sums over n in registers. Channels of a group past its last full vector
 * run the scalar twin's channel functions with stride D. Every lane gives the scalar path's bits,
 * except in dB and dC: their sums over d accumulate per lane in {@code N × lanes} scratch and are
 * added left to right at the end of each (t, group), then the tail channels.
 *
 * <p>Δ·A stays inside exp's clamps when Δ is in {@code [0, clampFree]} (see
 * {@link SelectiveScanGrad32.Work#clampFree}); a block of channels whose Δ all are skips the
 * clamps ({@link VectorMath#exp(FloatVector, boolean)}: the same bits). As in the inference kernel, the
 * per-channel rows (Δ, the gate) are computed in their own small loops: with softplus and SiLU
 * inside the channel loop, C2 ran out of its inlining budget and boxed vectors.
 */
final class SelectiveScanGradVector32 {
  private SelectiveScanGradVector32() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

  static int lanes() {
    return S.length();
  }

  /** Whether a group of {@code perGroup} channels fills at least one vector. */
  static boolean fillsVector(int perGroup) {
    return perGroup >= S.length();
  }

  /** {@link SelectiveScanGrad32#steps} on vectors: state {@code hT[hOff + n * D + d]}, A in the work as (N, D). */
  static void steps(int D, int N, int G, SelectiveScanGrad32.Work w, int len, int b, int t0, int t1, float[] hT,
      int hOff) {
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    for (int t = t0; t < t1; t++) {
      int row = (b * len + t) * D;
      stepRow(w, row, w.dt, 0, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        forwardChannels(w, D, N, row, bc, hT, hOff, first, vecEnd);
        for (int d = vecEnd; d < first + perGroup; d++) {
          w.y[row + d] = SelectiveScanGrad32.forwardChannel(w, d, row, bc, N, w.dt[d], hT, hOff + d, d, D);
        }
      }
      gateOutput(w, row, D);
    }
  }

  /**
   * {@link SelectiveScanGrad32#reverse} on vectors: h0, the work's gh, gA and A as (N, D). The
   * recomputation and the adjoint are methods of their own, each compiled on its own: inlined into
   * one, they ran C2 out of its node budget and the Vector API calls left out boxed their vectors.
   */
  static void reverse(int D, int N, int G, SelectiveScanGrad32.Work w, int len, int b, int t0, int t1, float[] h0T,
      int h0Off) {
    recompute(D, N, G, w, len, b, t0, t1, h0T, h0Off);
    adjoint(D, N, G, w, len, b, t0, t1, h0T, h0Off);
  }

  /** 1. Recompute the piece's states and Ā from h0, with the forward's operations. */
  private static void recompute(int D, int N, int G, SelectiveScanGrad32.Work w, int len, int b, int t0, int t1,
      float[] h0T, int h0Off) {
    final int dn = D * N;
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    for (int t = t0; t < t1; t++) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      float[] prev = tl == 0 ? h0T : w.hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      stepRow(w, row, w.dt, tl * D, D);
      softplusDerivativeRow(w, row, w.dsp, tl * D, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        recomputeChannels(w, D, N, row, bc, tl, prev, pBase, first, vecEnd);
        for (int d = vecEnd; d < first + perGroup; d++) {
          SelectiveScanGrad32.recomputeChannel(w, d, row, bc, N, w.dt[tl * D + d], prev, pBase + d, tl * dn + d, d,
              D);
        }
      }
    }
  }

  /** 2. The adjoint from the last step down; the work's gh holds ∂L/∂h_t from the later steps. */
  private static void adjoint(int D, int N, int G, SelectiveScanGrad32.Work w, int len, int b, int t0, int t1,
      float[] h0T, int h0Off) {
    final int dn = D * N;
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    final int lanes = S.length();
    for (int t = t1 - 1; t >= t0; t--) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      float[] prev = tl == 0 ? h0T : w.hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      gateRow(w, row, D);
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        java.util.Arrays.fill(w.bLanes, 0, N * lanes, 0f);
        java.util.Arrays.fill(w.cLanes, 0, N * lanes, 0f);
        adjointChannels(w, D, N, row, bc, tl, prev, pBase, first, vecEnd);
        // The group's sums over d: the vector lanes left to right, then the tail channels.
        for (int n = 0; n < N; n++) {
          float sb = 0f;
          float sc = 0f;
          for (int l = 0; l < lanes; l++) {
            sb += w.bLanes[n * lanes + l];
            sc += w.cLanes[n * lanes + l];
          }
          w.dB[bc + n] = sb;
          w.dC[bc + n] = sc;
        }
        for (int d = vecEnd; d < first + perGroup; d++) {
          SelectiveScanGrad32.adjointChannel(w, D, d, row, bc, N, tl, prev, pBase + d, tl * dn + d, d, d, D);
        }
      }
    }
  }

  /**
   * {@link SelectiveScanGrad32#stepRow} for every channel: whole vectors, then the tail in scalar
   * code. One exp per loop: softplus and softplus' in one loop left softplus' out of line in C2
   * (NodeCountInliningCutoff) and boxed δ + bias at every vector.
   */
  private static void stepRow(SelectiveScanGrad32.Work w, int row, float[] dt, int dtOff, int D) {
    final int end = S.loopBound(D);
    for (int d = 0; d < end; d += S.length()) {
      FloatVector x = FloatVector.fromArray(S, w.delta, row + d).add(FloatVector.fromArray(S, w.bias, d));
      VectorMath.softplus(x).intoArray(dt, dtOff + d);
    }
    SelectiveScanGrad32.stepRow(w, row, dt, dtOff, end, D);
  }

  /** {@link SelectiveScanGrad32#softplusDerivativeRow} for every channel. */
  private static void softplusDerivativeRow(SelectiveScanGrad32.Work w, int row, float[] dsp, int off, int D) {
    final int end = S.loopBound(D);
    for (int d = 0; d < end; d += S.length()) {
      FloatVector x = FloatVector.fromArray(S, w.delta, row + d).add(FloatVector.fromArray(S, w.bias, d));
      VectorMath.softplusDerivative(x).intoArray(dsp, off + d);
    }
    SelectiveScanGrad32.softplusDerivativeRow(w, row, dsp, off, end, D);
  }

  /** {@link SelectiveScanGrad32#gateOutput} for every channel. */
  private static void gateOutput(SelectiveScanGrad32.Work w, int row, int D) {
    final int end = S.loopBound(D);
    for (int d = 0; d < end; d += S.length()) {
      FloatVector.fromArray(S, w.y, row + d).mul(VectorMath.silu(FloatVector.fromArray(S, w.z, row + d)))
          .intoArray(w.y, row + d);
    }
    SelectiveScanGrad32.gateOutput(w, row, end, D);
  }

  /** {@link SelectiveScanGrad32#gateRow} for every channel. */
  private static void gateRow(SelectiveScanGrad32.Work w, int row, int D) {
    final int end = S.loopBound(D);
    final FloatVector one = FloatVector.broadcast(S, 1f);
    for (int d = 0; d < end; d += S.length()) {
      FloatVector zt = FloatVector.fromArray(S, w.z, row + d);
      FloatVector dyt = FloatVector.fromArray(S, w.dy, row + d);
      FloatVector sig = VectorMath.sigmoid(zt);
      dyt.mul(zt.mul(sig)).intoArray(w.dy0, d);
      dyt.mul(sig.mul(zt.fma(one.sub(sig), one))).intoArray(w.gate, d);
    }
    SelectiveScanGrad32.gateRow(w, row, end, D);
  }

  /** Whether every lane's Δ keeps Δ·A inside exp's clamps. */
  private static boolean clampFree(FloatVector dt, float clampFree) {
    return dt.compare(VectorOperators.GE, 0f).and(dt.compare(VectorOperators.LE, clampFree)).allTrue();
  }

  /** {@link SelectiveScanGrad32#forwardChannel} for the whole vectors of {@code [first, end)}: y before the gate. */
  private static void forwardChannels(SelectiveScanGrad32.Work w, int D, int N, int row, int bc, float[] hT,
      int hOff, int first, int end) {
    final float[] aT = w.a;
    final float[] Bm = w.B;
    final float[] Cm = w.C;
    for (int d = first; d < end; d += S.length()) {
      FloatVector dt = FloatVector.fromArray(S, w.dt, d);
      FloatVector ut = FloatVector.fromArray(S, w.u, row + d);
      FloatVector dtu = dt.mul(ut);
      FloatVector acc = FloatVector.zero(S);
      boolean inRange = clampFree(dt, w.clampFree);
      for (int n = 0; n < N; n++) {
        int at = n * D + d;
        FloatVector x = dt.mul(FloatVector.fromArray(S, aT, at));
        FloatVector decay = VectorMath.exp(x, inRange);
        FloatVector hn = decay.fma(FloatVector.fromArray(S, hT, hOff + at), dtu.mul(Bm[bc + n]));
        hn.intoArray(hT, hOff + at);
        acc = hn.fma(FloatVector.broadcast(S, Cm[bc + n]), acc);
      }
      ut.fma(FloatVector.fromArray(S, w.dSkip, d), acc).intoArray(w.y, row + d);
    }
  }

  /** {@link SelectiveScanGrad32#recomputeChannel} for the whole vectors of {@code [first, end)}. */
  private static void recomputeChannels(SelectiveScanGrad32.Work w, int D, int N, int row, int bc, int tl,
      float[] prev, int pBase, int first, int end) {
    final float[] aT = w.a;
    final float[] Bm = w.B;
    final float[] hs = w.hs;
    final float[] abar = w.abar;
    final int hBase = tl * D * N;
    for (int d = first; d < end; d += S.length()) {
      FloatVector dt = FloatVector.fromArray(S, w.dt, tl * D + d);
      FloatVector dtu = dt.mul(FloatVector.fromArray(S, w.u, row + d));
      boolean inRange = clampFree(dt, w.clampFree);
      for (int n = 0; n < N; n++) {
        int at = n * D + d;
        FloatVector x = dt.mul(FloatVector.fromArray(S, aT, at));
        FloatVector ab = VectorMath.exp(x, inRange);
        ab.intoArray(abar, hBase + at);
        ab.fma(FloatVector.fromArray(S, prev, pBase + at), dtu.mul(Bm[bc + n])).intoArray(hs, hBase + at);
      }
    }
  }

  /** {@link SelectiveScanGrad32#adjointChannel} for the whole vectors of {@code [first, end)}; dB, dC per lane. */
  private static void adjointChannels(SelectiveScanGrad32.Work w, int D, int N, int row, int bc, int tl,
      float[] prev, int pBase, int first, int end) {
    final float[] aT = w.a;
    final float[] Bm = w.B;
    final float[] Cm = w.C;
    final float[] hs = w.hs;
    final float[] abar = w.abar;
    final float[] ghT = w.gh;
    final float[] gAT = w.gA;
    final float[] bLanes = w.bLanes;
    final float[] cLanes = w.cLanes;
    final int lanes = S.length();
    final int hBase = tl * D * N;
    for (int d = first; d < end; d += lanes) {
      FloatVector dy0 = FloatVector.fromArray(S, w.dy0, d);
      FloatVector ut = FloatVector.fromArray(S, w.u, row + d);
      FloatVector dt = FloatVector.fromArray(S, w.dt, tl * D + d);
      FloatVector dtu = dt.mul(ut);
      FloatVector y0 = FloatVector.zero(S);
      FloatVector gDelta = FloatVector.zero(S);
      FloatVector gBu = FloatVector.zero(S);
      for (int n = 0; n < N; n++) {
        int at = n * D + d;
        int ln = n * lanes;
        FloatVector hn = FloatVector.fromArray(S, hs, hBase + at);
        FloatVector ab = FloatVector.fromArray(S, abar, hBase + at);
        FloatVector cn = FloatVector.broadcast(S, Cm[bc + n]);
        FloatVector gn = dy0.fma(cn, FloatVector.fromArray(S, ghT, at)); // g_t = dy0 C + Ā_{t+1} g_{t+1}
        y0 = hn.fma(cn, y0);
        dy0.fma(hn, FloatVector.fromArray(S, cLanes, ln)).intoArray(cLanes, ln);
        FloatVector gaa = gn.mul(FloatVector.fromArray(S, prev, pBase + at)).mul(ab); // gĀ_t Ā_t
        gDelta = gaa.fma(FloatVector.fromArray(S, aT, at), gDelta);
        gaa.fma(dt, FloatVector.fromArray(S, gAT, at)).intoArray(gAT, at);
        gn.fma(dtu, FloatVector.fromArray(S, bLanes, ln)).intoArray(bLanes, ln);
        gBu = gn.fma(FloatVector.broadcast(S, Bm[bc + n]), gBu);
        ab.mul(gn).intoArray(ghT, at); // ∂L/∂h_{t-1} through h_t
      }
      FloatVector dSkipD = FloatVector.fromArray(S, w.dSkip, d);
      y0 = ut.fma(dSkipD, y0);
      FloatVector.fromArray(S, w.gate, d).mul(y0).intoArray(w.dz, row + d);
      dy0.fma(ut, FloatVector.fromArray(S, w.gD, d)).intoArray(w.gD, d);
      dt.fma(gBu, dy0.mul(dSkipD)).intoArray(w.du, row + d);
      gDelta = gBu.fma(ut, gDelta);
      FloatVector gd = gDelta.mul(FloatVector.fromArray(S, w.dsp, tl * D + d));
      gd.intoArray(w.dDelta, row + d);
      FloatVector.fromArray(S, w.gBias, d).add(gd).intoArray(w.gBias, d);
    }
  }
}
