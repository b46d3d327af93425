package org.sparkssm.scan;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API path of {@link SelectiveScan}; only loaded when {@link VectorSupport#ENABLED}.
 *
 * <p>Lanes run over channels d, not over the state index n: Mamba has N = 16 but D in the
 * hundreds to thousands, the per-step scalars Δ, u, z, Dskip are per channel (so they load as
 * vectors), and B, C are shared by every channel of a group (so they broadcast). For one step t and
 * a block of channels the state update
 * {@code h_{n,d} ← exp(Δ_d A_{n,d}) h_{n,d} + (Δ_d u_d) B_n} is one EXP and one FMA per n and the
 * output {@code y_d = Σ_n C_n h_{n,d}} accumulates in a register with one more FMA: no lane
 * reduction. That needs {@code h} and {@code A} as {@code [n * D + d]}: A is transposed once in
 * {@link SelectiveScan.Params}, h into a per-call workspace (O(D·N), against O(L·D·N) work).
 * Channels of a group that do not fill a vector run the same update in scalar code.
 */
final class SelectiveScanVector {
  private SelectiveScanVector() {}

  private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> SF = FloatVector.SPECIES_PREFERRED;

  /** Whether a group of {@code perGroup} channels fills at least one vector. */
  static boolean fillsVector(int perGroup) {
    return perGroup >= S.length();
  }

  /**
   * Same contract as {@link SelectiveScan#scanScalar}: unchecked, {@code C == null} skips the output.
   *
   * <p>Per step and group, Δ of the group's vector channels is computed first into a row and the
   * gate is applied to the finished output, each in its own small loop: with softplus and SiLU
   * inside the channel loop, C2 ran out of its inlining budget (NodeCountInliningCutoff), called
   * exp out of line and boxed its vectors (350 MB allocated per L = 256 call at D = 1536, N = 16).
   */
  static void scan(SelectiveScan.Params p, double[] u, int uOff, double[] delta, int deltaOff, double[] B, int bOff,
      double[] C, int cOff, double[] z, int zOff, double[] y, int yOff, int L, double[] h) {
    final int D = p.channels();
    final int N = p.stateSize();
    final int G = p.groups();
    final int perGroup = D / G;
    final int vecPerGroup = S.loopBound(perGroup);
    final double[] aT = p.aTransposedRaw();
    final double[] dSkip = p.dSkipRaw();
    final double[] bias = p.deltaBiasRaw();
    final boolean softplus = p.deltaSoftplus();
    final boolean output = C != null;
    assert L >= 0 && h.length == D * N && (!output || y != null) : "unchecked arguments; see SelectiveScan.scan()";

    // State transposed to [n * D + d] so that a block of channels is contiguous for each n.
    double[] hT = new double[D * N];
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        hT[n * D + d] = h[d * N + n];
      }
    }
    double[] dtRow = new double[D];

    for (int t = 0; t < L; t++) {
      int row = t * D;
      for (int g = 0; g < G; g++) {
        int bRow = bOff + (t * G + g) * N;
        int cRow = cOff + (t * G + g) * N;
        int first = g * perGroup;
        int vecEnd = first + vecPerGroup;
        stepSizes(delta, deltaOff + row, bias, softplus, dtRow, first, vecEnd);
        updateChannels(dtRow, u, uOff + row, B, bRow, output ? C : null, cRow, y, yOff + row, hT, aT, dSkip, D, N,
            first, vecEnd);
        if (output && z != null) {
          gate(y, yOff + row, z, zOff + row, first, vecEnd);
        }
        // Channels of the group past the last full vector: the same update, one at a time.
        for (int d = vecEnd; d < first + perGroup; d++) {
          double dt = SelectiveScan.stepSize(delta[deltaOff + row + d] + (bias == null ? 0.0 : bias[d]), softplus);
          double ut = u[uOff + row + d];
          double dtu = dt * ut;
          double acc = 0.0;
          for (int n = 0; n < N; n++) {
            int at = n * D + d;
            double hn = Math.exp(dt * aT[at]) * hT[at] + dtu * B[bRow + n];
            hT[at] = hn;
            if (output) {
              acc += C[cRow + n] * hn;
            }
          }
          if (output) {
            if (dSkip != null) {
              acc += dSkip[d] * ut;
            }
            if (z != null) {
              acc *= SelectiveScan.silu(z[zOff + row + d]);
            }
            y[yOff + row + d] = acc;
          }
        }
      }
    }

    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        h[d * N + n] = hT[n * D + d];
      }
    }
  }

  /** {@code dt[d] = softplus(delta[off + d] + bias[d])} (or without softplus / bias), whole vectors of {@code [first, end)}. */
  private static void stepSizes(double[] delta, int off, double[] bias, boolean softplus, double[] dt, int first,
      int end) {
    for (int d = first; d < end; d += S.length()) {
      DoubleVector v = DoubleVector.fromArray(S, delta, off + d);
      if (bias != null) {
        v = v.add(DoubleVector.fromArray(S, bias, d));
      }
      if (softplus) {
        v = softplus(v);
      }
      v.intoArray(dt, d);
    }
  }

  /** The state update and output before the gate of channels {@code [first, end)}, whole vectors; C null: no output. */
  private static void updateChannels(double[] dtRow, double[] u, int uRow, double[] B, int bRow, double[] C, int cRow,
      double[] y, int yRow, double[] hT, double[] aT, double[] dSkip, int D, int N, int first, int end) {
    for (int d = first; d < end; d += S.length()) {
      DoubleVector dt = DoubleVector.fromArray(S, dtRow, d);
      DoubleVector ut = DoubleVector.fromArray(S, u, uRow + d);
      DoubleVector dtu = dt.mul(ut);
      DoubleVector acc = DoubleVector.zero(S);
      for (int n = 0; n < N; n++) {
        int at = n * D + d;
        DoubleVector decay = VectorMath.exp(dt.mul(DoubleVector.fromArray(S, aT, at)));
        DoubleVector hn = decay.fma(DoubleVector.fromArray(S, hT, at), dtu.mul(B[bRow + n]));
        hn.intoArray(hT, at);
        if (C != null) {
          acc = hn.fma(DoubleVector.broadcast(S, C[cRow + n]), acc);
        }
      }
      if (C != null) {
        if (dSkip != null) {
          acc = ut.fma(DoubleVector.fromArray(S, dSkip, d), acc);
        }
        acc.intoArray(y, yRow + d);
      }
    }
  }

  /** {@code y[yRow + d] *= silu(z[zRow + d])}, whole vectors of {@code [first, end)}. */
  private static void gate(double[] y, int yRow, double[] z, int zRow, int first, int end) {
    for (int d = first; d < end; d += S.length()) {
      DoubleVector.fromArray(S, y, yRow + d).mul(silu(DoubleVector.fromArray(S, z, zRow + d))).intoArray(y, yRow + d);
    }
  }

  /** Lanewise softplus with torch's threshold: {@code x > 20 ? x : log1p(exp(x))}; NaN stays NaN. */
  private static DoubleVector softplus(DoubleVector x) {
    VectorMask<Double> large = x.compare(VectorOperators.GT, 20.0);
    DoubleVector smooth = VectorMath.log1p(VectorMath.exp(x));
    return smooth.blend(x, large);
  }

  /** Lanewise {@code silu(x) = x / (1 + e^-x)}. */
  private static DoubleVector silu(DoubleVector x) {
    return x.div(VectorMath.exp(x.neg()).add(1.0));
  }

  /** Whether a group of {@code perGroup} channels fills at least one float32 vector. */
  static boolean fillsVector32(int perGroup) {
    return perGroup >= SF.length();
  }

  /**
   * {@link SelectiveScan#scan32}'s vector path, unchecked: the lanewise form of
   * {@link SelectiveScan#channelStep32}, operation for operation, so every lane gives the scalar
   * path's bits; channels past the last full vector of a group run channelStep32 itself.
   *
   * <p>Per step, Δ of every channel is computed first into a row of D floats and the gate is applied
   * to the finished output row, each in its own small loop: with softplus and SiLU inside the
   * channel loop, C2 ran out of its inlining budget (NodeCountInliningCutoff) and called exp
   * out of line, boxing a vector per call (80 MB allocated per L = 256 call, 6× slower).
   */
  static void scan32(SelectiveScan.Params p, float[] u, int uOff, float[] delta, int deltaOff, float[] B, int bOff,
      float[] C, int cOff, float[] z, int zOff, float[] y, int yOff, int L, float[] h) {
    final int D = p.channels();
    final int N = p.stateSize();
    final int G = p.groups();
    final int perGroup = D / G;
    final SelectiveScan.Float32 f = p.float32();
    final boolean softplus = p.deltaSoftplus();
    assert L >= 0 && h.length == D * N && y != null : "unchecked arguments; see SelectiveScan.scan32()";

    float[] hT = new float[D * N];
    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        hT[n * D + d] = h[d * N + n];
      }
    }
    float[] dtRow = new float[D];

    for (int t = 0; t < L; t++) {
      int row = t * D;
      stepSizes32(delta, deltaOff + row, f.deltaBias, softplus, dtRow, D);
      for (int g = 0; g < G; g++) {
        int first = g * perGroup;
        int vecEnd = first + SF.loopBound(perGroup);
        updateChannels32(f, dtRow, u, uOff + row, B, bOff + (t * G + g) * N, C, cOff + (t * G + g) * N, y, yOff + row,
            hT, D, N, first, vecEnd);
        for (int d = vecEnd; d < first + perGroup; d++) {
          y[yOff + row + d] = SelectiveScan.channelStep32(f, softplus, d, delta[deltaOff + row + d], u[uOff + row + d],
              hT, f.aTransposed, d, D, B, bOff + (t * G + g) * N, C, cOff + (t * G + g) * N, N);
        }
      }
      if (z != null) {
        gate32(y, yOff + row, z, zOff + row, D);
      }
    }

    for (int d = 0; d < D; d++) {
      for (int n = 0; n < N; n++) {
        h[d * N + n] = hT[n * D + d];
      }
    }
  }

  /** {@code dt[d] = softplus(delta[off + d] + bias[d])} (or without softplus / bias), as channelStep32 computes it. */
  private static void stepSizes32(float[] delta, int off, float[] bias, boolean softplus, float[] dt, int D) {
    int end = SF.loopBound(D);
    for (int d = 0; d < end; d += SF.length()) {
      FloatVector v = FloatVector.fromArray(SF, delta, off + d);
      if (bias != null) {
        v = v.add(FloatVector.fromArray(SF, bias, d));
      }
      if (softplus) {
        v = VectorMath.softplus(v);
      }
      v.intoArray(dt, d);
    }
    for (int d = end; d < D; d++) {
      float v = delta[off + d];
      if (bias != null) {
        v += bias[d];
      }
      dt[d] = softplus ? FloatMath.softplus(v) : v;
    }
  }

  /**
   * The state update and output (before the gate) of channels {@code [first, end)}, whole vectors,
   * for one step: B and C rows from {@code bRow}, {@code cRow}; u and y rows from their offsets.
   */
  private static void updateChannels32(SelectiveScan.Float32 f, float[] dtRow, float[] u, int uRow, float[] B,
      int bRow, float[] C, int cRow, float[] y, int yRow, float[] hT, int D, int N, int first, int end) {
    final float[] aT = f.aTransposed;
    final float[] dSkip = f.dSkip;
    final float clampFree = f.maxClampFreeDelta;
    for (int d = first; d < end; d += SF.length()) {
      FloatVector dt = FloatVector.fromArray(SF, dtRow, d);
      FloatVector ut = FloatVector.fromArray(SF, u, uRow + d);
      FloatVector dtu = dt.mul(ut);
      FloatVector acc = FloatVector.zero(SF);
      // Δ·A within exp's clamps for every n (the rule: Mamba's Δ·|A| stays far below 100): skip them.
      // Negative, huge, infinite or NaN Δ fails the test and takes the clamped exp.
      boolean inRange = dt.compare(VectorOperators.GE, 0f).and(dt.compare(VectorOperators.LE, clampFree)).allTrue();
      for (int n = 0; n < N; n++) {
        int at = n * D + d;
        FloatVector x = dt.mul(FloatVector.fromArray(SF, aT, at));
        FloatVector decay = inRange ? VectorMath.expClamped(x) : VectorMath.exp(x);
        FloatVector hn = decay.fma(FloatVector.fromArray(SF, hT, at), dtu.mul(B[bRow + n]));
        hn.intoArray(hT, at);
        acc = hn.fma(FloatVector.broadcast(SF, C[cRow + n]), acc);
      }
      if (dSkip != null) {
        acc = ut.fma(FloatVector.fromArray(SF, dSkip, d), acc);
      }
      acc.intoArray(y, yRow + d);
    }
  }

  /** {@code y[yRow + d] *= silu(z[zRow + d])} for {@code d < D}: the gate, as the scalar path applies it. */
  private static void gate32(float[] y, int yRow, float[] z, int zRow, int D) {
    int end = SF.loopBound(D);
    for (int d = 0; d < end; d += SF.length()) {
      FloatVector.fromArray(SF, y, yRow + d).mul(VectorMath.silu(FloatVector.fromArray(SF, z, zRow + d)))
          .intoArray(y, yRow + d);
    }
    for (int d = end; d < D; d++) {
      y[yRow + d] *= FloatMath.silu(z[zRow + d]);
    }
  }
}
