// spark-ssm CUDA kernels: the diagonal LTI scan, the Mamba S6 selective scan (forward and backward),
// the diagonal scan's backward, and the pieces of a Mamba forward (projections, norms, convolution).
//
// Every kernel is the device twin of a float64 Java kernel and is tested against it: on the host
// by compiling this file as C++ against src/test/cuda/host_emulation.h (CudaKernelsOnHostTest), and
// on a GPU by gpu/gpu-check. Data is float32; the recurrent state (and the SSM parameters it is
// multiplied with) is float32 or float64 as the caller asks (suffix _f32 / _f64 on the entry point).
//
// Layout. A "column" is one (sequence b, channel d) pair, col = b * D + d; one thread owns one
// column and keeps its N state components in registers (NS >= N is a compile-time bound: entry
// points exist for NS = 8, 16, 32, 64 and the caller picks the smallest that holds N). A sequence
// array x is read at x[t * xT + b * xB + d] (B and C at [t * bT + b * bB + g * N + n]), so a batch
// of series laid out time-major side by side (xT = batch * D, xB = D) reads coalesced, and a slice
// of a projection's output (Mamba's xz, or B and C inside x_proj's output) is read in place.
// The state h of column col is h[col * N + n] (complex: real parts h[col * 2N + n], imaginary
// parts h[col * 2N + N + n]); it holds the initial state on entry and the final state on return,
// so chunked calls equal one call (the contract of DiagonalScan and SelectiveScan).
//
// Per-sequence lengths: lengths[b] steps of sequence b are scanned (null: all L). Steps past a
// sequence's length are neither read nor written.
//
// Time chunks: a forward scan launched with gridDim.y = P > 1 gives block row k the steps
// [k * span, (k + 1) * span) of every column and the state block h + k * cols * (state per
// column). One column per thread leaves a GPU mostly idle when there are few columns (one long
// series; Mamba's 1,536 channels of one sequence), so the host scans in three launches, the
// two-pass scan of ChunkSummary: (1) each chunk from the zero state to its end state (and, for the
// selective scan, its Σ Δ), (2) *_carry: per column, in chunk order, the state before each chunk
// and the final state, (3) each chunk again from its incoming state, writing y.
//
// Determinism: no atomics. Sums over channels or sequences are written per column and reduced
// by the reduce_* kernels in a fixed order, so a result does not depend on scheduling.

#ifdef SSM_HOST_EMULATION
#include "host_emulation.h"
#endif

#define SSM_EXTERN extern "C" __global__ void

typedef long long i64;

// ---- scalar helpers, float and double ----

__device__ __forceinline__ float ssm_exp(float x) { return expf(x); }
__device__ __forceinline__ double ssm_exp(double x) { return exp(x); }
__device__ __forceinline__ float ssm_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double ssm_log1p(double x) { return log1p(x); }

// softplus with torch's threshold 20 (SelectiveScan.stepSize)
template <typename S> __device__ __forceinline__ S softplus(S x) {
  return x > S(20) ? x : ssm_log1p(ssm_exp(x));
}
template <typename S> __device__ __forceinline__ S softplus_derivative(S x) {
  return x > S(20) ? S(1) : S(1) / (S(1) + ssm_exp(-x));
}
template <typename S> __device__ __forceinline__ S silu(S x) { return x / (S(1) + ssm_exp(-x)); }
template <typename S> __device__ __forceinline__ S silu_derivative(S x) {
  S s = S(1) / (S(1) + ssm_exp(-x));
  return s * (S(1) + x * (S(1) - s));
}

__device__ __forceinline__ i64 column_index() {
  return (i64)blockIdx.x * blockDim.x + threadIdx.x;
}

// The steps [t0, t1) of this block row's time chunk (blockIdx.y) of a sequence of len steps.
__device__ __forceinline__ void time_chunk(int len, int span, int* t0, int* t1) {
  *t0 = min(len, (int)blockIdx.y * span);
  *t1 = min(len, *t0 + span);
}

// One channel's complex diagonal system in registers, Ā and B̄ for its NS state components
// (padded components are zero: their state stays zero and adds nothing). Parameters are (D, N)
// real parts then (D, N) imaginary parts, in one array of 2DN.
template <typename S, int NS> struct ComplexChannel {
  S ar[NS], ai[NS], br[NS], bi[NS];

  __device__ __forceinline__ void load(const S* abar, const S* bbar, int d, int D, int N) {
    int dn = D * N;
#pragma unroll
    for (int n = 0; n < NS; n++) {
      bool on = n < N;
      int k = d * N + n;
      ar[n] = on ? abar[k] : S(0);
      ai[n] = on ? abar[dn + k] : S(0);
      br[n] = on ? bbar[k] : S(0);
      bi[n] = on ? bbar[dn + k] : S(0);
    }
  }

  // h ← Ā h + B̄ u, complex, per component
  __device__ __forceinline__ void step(S* hr, S* hi, S u) const {
#pragma unroll
    for (int n = 0; n < NS; n++) {
      S nr = ar[n] * hr[n] - ai[n] * hi[n] + br[n] * u;
      S ni = ar[n] * hi[n] + ai[n] * hr[n] + bi[n] * u;
      hr[n] = nr;
      hi[n] = ni;
    }
  }
};

// Column col's complex state (h[col * 2N ..]: real parts, then imaginary parts) into registers, and back.
template <typename S, int NS>
__device__ __forceinline__ void load_complex_state(const S* h, i64 col, int N, S* hr, S* hi) {
#pragma unroll
  for (int n = 0; n < NS; n++) {
    hr[n] = n < N ? h[col * 2 * N + n] : S(0);
    hi[n] = n < N ? h[col * 2 * N + N + n] : S(0);
  }
}
template <typename S, int NS>
__device__ __forceinline__ void store_complex_state(S* h, i64 col, int N, const S* hr, const S* hi) {
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) {
      h[col * 2 * N + n] = hr[n];
      h[col * 2 * N + N + n] = hi[n];
    }
  }
}

