package org.sparkssm.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.sparkssm.scan.VectorMath;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API path of {@link SelectiveScanGrad}; only loaded when
 * {@link org.sparkssm.scan.VectorSupport#ENABLED}. As in the inference kernel
 * ({@code scan.SelectiveScanVector}), lanes run over channels d: the per-step scalars Δ, u, z, dy
 * are per channel (they load as vectors), B and C are shared by a group's channels (they
 * broadcast), and the per-channel sums over n (y0, gΔ, Σ g B) stay in registers with no lane
 * reduction. That needs every (n, d) array as {@code [n * D + d]}: A, the states, Ā, the carried
 * adjoint and gA, all "transposed" relative to the package's {@code [d * N + n]}; the caller
 * ({@link SelectiveScanGrad}) converts at its boundary. The sums over d (gB, gC) accumulate per lane
 * in {@code N × lanes} scratch and are added left to right at the end of each (t, group), a fixed
 * order. Channels of a group past its last full vector run the same arithmetic in scalar code.
 *
 * <p>The forward and the backward's recomputation perform the same operations in the same order,
 * so the recomputed states equal the forward's bit for bit.
 */
final class SelectiveScanGradVector {
  private SelectiveScanGradVector() {}

  private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;

  static int lanes() {
    return S.length();
  }

  /** Whether a group of {@code perGroup} channels fills at least one vector. */
  static boolean fillsVector(int perGroup) {
    return perGroup >= S.length();
  }

  /** Δ = softplus(x) with torch's threshold, from e = exp(x) (shared with softplus'). */
  private static DoubleVector softplus(DoubleVector x, DoubleVector e, VectorMask<Double> large) {
    return VectorMath.log1p(e).blend(x, large);
  }

  private static double softplus(double x) {
    return x > 20.0 ? x : Math.log1p(Math.exp(x));
  }