// ---- 1. diagonal LTI scan (DiagonalScan) ----
//   h_t[n] = Ā[d,n] h_{t-1}[n] + B̄[d,n] u_t        y_t = Re Σ_n C[d,n] h_t[n] + Dskip[d] u_t
// Parameters are (D, N) row-major in S; dskip may be null; y may be null (advance only).

template <typename S, int NS>
__device__ void diag_scan_real(int batch, int D, int N, int L, const int* lengths, const S* abar, const S* bbar,
    const S* c, const S* dskip, const float* u, i64 uT, i64 uB, float* y, i64 yT, i64 yB, S* h, int span) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int t0, t1;
  time_chunk(lengths ? lengths[b] : L, span, &t0, &t1);
  S* hk = h + (i64)blockIdx.y * cols * N;
  S a[NS], bb[NS], cc[NS], hs[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    bool on = n < N;  // padded components stay exactly 0 and add 0
    a[n] = on ? abar[d * N + n] : S(0);
    bb[n] = on ? bbar[d * N + n] : S(0);
    cc[n] = on ? c[d * N + n] : S(0);
    hs[n] = on ? hk[col * N + n] : S(0);
  }
  S skip = dskip ? dskip[d] : S(0);
  const float* up = u + (i64)b * uB + d;
  float* yp = y ? y + (i64)b * yB + d : nullptr;
  for (int t = t0; t < t1; t++) {
    S ut = (S)up[t * uT];
    S acc = S(0);
#pragma unroll
    for (int n = 0; n < NS; n++) {
      hs[n] = a[n] * hs[n] + bb[n] * ut;
      acc += cc[n] * hs[n];
    }
    if (yp) yp[t * yT] = (float)(acc + skip * ut);
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) hk[col * N + n] = hs[n];
  }
}

// Complex parameters: (D, N) real parts then (D, N) imaginary parts in one array of 2DN.
template <typename S, int NS>
__device__ void diag_scan_complex(int batch, int D, int N, int L, const int* lengths, const S* abar, const S* bbar,
    const S* c, const S* dskip, const float* u, i64 uT, i64 uB, float* y, i64 yT, i64 yB, S* h, int span) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int t0, t1;
  time_chunk(lengths ? lengths[b] : L, span, &t0, &t1);
  S* hk = h + (i64)blockIdx.y * cols * 2 * N;
  int dn = D * N;
  ComplexChannel<S, NS> sys;
  sys.load(abar, bbar, d, D, N);
  S cr[NS], ci[NS], hr[NS], hi[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    cr[n] = n < N ? c[d * N + n] : S(0);
    ci[n] = n < N ? c[dn + d * N + n] : S(0);
  }
  load_complex_state<S, NS>(hk, col, N, hr, hi);
  S skip = dskip ? dskip[d] : S(0);
  const float* up = u + (i64)b * uB + d;
  float* yp = y ? y + (i64)b * yB + d : nullptr;
  for (int t = t0; t < t1; t++) {
    S ut = (S)up[t * uT];
    sys.step(hr, hi, ut);
    if (yp) {
      S acc = S(0);
#pragma unroll
      for (int n = 0; n < NS; n++) acc += cr[n] * hr[n] - ci[n] * hi[n];
      yp[t * yT] = (float)(acc + skip * ut);
    }
  }
  store_complex_state<S, NS>(hk, col, N, hr, hi);
}

// Pass (2) of a chunked diagonal scan (see "Time chunks"): hs holds each chunk's end state from
// zero on entry, the state before each chunk on return; h, the initial state on entry, the final
// one on return:  before[0] = h,  before[k + 1] = Ā^{steps of chunk k} ⊙ before[k] + end[k].
// Real systems: pass imag = 0 (then abar holds only D × N real parts and the state N per column).
template <typename S, int NS>
__device__ void diag_carry(int batch, int D, int N, int L, const int* lengths, const S* abar, int complex_system,
    int span, int chunks, S* hs, S* h) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int len = lengths ? lengths[b] : L;
  int s = complex_system ? 2 * N : N;
  S ar[NS], ai[NS], hr[NS], hi[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    bool on = n < N;
    ar[n] = on ? abar[d * N + n] : S(0);
    ai[n] = on && complex_system ? abar[D * N + d * N + n] : S(0);
    hr[n] = on ? h[col * s + n] : S(0);
    hi[n] = on && complex_system ? h[col * s + N + n] : S(0);
  }
  for (int k = 0; k < chunks; k++) {
    int steps = max(0, min(len - k * span, span));
    S* block = hs + ((i64)k * cols + col) * s;
#pragma unroll
    for (int n = 0; n < NS; n++) {
      if (n < N) {
        // Ā^steps by squaring (exact in the exponent; rounding as a product of factors)
        S pr = S(1), pi = S(0), br = ar[n], bi = ai[n];
        for (int e = steps; e > 0; e >>= 1) {
          if (e & 1) {
            S t = pr * br - pi * bi;
            pi = pr * bi + pi * br;
            pr = t;
          }
          S t = br * br - bi * bi;
          bi = 2 * br * bi;
          br = t;
        }
        S er = block[n];
        S ei = complex_system ? block[N + n] : S(0);
        block[n] = hr[n];
        if (complex_system) block[N + n] = hi[n];
        S nr = pr * hr[n] - pi * hi[n] + er;
        S ni = pr * hi[n] + pi * hr[n] + ei;
        hr[n] = nr;
        hi[n] = ni;
      }
    }
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) {
      h[col * s + n] = hr[n];
      if (complex_system) h[col * s + N + n] = hi[n];
    }
  }
}

// ---- 2. selective scan forward (SelectiveScan / SelectiveScanGrad.forward) ----
//   Δ = softplus(δ + bias_d) (or δ + bias_d)   h[n] ← exp(Δ A[d,n]) h[n] + Δ B_t[g,n] u_t
//   y_t = (Σ_n C_t[g,n] h[n] + Dskip_d u_t) · silu(z_t)  (no gate when z is null)
// When states is not null, the state before every `chunk` steps is saved at
// states[((k * batch * D) + col) * N + n] for the backward (k = 0 is the initial state).
// delta_per consecutive channels share one Δ (read at delta[t * dT + b * dB + d / delta_per]):
// 1 for Mamba; the head dimension P for Mamba-2's SSD, whose recurrence is this one with channel
// d = (head, p), A, D-skip and Δ bias repeated over the head's channels.

template <typename S, int NS>
__device__ void selective_scan_fwd(int batch, int D, int N, int G, int L, const int* lengths, const S* A,
    const S* dskip, const S* dbias, int use_softplus, const float* u, i64 uT, i64 uB, const float* delta, i64 dT,
    i64 dB, const float* Bm, i64 bT, i64 bB, const float* Cm, i64 cT, i64 cB, const float* z, i64 zT, i64 zB,
    float* y, i64 yT, i64 yB, S* h, int chunk, S* states, int delta_per, int span, S* dsum) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int g = d / (D / G);
  int t0, t1;
  time_chunk(lengths ? lengths[b] : L, span, &t0, &t1);
  S* hk = h + (i64)blockIdx.y * cols * N;
  S a[NS], hs[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    a[n] = n < N ? A[d * N + n] : S(0);
    hs[n] = n < N ? hk[col * N + n] : S(0);
  }
  S steps = S(0);
  S skip = dskip ? dskip[d] : S(0);
  S bias = dbias ? dbias[d] : S(0);
  const float* up = u + (i64)b * uB + d;
  const float* dp = delta + (i64)b * dB + d / delta_per;
  const float* bp = Bm + (i64)b * bB + (i64)g * N;
  const float* cp = Cm ? Cm + (i64)b * cB + (i64)g * N : nullptr;
  const float* zp = z ? z + (i64)b * zB + d : nullptr;
  float* yp = y ? y + (i64)b * yB + d : nullptr;
  for (int t = t0; t < t1; t++) {
    if (states && t % chunk == 0) {  // (one time chunk: launched with gridDim.y = 1)
      S* saved = states + ((i64)(t / chunk) * cols + col) * N;
#pragma unroll
      for (int n = 0; n < NS; n++) {
        if (n < N) saved[n] = hs[n];
      }
    }
    S x = (S)dp[t * dT] + bias;
    S dt = use_softplus ? softplus(x) : x;
    steps += dt;
    S ut = (S)up[t * uT];
    S dtu = dt * ut;
    const float* bt = bp + t * bT;
    S acc = S(0);
#pragma unroll
    for (int n = 0; n < NS; n++) {
      if (n < N) {
        hs[n] = ssm_exp(dt * a[n]) * hs[n] + dtu * (S)bt[n];
        if (cp) acc += (S)cp[t * cT + n] * hs[n];
      }
    }
    if (yp) {
      acc += skip * ut;
      if (zp) acc *= silu((S)zp[t * zT]);
      yp[t * yT] = (float)acc;
    }
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) hk[col * N + n] = hs[n];
  }
  if (dsum) dsum[(i64)blockIdx.y * cols + col] = steps;
}

// Pass (2) of a chunked selective scan: as diag_carry, the decay of chunk k being
// exp(A[d, n] · Σ Δ over the chunk) (ChunkSummary's, from pass (1)'s dsum[k * cols + col]).
template <typename S, int NS>
__device__ void selective_carry(int batch, int D, int N, const S* A, int chunks, const S* dsum, S* hs, S* h) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int d = (int)(col % D);
  S a[NS], hv[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    a[n] = n < N ? A[d * N + n] : S(0);
    hv[n] = n < N ? h[col * N + n] : S(0);
  }
  for (int k = 0; k < chunks; k++) {
    S sum = dsum[(i64)k * cols + col];
    S* block = hs + ((i64)k * cols + col) * N;
#pragma unroll
    for (int n = 0; n < NS; n++) {
      if (n < N) {
        S e = block[n];
        block[n] = hv[n];
        hv[n] = ssm_exp(a[n] * sum) * hv[n] + e;
      }
    }
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) h[col * N + n] = hv[n];
  }
}

// ---- 3a. selective scan backward (SelectiveScanGrad.backward) ----
// From the forward's saved chunk states (zero initial state not assumed: states[k = 0] is used),
// walks the chunks from the last: recomputes the chunk's states into work
// (work[((tl * batch * D) + col) * N + n], chunk steps), then runs the adjoint down through them:
//   g_t = dy0_t C_t + Ā_{t+1} g_{t+1}      gĀ_t Ā_t = g_t h_{t-1} Ā_t
//   dΔ = Σ_n (gĀĀ A + g B u)   gA += Σ_t gĀĀ Δ   du = dy0 D + Δ Σ_n g B   dδ = dΔ softplus'
// Per-element gradients du, dδ, dz are written with the strides of u, δ, z. Sums over the
// channels of a group (gB, gC) are written per column, bc_part[((t * batch + b) * D + d) * N + n]
// (2 arrays), and sums over steps and sequences (gA, gD, gbias) per column, gA_part[col * N + n],
// gD_part[col], gbias_part[col]; reduce_groups and reduce_batch add them up in a fixed order.
// gh_out (nullable) receives ∂L/∂h_{-1}, the gradient of the initial state.