  /**
   * The forward over steps [t0, t1) of sequence b, state {@code hT[hOff + n * D + d]} in and out,
   * {@code aT[n * D + d]} = A; D-skip and Δ bias read from p. Unchecked.
   */
  static void steps(int D, int N, int G, double[] p, int pOff, double[] aT, SelectiveScanGrad.Tape tape, int len,
      int b, int t0, int t1, double[] hT, int hOff) {
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    final int lanes = S.length();
    final int dSkip = pOff + D * N;
    final int bias = dSkip + D;
    final double[] u = tape.u;
    final double[] delta = tape.delta;
    final double[] z = tape.z;
    final double[] y = tape.y;
    final double[] Bm = tape.B;
    final double[] Cm = tape.C;
    for (int t = t0; t < t1; t++) {
      int row = (b * len + t) * D;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        for (int d = first; d < vecEnd; d += lanes) {
          DoubleVector x = DoubleVector.fromArray(S, delta, row + d).add(DoubleVector.fromArray(S, p, bias + d));
          DoubleVector dt = softplus(x, VectorMath.exp(x), x.compare(VectorOperators.GT, 20.0));
          DoubleVector ut = DoubleVector.fromArray(S, u, row + d);
          DoubleVector dtu = dt.mul(ut);
          DoubleVector acc = DoubleVector.zero(S);
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            DoubleVector decay = VectorMath.exp(dt.mul(DoubleVector.fromArray(S, aT, at)));
            DoubleVector hn = decay.fma(DoubleVector.fromArray(S, hT, hOff + at), dtu.mul(Bm[bc + n]));
            hn.intoArray(hT, hOff + at);
            acc = hn.fma(DoubleVector.broadcast(S, Cm[bc + n]), acc);
          }
          acc = ut.fma(DoubleVector.fromArray(S, p, dSkip + d), acc);
          DoubleVector zt = DoubleVector.fromArray(S, z, row + d);
          DoubleVector sig = DoubleVector.broadcast(S, 1.0).div(VectorMath.exp(zt.neg()).add(1.0));
          acc.mul(zt.mul(sig)).intoArray(y, row + d);
        }
        for (int d = vecEnd; d < first + perGroup; d++) {
          double dt = softplus(delta[row + d] + p[bias + d]);
          double ut = u[row + d];
          double dtu = dt * ut;
          double acc = 0.0;
          for (int n = 0; n < N; n++) {
            int at = hOff + n * D + d;
            double hn = Math.fma(Math.exp(dt * aT[n * D + d]), hT[at], dtu * Bm[bc + n]);
            hT[at] = hn;
            acc = Math.fma(hn, Cm[bc + n], acc);
          }
          acc = Math.fma(ut, p[dSkip + d], acc);
          y[row + d] = acc * Nonlinearity.silu(z[row + d]);
        }
      }
    }
  }

  /**
   * The backward over steps [t0, t1) of sequence b from the state {@code h0T[h0Off + n * D + d]}
   * before them and the carried adjoint {@code ghT[ghOff + n * D + d]} (in and out); gA accumulates
   * into {@code gAT[n * D + d]}, gD and gbias into {@code gp} (the layout of p). Unchecked.
   */
  static void reverse(int D, int N, int G, double[] p, int pOff, double[] aT, double[] gp, int gpOff, double[] gAT,
      SelectiveScanGrad.Tape tape, int len, int b, int t0, int t1, double[] h0T, int h0Off, double[] ghT, int ghOff) {
    final int dn = D * N;
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    final int lanes = S.length();
    final int dSkip = D * N;
    final int bias = dSkip + D;
    final double[] u = tape.u;
    final double[] delta = tape.delta;
    final double[] z = tape.z;
    final double[] dy = tape.dy;
    final double[] Bm = tape.B;
    final double[] Cm = tape.C;
    final double[] du = tape.du;
    final double[] dDelta = tape.dDelta;
    final double[] dz = tape.dz;
    final double[] dB = tape.dB;
    final double[] dC = tape.dC;
    final double[] hs = tape.hs; // (chunk, N, D)
    final double[] abar = tape.abar; // (chunk, N, D)
    final double[] dts = tape.dt; // (chunk, D)
    final double[] dsp = tape.dsp; // (chunk, D)
    final double[] bLanes = tape.bLanes; // (N, lanes): per-lane partial sums of gB
    final double[] cLanes = tape.cLanes; // (N, lanes): of gC
    final DoubleVector one = DoubleVector.broadcast(S, 1.0);

    // 1. Recompute the piece's states and Ā from h0, with the forward's operations.
    for (int t = t0; t < t1; t++) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      double[] prev = tl == 0 ? h0T : hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      int hBase = tl * dn;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        for (int d = first; d < vecEnd; d += lanes) {
          DoubleVector x = DoubleVector.fromArray(S, delta, row + d).add(DoubleVector.fromArray(S, p, pOff + bias + d));
          DoubleVector e = VectorMath.exp(x);
          VectorMask<Double> large = x.compare(VectorOperators.GT, 20.0);
          DoubleVector dt = softplus(x, e, large);
          dt.intoArray(dts, tl * D + d);
          e.div(e.add(1.0)).blend(one, large).intoArray(dsp, tl * D + d); // σ(x) = e / (1 + e); 1 above 20
          DoubleVector dtu = dt.mul(DoubleVector.fromArray(S, u, row + d));
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            DoubleVector ab = VectorMath.exp(dt.mul(DoubleVector.fromArray(S, aT, at)));
            ab.intoArray(abar, hBase + at);
            ab.fma(DoubleVector.fromArray(S, prev, pBase + at), dtu.mul(Bm[bc + n])).intoArray(hs, hBase + at);
          }
        }
        for (int d = vecEnd; d < first + perGroup; d++) {
          double x = delta[row + d] + p[pOff + bias + d];
          double dt = softplus(x);
          dts[tl * D + d] = dt;
          dsp[tl * D + d] = Nonlinearity.softplusDerivative(x);
          double dtu = dt * u[row + d];
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            double ab = Math.exp(dt * aT[at]);
            abar[hBase + at] = ab;
            hs[hBase + at] = Math.fma(ab, prev[pBase + at], dtu * Bm[bc + n]);
          }
        }
      }
    }

    // 2. The adjoint from the last step down; ghT holds ∂L/∂h_t from the later steps.
    for (int t = t1 - 1; t >= t0; t--) {
      int tl = t - t0;
      int row = (b * len + t) * D;
      double[] prev = tl == 0 ? h0T : hs;
      int pBase = tl == 0 ? h0Off : (tl - 1) * dn;
      int hBase = tl * dn;
      for (int g = 0; g < G; g++) {
        int bc = ((b * len + t) * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        java.util.Arrays.fill(bLanes, 0, N * lanes, 0.0);
        java.util.Arrays.fill(cLanes, 0, N * lanes, 0.0);
        for (int d = first; d < vecEnd; d += lanes) {
          DoubleVector dyt = DoubleVector.fromArray(S, dy, row + d);
          DoubleVector zt = DoubleVector.fromArray(S, z, row + d);
          DoubleVector sig = one.div(VectorMath.exp(zt.neg()).add(1.0));
          DoubleVector dy0 = dyt.mul(zt.mul(sig)); // dy · silu(z)
          DoubleVector ut = DoubleVector.fromArray(S, u, row + d);
          DoubleVector dt = DoubleVector.fromArray(S, dts, tl * D + d);
          DoubleVector dtu = dt.mul(ut);
          DoubleVector y0 = DoubleVector.zero(S);
          DoubleVector gDelta = DoubleVector.zero(S);
          DoubleVector gBu = DoubleVector.zero(S);
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            int ln = n * lanes;
            DoubleVector hn = DoubleVector.fromArray(S, hs, hBase + at);
            DoubleVector ab = DoubleVector.fromArray(S, abar, hBase + at);
            double cn = Cm[bc + n];
            DoubleVector cv = DoubleVector.broadcast(S, cn);
            DoubleVector gn = dy0.fma(cv, DoubleVector.fromArray(S, ghT, ghOff + at)); // g_t = dy0 C + Ā_{t+1} g_{t+1}
            y0 = hn.fma(cv, y0);
            dy0.fma(hn, DoubleVector.fromArray(S, cLanes, ln)).intoArray(cLanes, ln);
            DoubleVector gaa = gn.mul(DoubleVector.fromArray(S, prev, pBase + at)).mul(ab); // gĀ_t Ā_t
            gDelta = gaa.fma(DoubleVector.fromArray(S, aT, at), gDelta);
            gaa.fma(dt, DoubleVector.fromArray(S, gAT, at)).intoArray(gAT, at);
            gn.fma(dtu, DoubleVector.fromArray(S, bLanes, ln)).intoArray(bLanes, ln);
            gBu = gn.fma(DoubleVector.broadcast(S, Bm[bc + n]), gBu);
            ab.mul(gn).intoArray(ghT, ghOff + at); // ∂L/∂h_{t-1} through h_t
          }
          DoubleVector dSkipD = DoubleVector.fromArray(S, p, pOff + dSkip + d);
          y0 = ut.fma(dSkipD, y0);
          // silu'(z) = σ (1 + z (1 - σ))
          DoubleVector siluD = sig.mul(zt.mul(one.sub(sig)).add(1.0));
          dyt.mul(y0).mul(siluD).intoArray(dz, row + d);
          dy0.fma(ut, DoubleVector.fromArray(S, gp, gpOff + dSkip + d)).intoArray(gp, gpOff + dSkip + d);
          dy0.mul(dSkipD).add(dt.mul(gBu)).intoArray(du, row + d);
          gDelta = gBu.fma(ut, gDelta);
          DoubleVector gd = gDelta.mul(DoubleVector.fromArray(S, dsp, tl * D + d));
          gd.intoArray(dDelta, row + d);
          gd.add(DoubleVector.fromArray(S, gp, gpOff + bias + d)).intoArray(gp, gpOff + bias + d);
        }
        // The group's sums over d: the vector lanes left to right, then the scalar channels.
        for (int n = 0; n < N; n++) {
          double sb = 0.0;
          double sc = 0.0;
          for (int l = 0; l < lanes; l++) {
            sb += bLanes[n * lanes + l];
            sc += cLanes[n * lanes + l];
          }
          dB[bc + n] = sb;
          dC[bc + n] = sc;
        }
        for (int d = vecEnd; d < first + perGroup; d++) {
          double dyt = dy[row + d];
          double zt = z[row + d];
          double dy0 = dyt * Nonlinearity.silu(zt);
          double ut = u[row + d];
          double dt = dts[tl * D + d];
          double dtu = dt * ut;
          double y0 = 0.0;
          double gDelta = 0.0;
          double gBu = 0.0;
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            double hn = hs[hBase + at];
            double ab = abar[hBase + at];
            double cn = Cm[bc + n];
            double gn = ghT[ghOff + at] + dy0 * cn;
            y0 += cn * hn;
            dC[bc + n] += dy0 * hn;
            double gaa = gn * prev[pBase + at] * ab;
            gDelta += gaa * aT[at];
            gAT[at] += gaa * dt;
            dB[bc + n] += gn * dtu;
            gBu += gn * Bm[bc + n];
            ghT[ghOff + at] = ab * gn;
          }
          double dSkipD = p[pOff + dSkip + d];
          y0 += dSkipD * ut;
          dz[row + d] = dyt * y0 * Nonlinearity.siluDerivative(zt);
          gp[gpOff + dSkip + d] += dy0 * ut;
          du[row + d] = dy0 * dSkipD + dt * gBu;
          gDelta += gBu * ut;
          double gd = gDelta * dsp[tl * D + d];
          dDelta[row + d] = gd;
          gp[gpOff + bias + d] += gd;
        }
      }
    }
  }
}