template <typename S, int NS>
__device__ void selective_scan_bwd(int batch, int D, int N, int G, int L, const int* lengths, const S* A,
    const S* dskip, const S* dbias, int use_softplus, const float* u, i64 uT, i64 uB, const float* delta, i64 dT,
    i64 dB, const float* Bm, i64 bT, i64 bB, const float* Cm, i64 cT, i64 cB, const float* z, i64 zT, i64 zB,
    const float* dy, i64 yT, i64 yB, int chunk, const S* states, S* work, float* du, float* ddelta, float* dz,
    float* gB_part, float* gC_part, S* gA_part, S* gD_part, S* gbias_part, S* gh_out) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int g = d / (D / G);
  int len = lengths ? lengths[b] : L;
  S a[NS], gh[NS], gA[NS], hs[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    a[n] = n < N ? A[d * N + n] : S(0);
    gh[n] = S(0);
    gA[n] = S(0);
  }
  S skip = dskip ? dskip[d] : S(0);
  S bias = dbias ? dbias[d] : S(0);
  S gD = S(0), gbias = S(0);
  const float* up = u + (i64)b * uB + d;
  const float* dp = delta + (i64)b * dB + d;
  const float* bp = Bm + (i64)b * bB + (i64)g * N;
  const float* cp = Cm + (i64)b * cB + (i64)g * N;
  const float* zp = z ? z + (i64)b * zB + d : nullptr;
  const float* dyp = dy + (i64)b * yB + d;
  float* dup = du + (i64)b * uB + d;
  float* ddp = ddelta + (i64)b * dB + d;
  float* dzp = dz ? dz + (i64)b * zB + d : nullptr;
  int chunks = (len + chunk - 1) / chunk;
  for (int k = chunks - 1; k >= 0; k--) {
    int t0 = k * chunk;
    int t1 = min(len, t0 + chunk);
    const S* start = states + ((i64)k * cols + col) * N;
    // 1. recompute the chunk's states, exactly as the forward did
#pragma unroll
    for (int n = 0; n < NS; n++) hs[n] = n < N ? start[n] : S(0);
    for (int t = t0; t < t1; t++) {
      S x = (S)dp[t * dT] + bias;
      S dt = use_softplus ? softplus(x) : x;
      S dtu = dt * (S)up[t * uT];
      const float* bt = bp + t * bT;
      S* w = work + ((i64)(t - t0) * cols + col) * N;
#pragma unroll
      for (int n = 0; n < NS; n++) {
        if (n < N) {
          hs[n] = ssm_exp(dt * a[n]) * hs[n] + dtu * (S)bt[n];
          w[n] = hs[n];
        }
      }
    }
    // 2. the adjoint from the chunk's last step down
    for (int t = t1 - 1; t >= t0; t--) {
      S x = (S)dp[t * dT] + bias;
      S dt = use_softplus ? softplus(x) : x;
      S dsp = use_softplus ? softplus_derivative(x) : S(1);
      S ut = (S)up[t * uT];
      S dtu = dt * ut;
      S dyt = (S)dyp[t * yT];
      S zt = zp ? (S)zp[t * zT] : S(0);
      S dy0 = zp ? dyt * silu(zt) : dyt;
      const float* bt = bp + t * bT;
      const float* ct = cp + t * cT;
      const S* ht = work + ((i64)(t - t0) * cols + col) * N;
      const S* hp = t > t0 ? work + ((i64)(t - 1 - t0) * cols + col) * N : start;
      float* gBt = gB_part + (((i64)t * batch + b) * D + d) * N;
      float* gCt = gC_part + (((i64)t * batch + b) * D + d) * N;
      S y0 = S(0), gDelta = S(0), gBu = S(0);
#pragma unroll
      for (int n = 0; n < NS; n++) {
        if (n < N) {
          S hn = ht[n];
          S cn = (S)ct[n];
          S bn = (S)bt[n];
          S ab = ssm_exp(dt * a[n]);
          S gn = gh[n] + dy0 * cn;
          y0 += cn * hn;
          gCt[n] = (float)(dy0 * hn);
          S gAbarAbar = gn * hp[n] * ab;
          gDelta += gAbarAbar * a[n];
          gA[n] += gAbarAbar * dt;
          gBt[n] = (float)(gn * dtu);
          gBu += gn * bn;
          gh[n] = ab * gn;
        }
      }
      y0 += skip * ut;
      if (dzp) dzp[t * zT] = (float)(dyt * y0 * silu_derivative(zt));
      gD += dy0 * ut;
      dup[t * uT] = (float)(dy0 * skip + dt * gBu);
      gDelta += gBu * ut;
      S gd = gDelta * dsp;
      ddp[t * dT] = (float)gd;
      gbias += gd;
    }
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) {
      gA_part[col * N + n] = gA[n];
      if (gh_out) gh_out[col * N + n] = gh[n];
    }
  }
  gD_part[col] = gD;
  gbias_part[col] = gbias;
}

// ---- 3b. diagonal (S4D) scan backward ----
// The adjoint of diag_scan_complex (a real system is the complex one with zero imaginary parts):
//   g_t = dy_t conj(C) + conj(Ā) g_{t+1}      du_t = Σ_n Re(conj(B̄) g_t) + Dskip dy_t
//   gĀ += g_t conj(h_{t-1})   gB̄ += g_t u_t   gC += dy_t conj(h_t)   gDskip += dy_t u_t
// (complex gradients as ∂L/∂Re + i ∂L/∂Im). States are recomputed per chunk from the saved chunk
// states (states[((k * cols) + col) * 2N ..], written by diag_chunk_states) into work
// (chunk × cols × 2N). Parameter gradients per column: gabar_part, gbbar_part, gc_part
// [col * 2N ..] (real parts then imaginary parts), gdskip_part[col]; reduce_batch sums them.

template <typename S, int NS>
__device__ void diag_scan_bwd(int batch, int D, int N, int L, const int* lengths, const S* abar, const S* bbar,
    const S* c, const S* dskip, const float* u, i64 uT, i64 uB, const float* dy, i64 yT, i64 yB, int chunk,
    const S* states, S* work, float* du, S* gabar_part, S* gbbar_part, S* gc_part, S* gdskip_part, S* gh_out) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int len = lengths ? lengths[b] : L;
  int dn = D * N;
  ComplexChannel<S, NS> sys;
  sys.load(abar, bbar, d, D, N);
  const S* ar = sys.ar;
  const S* ai = sys.ai;
  const S* br = sys.br;
  const S* bi = sys.bi;
  S cr[NS], ci[NS];
  S gr[NS], gi[NS], gar[NS], gai[NS], gbr[NS], gbi[NS], gcr[NS], gci[NS];
#pragma unroll
  for (int n = 0; n < NS; n++) {
    cr[n] = n < N ? c[d * N + n] : S(0);
    ci[n] = n < N ? c[dn + d * N + n] : S(0);
    gr[n] = gi[n] = gar[n] = gai[n] = gbr[n] = gbi[n] = gcr[n] = gci[n] = S(0);
  }
  S skip = dskip ? dskip[d] : S(0);
  S gskip = S(0);
  const float* up = u + (i64)b * uB + d;
  const float* dyp = dy + (i64)b * yB + d;
  float* dup = du + (i64)b * uB + d;
  int chunks = (len + chunk - 1) / chunk;
  for (int k = chunks - 1; k >= 0; k--) {
    int t0 = k * chunk;
    int t1 = min(len, t0 + chunk);
    const S* start = states + ((i64)k * cols + col) * 2 * N;
    S hr[NS], hi[NS];
    load_complex_state<S, NS>(start, 0, N, hr, hi);
    for (int t = t0; t < t1; t++) {
      sys.step(hr, hi, (S)up[t * uT]);
      store_complex_state<S, NS>(work + ((i64)(t - t0) * cols + col) * 2 * N, 0, N, hr, hi);
    }
    for (int t = t1 - 1; t >= t0; t--) {
      S ut = (S)up[t * uT];
      S dyt = (S)dyp[t * yT];
      const S* ht = work + ((i64)(t - t0) * cols + col) * 2 * N;
      const S* hp = t > t0 ? work + ((i64)(t - 1 - t0) * cols + col) * 2 * N : start;
      S duAcc = S(0);
#pragma unroll
      for (int n = 0; n < NS; n++) {
        if (n < N) {
          // g_t = dy conj(C) + (carried conj(Ā) g_{t+1}, already in gr/gi)
          S tr = gr[n] + dyt * cr[n];
          S ti = gi[n] - dyt * ci[n];
          gcr[n] += dyt * ht[n];
          gci[n] -= dyt * ht[N + n];
          duAcc += br[n] * tr + bi[n] * ti;
          gbr[n] += tr * ut;
          gbi[n] += ti * ut;
          // gĀ += g conj(h_{t-1})
          gar[n] += tr * hp[n] + ti * hp[N + n];
          gai[n] += ti * hp[n] - tr * hp[N + n];
          // carry conj(Ā) g_t into step t-1
          gr[n] = ar[n] * tr + ai[n] * ti;
          gi[n] = ar[n] * ti - ai[n] * tr;
        }
      }
      dup[t * uT] = (float)(duAcc + skip * dyt);
      gskip += dyt * ut;
    }
  }
#pragma unroll
  for (int n = 0; n < NS; n++) {
    if (n < N) {
      S* ga = gabar_part + col * 2 * N;
      S* gb = gbbar_part + col * 2 * N;
      S* gc = gc_part + col * 2 * N;
      ga[n] = gar[n];
      ga[N + n] = gai[n];
      gb[n] = gbr[n];
      gb[N + n] = gbi[n];
      gc[n] = gcr[n];
      gc[N + n] = gci[n];
      if (gh_out) {
        gh_out[col * 2 * N + n] = gr[n];
        gh_out[col * 2 * N + N + n] = gi[n];
      }
    }
  }
  gdskip_part[col] = gskip;
}

// The complex scan's state before every `chunk` steps, states[((k * cols) + col) * 2N ..] (k = 0:
// the state in h), leaving the final state in h: the forward pass a backward needs.
template <typename S, int NS>
__device__ void diag_chunk_states(int batch, int D, int N, int L, const int* lengths, const S* abar, const S* bbar,
    const float* u, i64 uT, i64 uB, S* h, int chunk, S* states) {
  i64 col = column_index();
  i64 cols = (i64)batch * D;
  if (col >= cols) return;
  int b = (int)(col / D);
  int d = (int)(col % D);
  int len = lengths ? lengths[b] : L;
  ComplexChannel<S, NS> sys;
  sys.load(abar, bbar, d, D, N);
  S hr[NS], hi[NS];
  load_complex_state<S, NS>(h, col, N, hr, hi);
  const float* up = u + (i64)b * uB + d;
  for (int t = 0; t < len; t++) {
    if (t % chunk == 0) store_complex_state<S, NS>(states + ((i64)(t / chunk) * cols + col) * 2 * N, 0, N, hr, hi);
    sys.step(hr, hi, (S)up[t * uT]);
  }
  store_complex_state<S, NS>(h, col, N, hr, hi);
}

// ---- entry points: one per (kernel, state type, NS) ----

#define SSM_DIAG_ENTRIES(S, SUFFIX, NS)                                                                           \
  SSM_EXTERN diag_scan_real_##SUFFIX##_n##NS(int batch, int D, int N, int L, const int* lengths, const S* abar,   \
      const S* bbar, const S* c, const S* dskip, const float* u, i64 uT, i64 uB, float* y, i64 yT, i64 yB, S* h,   \
      int span) {                                                                                                 \
    diag_scan_real<S, NS>(batch, D, N, L, lengths, abar, bbar, c, dskip, u, uT, uB, y, yT, yB, h, span);          \
  }                                                                                                               \
  SSM_EXTERN diag_scan_complex_##SUFFIX##_n##NS(int batch, int D, int N, int L, const int* lengths, const S* abar, \
      const S* bbar, const S* c, const S* dskip, const float* u, i64 uT, i64 uB, float* y, i64 yT, i64 yB, S* h,   \
      int span) {                                                                                                 \
    diag_scan_complex<S, NS>(batch, D, N, L, lengths, abar, bbar, c, dskip, u, uT, uB, y, yT, yB, h, span);       \
  }                                                                                                               \
  SSM_EXTERN diag_carry_##SUFFIX##_n##NS(int batch, int D, int N, int L, const int* lengths, const S* abar,        \
      int complex_system, int span, int chunks, S* hs, S* h) {                                                    \
    diag_carry<S, NS>(batch, D, N, L, lengths, abar, complex_system, span, chunks, hs, h);                        \
  }                                                                                                               \
  SSM_EXTERN diag_chunk_states_##SUFFIX##_n##NS(int batch, int D, int N, int L, const int* lengths,                \
      const S* abar, const S* bbar, const float* u, i64 uT, i64 uB, S* h, int chunk, S* states) {                  \
    diag_chunk_states<S, NS>(batch, D, N, L, lengths, abar, bbar, u, uT, uB, h, chunk, states);                    \
  }                                                                                                               \
  SSM_EXTERN diag_scan_bwd_##SUFFIX##_n##NS(int batch, int D, int N, int L, const int* lengths, const S* abar,    \
      const S* bbar, const S* c, const S* dskip, const float* u, i64 uT, i64 uB, const float* dy, i64 yT, i64 yB,  \
      int chunk, const S* states, S* work, float* du, S* gabar_part, S* gbbar_part, S* gc_part, S* gdskip_part,     \
      S* gh_out) {                                                                                                \
    diag_scan_bwd<S, NS>(batch, D, N, L, lengths, abar, bbar, c, dskip, u, uT, uB, dy, yT, yB, chunk, states, work, \
        du, gabar_part, gbbar_part, gc_part, gdskip_part, gh_out);                                                \
  }

#define SSM_SELECTIVE_ENTRIES(S, SUFFIX, NS)                                                                      \
  SSM_EXTERN selective_scan_fwd_##SUFFIX##_n##NS(int batch, int D, int N, int G, int L, const int* lengths,       \
      const S* A, const S* dskip, const S* dbias, int use_softplus, const float* u, i64 uT, i64 uB,               \
      const float* delta, i64 dT, i64 dB, const float* Bm, i64 bT, i64 bB, const float* Cm, i64 cT, i64 cB,       \
      const float* z, i64 zT, i64 zB, float* y, i64 yT, i64 yB, S* h, int chunk, S* states, int delta_per,        \
      int span, S* dsum) {                                                                                        \
    selective_scan_fwd<S, NS>(batch, D, N, G, L, lengths, A, dskip, dbias, use_softplus, u, uT, uB, delta, dT, dB, \
        Bm, bT, bB, Cm, cT, cB, z, zT, zB, y, yT, yB, h, chunk, states, delta_per, span, dsum);                   \
  }                                                                                                               \
  SSM_EXTERN selective_carry_##SUFFIX##_n##NS(int batch, int D, int N, const S* A, int chunks, const S* dsum,      \
      S* hs, S* h) {                                                                                              \
    selective_carry<S, NS>(batch, D, N, A, chunks, dsum, hs, h);                                                  \
  }                                                                                                               \
  SSM_EXTERN selective_scan_bwd_##SUFFIX##_n##NS(int batch, int D, int N, int G, int L, const int* lengths,       \
      const S* A, const S* dskip, const S* dbias, int use_softplus, const float* u, i64 uT, i64 uB,               \
      const float* delta, i64 dT, i64 dB, const float* Bm, i64 bT, i64 bB, const float* Cm, i64 cT, i64 cB,       \
      const float* z, i64 zT, i64 zB, const float* dy, i64 yT, i64 yB, int chunk, const S* states, S* work,       \
      float* du, float* ddelta, float* dz, float* gB_part, float* gC_part, S* gA_part, S* gD_part, S* gbias_part,  \
      S* gh_out) {                                                                                                \
    selective_scan_bwd<S, NS>(batch, D, N, G, L, lengths, A, dskip, dbias, use_softplus, u, uT, uB, delta, dT, dB, \
        Bm, bT, bB, Cm, cT, cB, z, zT, zB, dy, yT, yB, chunk, states, work, du, ddelta, dz, gB_part, gC_part,      \
        gA_part, gD_part, gbias_part, gh_out);                                                                    \
  }

#define SSM_ALL_ENTRIES(S, SUFFIX)     \
  SSM_DIAG_ENTRIES(S, SUFFIX, 8)       \
  SSM_DIAG_ENTRIES(S, SUFFIX, 16)      \
  SSM_DIAG_ENTRIES(S, SUFFIX, 32)      \
  SSM_DIAG_ENTRIES(S, SUFFIX, 64)      \
  SSM_SELECTIVE_ENTRIES(S, SUFFIX, 8)  \
  SSM_SELECTIVE_ENTRIES(S, SUFFIX, 16) \
  SSM_SELECTIVE_ENTRIES(S, SUFFIX, 32) \
  SSM_SELECTIVE_ENTRIES(S, SUFFIX, 64)

SSM_ALL_ENTRIES(float, f32)
SSM_ALL_ENTRIES(double, f64)

// ---- deterministic reductions ----

// out[t * oT + b * oB + g * N + n] = Σ_{d in group g, ascending} part[((t * batch + b) * D + d) * N + n]:
// the gradient of B or C (shared by a group's channels) from the backward's per-column terms.
SSM_EXTERN reduce_groups(int batch, int D, int N, int G, int L, const float* part, float* out, i64 oT, i64 oB) {
  i64 i = column_index();  // one thread per (t, b, g, n)
  i64 total = (i64)L * batch * G * N;
  if (i >= total) return;
  int n = (int)(i % N);
  i64 r = i / N;
  int g = (int)(r % G);
  r /= G;
  int b = (int)(r % batch);
  int t = (int)(r / batch);
  int per = D / G;
  const float* p = part + (((i64)t * batch + b) * D + (i64)g * per) * N + n;
  float s = 0.0f;
  for (int k = 0; k < per; k++) s += p[(i64)k * N];
  out[(i64)t * oT + (i64)b * oB + (i64)g * N + n] = s;
}

// out[j] = Σ_{b ascending} part[b * width + j], j < width: per-column parameter gradients summed
// over the batch (width = D * N, D * 2N or D).
SSM_EXTERN reduce_batch_f64(int batch, int width, const double* part, double* out) {
  i64 j = column_index();
  if (j >= width) return;
  double s = 0.0;
  for (int b = 0; b < batch; b++) s += part[(i64)b * width + j];
  out[j] = s;
}
SSM_EXTERN reduce_batch_f32(int batch, int width, const float* part, float* out) {
  i64 j = column_index();
  if (j >= width) return;
  float s = 0.0f;
  for (int b = 0; b < batch; b++) s += part[(i64)b * width + j];
  out[j] = s;
}

// ---- 4. Mamba forward pieces (MambaModel) ----

// hidden[r * dm + i] = embedding[tokens[r] * dm + i]
SSM_EXTERN embed_rows(int rows, int dm, const int* tokens, const float* embedding, float* hidden) {
  i64 i = column_index();
  if (i >= (i64)rows * dm) return;
  int r = (int)(i / dm);
  int k = (int)(i % dm);
  hidden[i] = embedding[(i64)tokens[r] * dm + k];
}

// Y[r * ldy + o] = Σ_i X[r * ldx + i] W[o * in + i] (PyTorch's Linear without bias, W (out, in)).
// 64×64 output tiles per block of 256 threads, each thread 4×4 outputs, K in steps of 16 through
// shared memory; the sum over i runs in ascending tiles, in float.
#define MM_TILE 64
#define MM_K 16
SSM_EXTERN matmul_xwt(int rows, int in, int out, const float* X, int ldx, const float* W, float* Y, int ldy) {
  __shared__ float xs[MM_K][MM_TILE + 1];
  __shared__ float ws[MM_K][MM_TILE + 1];
  int tid = threadIdx.x;          // 256 threads
  int tr = tid / 16, tc = tid % 16;  // this thread's 4×4 block inside the tile
  int row0 = blockIdx.y * MM_TILE;
  int out0 = blockIdx.x * MM_TILE;
  float acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
  for (int k0 = 0; k0 < in; k0 += MM_K) {
    // 256 threads load 64×16 of X and of W each: 4 elements per thread
    for (int e = tid; e < MM_TILE * MM_K; e += 256) {
      int r = e / MM_K, k = e % MM_K;
      int gr = row0 + r, go = out0 + r, gk = k0 + k;
      xs[k][r] = (gr < rows && gk < in) ? X[(i64)gr * ldx + gk] : 0.0f;
      ws[k][r] = (go < out && gk < in) ? W[(i64)go * in + gk] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < MM_K; k++) {
      float xv[4], wv[4];
      for (int i = 0; i < 4; i++) xv[i] = xs[k][tr * 4 + i];
      for (int j = 0; j < 4; j++) wv[j] = ws[k][tc * 4 + j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] += xv[i] * wv[j];
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; i++) {
    int r = row0 + tr * 4 + i;
    if (r >= rows) continue;
    for (int j = 0; j < 4; j++) {
      int o = out0 + tc * 4 + j;
      if (o < out) Y[(i64)r * ldy + o] = acc[i][j];
    }
  }
}

// residual += hidden (when add), then normed = norm(residual): RMSNorm, or LayerNorm when bias is
// not null; eps as MambaModel.NORM_EPS. One block of 256 threads per row; sums in double through
// shared memory in a fixed tree order.
SSM_EXTERN add_norm(int rows, int dm, float* residual, const float* hidden, int add, const float* weight,
    const float* bias, float eps, float* normed) {
  __shared__ double part[256];
  int r = blockIdx.x;
  int tid = threadIdx.x;
  if (r >= rows) return;
  float* x = residual + (i64)r * dm;
  const float* hd = hidden + (i64)r * dm;
  double sum = 0.0;
  for (int i = tid; i < dm; i += 256) {
    float v = add ? x[i] + hd[i] : x[i];
    x[i] = v;
    sum += v;
  }
  double mean = 0.0;
  if (bias) {
    part[tid] = sum;
    __syncthreads();
    for (int s = 128; s > 0; s >>= 1) {
      if (tid < s) part[tid] += part[tid + s];
      __syncthreads();
    }
    mean = part[0] / dm;
    __syncthreads();
  }
  double squares = 0.0;
  for (int i = tid; i < dm; i += 256) {
    double v = x[i] - mean;
    squares += v * v;
  }
  part[tid] = squares;
  __syncthreads();
  for (int s = 128; s > 0; s >>= 1) {
    if (tid < s) part[tid] += part[tid + s];
    __syncthreads();
  }
  double scale = 1.0 / sqrt(part[0] / dm + (double)eps);
  float* o = normed + (i64)r * dm;
  for (int i = tid; i < dm; i += 256) {
    o[i] = (float)((x[i] - mean) * scale * weight[i] + (bias ? bias[i] : 0.0f));
  }
}

// Causal depthwise convolution of `channels` channels with taps k (CausalConv1d), from the state of
// the last k - 1 inputs (state[(j * channels) + c], oldest first), then silu when asked; the state
// is advanced. Input x[t * xT + c], output y[t * channels + c]. One thread per channel.
SSM_EXTERN causal_conv1d(int rows, int channels, int k, const float* x, i64 xT, const float* weight,
    const float* bias, double* state, int apply_silu, float* y) {
  int c = (int)column_index();
  if (c >= channels) return;
  int past = k - 1;
  double window[8];  // the last k - 1 inputs, k <= 8 (Mamba uses 4)
  for (int j = 0; j < past; j++) window[j] = state[(i64)j * channels + c];
  const float* wc = weight + (i64)c * k;
  for (int t = 0; t < rows; t++) {
    double xt = x[(i64)t * xT + c];
    double acc = bias ? bias[c] : 0.0f;
    for (int j = 0; j < past; j++) acc += (double)wc[j] * window[j];
    acc += (double)wc[past] * xt;
    for (int j = 0; j + 1 < past; j++) window[j] = window[j + 1];
    if (past > 0) window[past - 1] = xt;
    y[(i64)t * channels + c] = (float)(apply_silu ? silu(acc) : acc);
  }
  for (int j = 0; j < past; j++) state[(i64)j * channels + c] = window[j];
}

// Mamba-2's gated RMSNorm, in place: y = norm(y · silu(z)) · weight over each of `groups` groups of
// width / groups channels of a row (z read at z[r * zT + k]). One block of 256 threads per
// (row, group); the sum of squares in double through shared memory in a fixed tree order.
SSM_EXTERN gated_group_norm(int rows, int width, int groups, float* y, const float* z, i64 zT, const float* weight,
    float eps) {
  __shared__ double part[256];
  int r = blockIdx.x;
  int g = blockIdx.y;
  int tid = threadIdx.x;
  if (r >= rows || g >= groups) return;
  int gw = width / groups;
  float* yr = y + (i64)r * width + (i64)g * gw;
  const float* zr = z + (i64)r * zT + (i64)g * gw;
  double squares = 0.0;
  for (int k = tid; k < gw; k += 256) {
    double v = (double)yr[k] * silu((double)zr[k]);
    yr[k] = (float)v;
    squares += v * v;
  }
  part[tid] = squares;
  __syncthreads();
  for (int s = 128; s > 0; s >>= 1) {
    if (tid < s) part[tid] += part[tid + s];
    __syncthreads();
  }
  double scale = 1.0 / sqrt(part[0] / gw + (double)eps);
  const float* wg = weight + (i64)g * gw;
  for (int k = tid; k < gw; k += 256) yr[k] = (float)(yr[k] * (scale * wg[k]));
}

// ---- 5. S4D convolution mode (S4dLayer.Mode.CONVOLUTION): the training step's heavy part ----
// Sequences are batch × len rows of H channels, x[(b * len + t) * H + h]; the kernel K[k * H + h].

// y_t = skip · u_t + Σ_{k ≤ t} K_k u_{t-k}, in that order (S4dLayer.convolveScalar); one thread per (b, t, h).
SSM_EXTERN kconv_fwd(int batch, int len, int H, const float* K, const float* skip, const float* u, float* y) {
  i64 i = column_index();
  if (i >= (i64)batch * len * H) return;
  int h = (int)(i % H);
  i64 row = i / H;  // b * len + t
  int t = (int)(row % len);
  const float* ub = u + (row - t) * H + h;  // the sequence's first row, channel h
  double acc = (double)skip[h] * ub[(i64)t * H];
  for (int k = 0; k <= t; k++) acc += (double)K[(i64)k * H + h] * ub[(i64)(t - k) * H];
  y[i] = (float)acc;
}

// du_s = skip · dy_s + Σ_{k < len - s} K_k dy_{s+k} (S4dLayer.correlateScalar); one thread per (b, s, h).
SSM_EXTERN kconv_bwd_input(int batch, int len, int H, const float* K, const float* skip, const float* dy,
    float* du) {
  i64 i = column_index();
  if (i >= (i64)batch * len * H) return;
  int h = (int)(i % H);
  i64 row = i / H;
  int s = (int)(row % len);
  const float* db = dy + (row - s) * H + h;
  double acc = (double)skip[h] * db[(i64)s * H];
  for (int k = 0; s + k < len; k++) acc += (double)K[(i64)k * H + h] * db[(i64)(s + k) * H];
  du[i] = (float)acc;
}

// dK_k = Σ_b Σ_{i < len - k} u_i dy_{i+k}, sequences in order, in double; one thread per (k, h). The
// D-skip's gradient Σ dy u is dK_0.
SSM_EXTERN kconv_bwd_kernel(int batch, int len, int H, const float* u, const float* dy, double* dK) {
  i64 i = column_index();
  if (i >= (i64)len * H) return;
  int h = (int)(i % H);
  int k = (int)(i / H);
  double acc = 0.0;
  for (int b = 0; b < batch; b++) {
    const float* ub = u + (i64)b * len * H + h;
    const float* db = dy + (i64)b * len * H + h;
    for (int t = 0; t + k < len; t++) acc += (double)ub[(i64)t * H] * db[(i64)(t + k) * H];
  }
  dK[i] = acc;
}
