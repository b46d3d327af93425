package org.sparkssm.nn;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.S4dInit;
import org.sparkssm.scan.DiagonalScan;
import org.sparkssm.scan.DiagonalSsm;
import org.sparkssm.scan.FloatMath;
import org.sparkssm.scan.VectorSupport;

/**
 * The trainable S4D layer (Gu, Gupta, Goel, Ré, "On the Parameterization and Initialization of
 * Diagonal State Space Models", NeurIPS 2022): H independent channels ({@code d_model}), each a
 * complex diagonal SSM of M = {@code modes} modes (N/2 in the paper: one mode per conjugate pair,
 * read out as {@code 2 Re}).
 *
 * <pre>
 *   Δ = exp(log_dt)                          (H)
 *   Λ = -exp(log_A_real) + i · A_imag        (H, M)   Re Λ < 0 by construction
 *   Ā = exp(ΔΛ),  B̄ = (Ā - 1)/Λ · B          (H, M)   zero-order hold
 *   h_t = Ā ⊙ h_{t-1} + B̄ u_t                (H, M) complex, h_{-1} = 0 per sequence
 *   y_t = 2 Re Σ_n C_n h_t,n + D u_t         (H)
 * </pre>
 *
 * <p>Tensors (names prefixed by the layer name): {@code log_dt (H)}, {@code log_A_real (H, M)},
 * {@code A_imag (H, M)}, {@code B (H, M, 2)} and {@code C (H, M, 2)} as (real, imag) pairs,
 * {@code D (H)}. Sequences are {@code batch} sequences of {@code len} steps, time-major,
 * {@code u[(b * len + t) * H + h]}, output y in the same layout.
 *
 * <p>Forward discretizes once per call into the {@link Cache}, copies u there (backward needs it)
 * and runs the existing {@link DiagonalScan} (with {@code 2C} so it returns {@code 2 Re(C h)}),
 * chunk by chunk of {@link #chunk()} steps, saving the state at each chunk start: memory
 * {@code O(batch · len/chunk · H · M)} instead of every state.
 *
 * <p>Backward (complex gradients written {@code g = ∂L/∂Re + i ∂L/∂Im}; for a holomorphic
 * {@code w = f(z)}, {@code g_z = g_w · conj(f'(z))}) walks the chunks in reverse: it recomputes a
 * chunk's states from its saved start state, then runs the adjoint recurrence backwards,
 *
 * <pre>
 *   G_t  = conj(Ā) G_{t+1} + 2 conj(C) dy_t                  (adjoint of h_t)
 *   gĀ  += G_t conj(h_{t-1}),   gB̄ += G_t u_t,   gC += 2 dy_t conj(h_t),   gD += dy_t u_t
 *   du_t = Σ_n Re(G_t,n conj(B̄_n)) + D dy_t
 * </pre>
 *
 * carrying G into the previous chunk, and finally chains gĀ, gB̄ through the discretization:
 * {@code G_B = G_B̄ conj((Ā-1)/Λ)}, {@code G_Ā += G_B̄ conj(B/Λ)},
 * {@code G_Λ = G_Ā conj(ΔĀ) - G_B̄ conj(B (Ā-1)/Λ²)}, {@code G_Δ = Σ_n Re(G_Ā conj(ΛĀ))},
 * {@code g log_A_real = Re(G_Λ) · Re Λ}, {@code g A_imag = Im G_Λ}, {@code g log_dt = G_Δ · Δ}.
 *
 * <p><b>Modes.</b> The layer is LTI, so from the zero state the recurrence is the causal
 * convolution {@code y_t = Σ_{k≤t} K_k u_{t-k} + D u_t} with the kernel
 * {@code K[h, k] = 2 Re Σ_n C_n B̄_n Ā_n^k}, {@code k < len}. {@link Mode#RECURRENT} (the default)
 * runs the scan above: O(len · H · M) per sequence, memory for the saved chunk states.
 * {@link Mode#CONVOLUTION} computes K once per call (O(H · M · len)) and convolves directly:
 * O(len² · H / 2) multiply-adds per sequence, memory O(H · len) for K and its gradient plus the
 * copy of u; it pays when {@code len} is small against {@code 16 · M} (len 96, M 32: about 5×
 * fewer operations). Its backward:
 *
 * <pre>
 *   dK_k = Σ_b Σ_t dy_t u_{t-k},   du_s = Σ_k K_k dy_{s+k} + D dy_s,   gD = Σ dy u
 *   S0 = Σ_k dK_k conj(Ā^k),   S1 = Σ_{k≥1} k dK_k conj(Ā^{k-1})
 *   gC = 2 conj(B̄) S0,   gB̄ = 2 conj(C) S0,   gĀ = 2 conj(C B̄) S1
 * </pre>
 *
 * then the same chain through the discretization as the recurrent mode. Both modes give the same
 * numbers up to rounding.
 *
 * <p><b>Precision.</b> A cache computes in float64 unless {@link Cache#computeIn} says otherwise.
 * In convolution mode the float32 modes ({@link Precision#FLOAT32} and
 * {@link Precision#FLOAT32_STATE64} alike: the convolution carries no state) run the O(len² · H)
 * products in float32: the forward rounds K, D and u once per call and convolves in float32, the
 * backward runs both correlations (dK, du) on float32 copies of u, K and dy; each element a
 * float32 fused multiply-add chain, widened to double. K itself, gD, dK's sum over the sequences
 * and the chain from dK to the parameters stay float64, as do the weights and gradients. Recurrent
 * mode always computes in float64.
 *
 * <p>The layer holds only offsets and shapes: weights {@code w} and gradients {@code gw} are passed
 * in, so threads share weights and keep their own gradient buffers and caches.
 */
public final class S4dLayer {
  /** Default steps between saved states. */
  public static final int DEFAULT_CHUNK = 64;

  /** How the forward and backward evaluate the same LTI map (see the class comment). */
  public enum Mode {
    /** The diagonal recurrence, chunked states saved for the adjoint scan: O(len · H · M). */
    RECURRENT,
    /** The causal convolution with the kernel K computed once per call: O(len² · H). */
    CONVOLUTION
  }

  private final int channels; // H
  private final int modes; // M
  private final int chunk;
  private final Mode mode;
  private final int logDt;
  private final int logAReal;
  private final int aImag;
  private final int bOff;
  private final int cOff;
  private final int dOff;
  private final int end; // one past the last parameter of this layer

  /** {@link #S4dLayer(ParameterLayout, String, int, int, int)} with {@link #DEFAULT_CHUNK}. */
  public S4dLayer(ParameterLayout layout, String name, int H, int modes) {
    this(layout, name, H, modes, DEFAULT_CHUNK);
  }

  /**
   * Reserves {@code name.log_dt}, {@code name.log_A_real}, {@code name.A_imag}, {@code name.B},
   * {@code name.C}, {@code name.D} in the layout.
   *
   * @param H channels ({@code d_model})
   * @param modes complex modes per channel (N/2)
   * @param chunk steps between the states the forward saves for the backward
   */
  public S4dLayer(ParameterLayout layout, String name, int H, int modes, int chunk) {
    this(layout, name, H, modes, chunk, Mode.RECURRENT);
  }

  /**
   * {@link #S4dLayer(ParameterLayout, String, int, int, int)} in the given mode: the parameters,
   * their layout and the results are the same in both modes; {@code chunk} matters only to
   * {@link Mode#RECURRENT}.
   */
  public S4dLayer(ParameterLayout layout, String name, int H, int modes, int chunk, Mode mode) {
    Checks.notNull("layout", layout);
    Checks.notNull("mode", mode);
    Checks.notNull("name", name);
    Checks.positive(name + " H (d_model)", H);
    Checks.positive(name + " modes (N/2)", modes);
    Checks.chunkSize(name + " chunk", chunk);
    if ((long) H * modes > Integer.MAX_VALUE / 8) {
      Checks.fail("%s H*modes: expected at most %d, got %d", name, Integer.MAX_VALUE / 8, (long) H * modes);
    }
    this.channels = H;
    this.modes = modes;
    this.chunk = chunk;
    this.mode = mode;
    this.logDt = layout.add(name + ".log_dt", H);
    this.logAReal = layout.add(name + ".log_A_real", H, modes);
    this.aImag = layout.add(name + ".A_imag", H, modes);
    this.bOff = layout.add(name + ".B", H, modes, 2);
    this.cOff = layout.add(name + ".C", H, modes, 2);
    this.dOff = layout.add(name + ".D", H);
    this.end = dOff + H;
  }

  /** H: channels in and out. */
  public int channels() {
    return channels;
  }

  /** M: complex modes per channel. */
  public int modes() {
    return modes;
  }

  /** Steps between saved states (recurrent mode). */
  public int chunk() {
    return chunk;
  }

  /** Recurrent or convolution. */
  public Mode mode() {
    return mode;
  }

  /**
   * S4D-Lin ({@link S4dInit#lin}): {@code log_A_real = log 1/2}, {@code A_imag = π n},
   * {@code B = 1}; {@code log_dt} uniform in {@code [log 0.001, log 0.1]}; C complex normal with
   * variance 1/2 per part; D standard normal.
   */
  public void init(double[] w, SplittableRandom rnd) {
    Checks.range("w", w, 0, end);
    Checks.notNull("rnd", rnd);
    DiagonalSystem lin = S4dInit.lin(2 * modes);
    double[] aRe = lin.aRe();
    double[] aIm = lin.aIm();
    double[] bRe = lin.bRe();
    double[] bIm = lin.bIm();
    double lo = Math.log(0.001);
    double hi = Math.log(0.1);
    double cStd = Math.sqrt(0.5);
    for (int d = 0; d < channels; d++) {
      w[logDt + d] = lo + (hi - lo) * rnd.nextDouble();
      for (int n = 0; n < modes; n++) {
        int i = d * modes + n;
        w[logAReal + i] = Math.log(-aRe[n]);
        w[aImag + i] = aIm[n];
        w[bOff + 2 * i] = bRe[n];
        w[bOff + 2 * i + 1] = bIm[n];
        w[cOff + 2 * i] = cStd * Init.gaussian(rnd);
        w[cOff + 2 * i + 1] = cStd * Init.gaussian(rnd);
      }
      w[dOff + d] = Init.gaussian(rnd);
    }
  }

  /** A workspace for up to {@code batch} sequences of {@code len} steps (reused across calls). */
  public Cache newCache(int batch, int len) {
    Checks.positive("batch", batch);
    Checks.positive("len", len);
    return new Cache(this, batch, len);
  }

  /**
   * Writes y (overwrites it) for {@code batch} sequences of {@code len} steps, each from a zero
   * state. Copies u into the cache, so y may be u, and u may change before {@link #backward}.
   *
   * @throws IllegalArgumentException when the cache is not this layer's for (batch, len), a range
   *     is out of bounds, or the discretized system is not finite
   */
  public void forward(double[] w, double[] u, int uOff, int batch, int len, double[] y, int yOff, Cache cache) {
    checkCall(w, cache, batch, len);
    final int H = channels;
    long count = (long) batch * len * H;
    Checks.range("u", u, uOff, count);
    Checks.range("y", y, yOff, count);
    System.arraycopy(u, uOff, cache.u, 0, (int) count);
    discretize(w, cache);
    if (mode == Mode.CONVOLUTION) {
      convolutionForward(y, yOff, batch, len, cache);
      cache.forwardDone = true;
      return;
    }
    // The existing scan fits exactly: its readout is Re Σ C h + Dskip u, so 2C gives 2 Re(C h),
    // and its u/y layout with D = H channels is one sequence of this layer's input.
    DiagonalSsm ssm = DiagonalSsm.complex(H, modes, cache.abarRe, cache.abarIm, cache.bbarRe, cache.bbarIm,
        cache.c2Re, cache.c2Im, cache.dSkip);
    final int s2 = 2 * H * modes;
    double[] h = cache.h;
    for (int b = 0; b < batch; b++) {
      Arrays.fill(h, 0.0);
      for (int c = 0; c < cache.chunks; c++) {
        int start = c * chunk;
        int steps = Math.min(chunk, len - start);
        System.arraycopy(h, 0, cache.saved, (b * cache.chunks + c) * s2, s2);
        int off = (b * len + start) * H;
        DiagonalScan.scan(ssm, cache.u, off, y, yOff + off, steps, h);
      }
    }
    cache.forwardDone = true;
  }

  /**
   * Writes du (overwrites it) and accumulates ({@code +=}) every parameter gradient into gw, for
   * the forward last run with this cache.
   *
   * @param dy the gradient of the forward's output, same layout as y
   */
  public void backward(double[] w, double[] gw, double[] dy, int dyOff, int batch, int len, double[] du, int duOff,
      Cache cache) {
    checkCall(w, cache, batch, len);
    Checks.range("gw", gw, 0, end);
    final int H = channels;
    long count = (long) batch * len * H;
    Checks.range("dy", dy, dyOff, count);
    Checks.range("du", du, duOff, count);
    if (!cache.forwardDone) {
      Checks.fail("cache: expected the cache of a forward call, got one no forward has filled");
    }
    if (mode == Mode.CONVOLUTION) {
      convolutionBackward(dy, dyOff, batch, len, du, duOff, cache);
      chainToParameters(w, gw, cache);
      return;
    }
    final int s2 = 2 * H * modes;
    double[] g = cache.g;
    double[] acc = cache.acc;
    Arrays.fill(acc, 0.0);
    for (int b = 0; b < batch; b++) {
      Arrays.fill(g, 0.0); // nothing after the last step
      for (int c = cache.chunks - 1; c >= 0; c--) {
        int start = c * chunk;
        int steps = Math.min(chunk, len - start);
        int off = (b * len + start) * H;
        chunkStates(cache, cache.saved, (b * cache.chunks + c) * s2, cache.u, off, steps, cache.states);
        adjointChunk(cache, cache.states, cache.u, off, dy, dyOff + off, steps, du, duOff + off, g, acc);
      }
    }
    chainToParameters(w, gw, cache);
  }

  /**
   * Recomputes a chunk's states from its start state: {@code states[0 .. 2HM)} = the state before
   * the chunk ({@code h0[h0Off ..]}), then {@code states[(s+1) · 2HM ..]} = h after step s, for
   * s in [0, steps). Each state in the complex layout of {@link DiagonalSsm} (real parts first).
   * Uses the discretization of the last forward with this cache.
   */
  void chunkStates(Cache cache, double[] h0, int h0Off, double[] u, int uOff, int steps, double[] states) {
    final int H = channels;
    final int size = H * modes;
    final int s2 = 2 * size;
    assert states.length >= (steps + 1) * s2;
    System.arraycopy(h0, h0Off, states, 0, s2);
    double[] ar = cache.abarRe;
    double[] ai = cache.abarIm;
    double[] br = cache.bbarRe;
    double[] bi = cache.bbarIm;
    for (int s = 0; s < steps; s++) {
      int prev = s * s2;
      int cur = prev + s2;
      int ut = uOff + s * H;
      for (int d = 0; d < H; d++) {
        double ud = u[ut + d];
        for (int i = d * modes, e = i + modes; i < e; i++) {
          double hr = states[prev + i];
          double hi = states[prev + size + i];
          states[cur + i] = ar[i] * hr - ai[i] * hi + br[i] * ud;
          states[cur + size + i] = ar[i] * hi + ai[i] * hr + bi[i] * ud;
        }
      }
    }
  }

  /**
   * The adjoint recurrence over one chunk of {@code steps} steps, backwards in time, the piece a
   * chunked backward repeats with a carried adjoint:
   *
   * <ul>
   *   <li>{@code g} (2HM, state layout) holds on entry ∂L/∂(the chunk's last state) from the steps
   *       after the chunk (zero after a sequence's last step) and on return ∂L/∂(the state before
   *       the chunk): the reverse of the forward's carried h.</li>
   *   <li>{@code states} from {@link #chunkStates} (the state before the chunk, then one per step).</li>
   *   <li>writes {@code du[duOff + s·H + d]} (overwrites); accumulates the gradients of the
   *       discrete system into {@code acc}: gĀ re, im, gB̄ re, im, gC re, im (each HM, {@code [d·M + n]}),
   *       then gD (H).</li>
   * </ul>
   */
  void adjointChunk(Cache cache, double[] states, double[] u, int uOff, double[] dy, int dyOff, int steps,
      double[] du, int duOff, double[] g, double[] acc) {
    final int H = channels;
    final int size = H * modes;
    final int s2 = 2 * size;
    assert g.length >= s2 && acc.length >= 6 * size + H;
    double[] ar = cache.abarRe;
    double[] ai = cache.abarIm;
    double[] br = cache.bbarRe;
    double[] bi = cache.bbarIm;
    double[] c2r = cache.c2Re;
    double[] c2i = cache.c2Im;
    double[] skip = cache.dSkip;
    final int gAr = 0;
    final int gAi = size;
    final int gBr = 2 * size;
    final int gBi = 3 * size;
    final int gCr = 4 * size;
    final int gCi = 5 * size;
    final int gD = 6 * size;
    for (int s = steps - 1; s >= 0; s--) {
      int prev = s * s2; // h_{t-1}
      int cur = prev + s2; // h_t
      int ut = uOff + s * H;
      int yt = dyOff + s * H;
      for (int d = 0; d < H; d++) {
        double dyd = dy[yt + d];
        double ud = u[ut + d];
        double dud = skip[d] * dyd;
        acc[gD + d] += dyd * ud;
        for (int i = d * modes, e = i + modes; i < e; i++) {
          // G_t = (adjoint from later steps) + 2 conj(C) dy_t; c2 holds 2C.
          double gr = g[i] + c2r[i] * dyd;
          double gi = g[size + i] - c2i[i] * dyd;
          double hpr = states[prev + i];
          double hpi = states[prev + size + i];
          // gĀ += G_t conj(h_{t-1})
          acc[gAr + i] += gr * hpr + gi * hpi;
          acc[gAi + i] += gi * hpr - gr * hpi;
          // gB̄ += G_t u_t (u real)
          acc[gBr + i] += gr * ud;
          acc[gBi + i] += gi * ud;
          // gC += 2 dy_t conj(h_t)
          acc[gCr + i] += 2 * dyd * states[cur + i];
          acc[gCi + i] -= 2 * dyd * states[cur + size + i];
          // du_t += Re(G_t conj(B̄))
          dud += gr * br[i] + gi * bi[i];
          // Adjoint of h_{t-1}: conj(Ā) G_t.
          g[i] = ar[i] * gr + ai[i] * gi;
          g[size + i] = ar[i] * gi - ai[i] * gr;
        }
        du[duOff + s * H + d] = dud;
      }
    }
  }

  /**
   * The kernel {@code K[k · H + h] = 2 Re Σ_n C_n B̄_n Ā_n^k} for k in [0, len) (time-major like
   * the sequences) from the discretization in the cache.
   */
  void kernel(Cache cache, int len, double[] kernel) {
    final int H = channels;
    Arrays.fill(kernel, 0, len * H, 0.0);
    double[] ar = cache.abarRe;
    double[] ai = cache.abarIm;
    for (int d = 0; d < H; d++) {
      for (int i = d * modes, e = i + modes; i < e; i++) {
        // w_k = 2C B̄ Ā^k, walked forward; K_k accumulates Re w_k.
        double wr = cache.c2Re[i] * cache.bbarRe[i] - cache.c2Im[i] * cache.bbarIm[i];
        double wi = cache.c2Re[i] * cache.bbarIm[i] + cache.c2Im[i] * cache.bbarRe[i];
        double pr = ar[i];
        double pi = ai[i];
        for (int k = 0, at = d; k < len; k++, at += H) {
          kernel[at] += wr;
          double nr = pr * wr - pi * wi;
          wi = pr * wi + pi * wr;
          wr = nr;
        }
      }
    }
  }

  /**
   * Where convolution mode convolves, when not in this class's loops: a device twin
   * ({@code org.sparkssm.gpu.GpuS4dConvolution}) set on a cache with {@link Cache#convolveOn}. K,
   * D and the gradients stay float64 on the CPU side; the discretization and its chain stay here.
   */
  public interface Convolution {
    /** {@code y_t = D u_t + Σ_{k≤t} K_k u_{t-k}} for batch sequences of len rows of H ({@code [(b·len + t)·H + h]}). */
    void forward(double[] kernel, double[] dSkip, double[] u, int batch, int len, int H, double[] y, int yOff);

    /**
     * For the u of the last forward: {@code dK_k += Σ_b Σ_i u_i dy_{i+k}} ({@code [k·H + h]}),
     * {@code gD[gdOff + h] += Σ dy u} and {@code du_s = D dy_s + Σ_k K_k dy_{s+k}} (overwritten; du
     * may be dy at the same offset).
     */
    void backward(double[] kernel, double[] dSkip, double[] dy, int dyOff, int batch, int len, int H, double[] dKernel,
        double[] gD, int gdOff, double[] du, int duOff);
  }

  /** Convolution mode: K into the cache, then {@code y_t = Σ_{k≤t} K_k u_{t-k} + D u_t} per sequence. */
  private void convolutionForward(double[] y, int yOff, int batch, int len, Cache cache) {
    final int H = channels;
    kernel(cache, len, cache.kernel);
    cache.forward32 = false;
    if (cache.convolution != null) {
      cache.convolution.forward(cache.kernel, cache.dSkip, cache.u, batch, len, H, y, yOff);
      return;
    }
    cache.forward32 = cache.precision != Precision.FLOAT64;
    if (cache.forward32) {
      convolutionForward32(y, yOff, batch, len, cache);
      return;
    }
    for (int b = 0; b < batch; b++) {
      final int ub = b * len * H;
      // Reads the cache's copy of u, so y may be the caller's u.
      int d = VectorSupport.ENABLED
          ? S4dConvolutionVector.convolve(cache.kernel, 0, cache.u, ub, cache.dSkip, y, yOff + ub, len, H)
          : 0;
      convolveScalar(cache.kernel, 0, cache.u, ub, cache.dSkip, y, yOff + ub, len, H, d);
    }
  }

  /**
   * Convolution mode's backward up to the discrete system: dK (summed over the batch) and du per
   * sequence, gD, then gC, gB̄, gĀ from dK through the powers of Ā, into {@code cache.acc} in the
   * layout {@link #adjointChunk} uses. du may be dy itself (same offset): dK and gD read dy first,
   * and du_s needs dy_{s..} only, computed with s forward.
   */
  private void convolutionBackward(double[] dy, int dyOff, int batch, int len, double[] du, int duOff, Cache cache) {
    final int H = channels;
    final int gD = 6 * H * modes;
    double[] dk = cache.dKernel;
    double[] uc = cache.u;
    double[] acc = cache.acc;
    Arrays.fill(acc, 0.0);
    Arrays.fill(dk, 0, len * H, 0.0);
    if (cache.convolution != null) {
      cache.convolution.backward(cache.kernel, cache.dSkip, dy, dyOff, batch, len, H, dk, acc, gD, du, duOff);
      kernelToDiscrete(cache, dk, len, acc);
      return;
    }
    if (cache.forward32) { // the precision of the forward it follows
      convolutionBackward32(dy, dyOff, batch, len, du, duOff, cache);
      kernelToDiscrete(cache, dk, len, acc);
      return;
    }
    for (int b = 0; b < batch; b++) {
      final int ub = b * len * H;
      final int yb = dyOff + ub;
      // dK_k += Σ_i u_i dy_{i+k}
      int d = VectorSupport.ENABLED ? S4dConvolutionVector.correlate(uc, ub, dy, yb, null, dk, 0, len, H, true) : 0;
      correlateScalar(uc, ub, dy, yb, null, dk, 0, len, H, true, d);
      // gD += Σ_t dy_t u_t
      for (int r = 0; r < len * H; r += H) {
        for (int e = 0; e < H; e++) {
          acc[gD + e] += dy[yb + r + e] * uc[ub + r + e];
        }
      }
      // du_s = Σ_k K_k dy_{s+k} + D dy_s
      d = VectorSupport.ENABLED
          ? S4dConvolutionVector.correlate(cache.kernel, 0, dy, yb, cache.dSkip, du, duOff + ub, len, H, false)
          : 0;
      correlateScalar(cache.kernel, 0, dy, yb, cache.dSkip, du, duOff + ub, len, H, false, d);
    }
    kernelToDiscrete(cache, dk, len, acc);
  }

  /**
   * {@code y_t = Σ_{k≤t} K_k u_{t-k} + skip · u_t} over time-major rows ({@code x[row · H + d]})
   * for t in [0, len), channels [d0, H). y must not overlap u. The scalar twin of
   * {@link S4dConvolutionVector#convolve}.
   */
  static void convolveScalar(double[] kern, int kOff, double[] u, int uOff, double[] skip, double[] y, int yOff,
      int len, int H, int d0) {
    for (int t = 0; t < len; t++) {
      for (int d = d0; d < H; d++) {
        double acc = skip[d] * u[uOff + t * H + d];
        for (int k = 0; k <= t; k++) {
          acc += kern[kOff + k * H + d] * u[uOff + (t - k) * H + d];
        }
        y[yOff + t * H + d] = acc;
      }
    }
  }

  /**
   * {@code c_j (= or +=) Σ_{i ≤ len-1-j} a_i b_{i+j} + skip · b_j} over time-major rows for j in
   * [0, len), channels [d0, H); {@code skip} may be null. c may be b at the same offset (c_j is
   * written after its last read of b, and later j read rows of b after j only). The scalar twin of
   * {@link S4dConvolutionVector#correlate}.
   */
  static void correlateScalar(double[] a, int aOff, double[] b, int bOff, double[] skip, double[] c, int cOff, int len,
      int H, boolean accumulate, int d0) {
    for (int j = 0; j < len; j++) {
      for (int d = d0; d < H; d++) {
        double acc = skip == null ? 0 : skip[d] * b[bOff + j * H + d];
        for (int i = 0; i + j < len; i++) {
          acc += a[aOff + i * H + d] * b[bOff + (i + j) * H + d];
        }
        int at = cOff + j * H + d;
        c[at] = accumulate ? c[at] + acc : acc;
      }
    }
  }

  /**
   * {@link #convolutionForward} in float32: rounds K, D and the cache's u to float32 once (kept
   * for the backward), convolves each sequence in float32 and widens y into the double output.
   */
  private void convolutionForward32(double[] y, int yOff, int batch, int len, Cache cache) {
    final int H = channels;
    final int n = len * H;
    cache.ensure32(batch * n, n);
    float[] u32 = cache.u32;
    float[] k32 = cache.kernel32;
    float[] out32 = cache.out32;
    FloatMath.toFloat(cache.kernel, 0, k32, 0, n);
    FloatMath.toFloat(cache.dSkip, 0, cache.skip32, 0, H);
    FloatMath.toFloat(cache.u, 0, u32, 0, batch * n);
    for (int b = 0; b < batch; b++) {
      final int ub = b * n;
      int d = VectorSupport.ENABLED ? S4dConvolutionVector.convolve32(k32, 0, u32, ub, cache.skip32, out32, 0, len, H)
          : 0;
      convolveScalar32(k32, 0, u32, ub, cache.skip32, out32, 0, len, H, d);
      FloatMath.toDouble(out32, 0, y, yOff + ub, n);
    }
  }

  /**
   * {@link #convolutionBackward} in float32 on the forward's float32 u and K and a float32 copy of
   * each sequence's dy: both correlations in float32, dK summed over the sequences in float64
   * (into {@code cache.dKernel}), du widened into the double output. gD stays float64.
   */
  private void convolutionBackward32(double[] dy, int dyOff, int batch, int len, double[] du, int duOff,
      Cache cache) {
    final int H = channels;
    final int n = len * H;
    final int gD = 6 * H * modes;
    double[] dk = cache.dKernel;
    double[] uc = cache.u;
    double[] acc = cache.acc;
    float[] u32 = cache.u32;
    float[] dy32 = cache.dy32;
    float[] out32 = cache.out32;
    for (int b = 0; b < batch; b++) {
      final int ub = b * n;
      final int yb = dyOff + ub;
      FloatMath.toFloat(dy, yb, dy32, 0, n);
      // dK_k += Σ_i u_i dy_{i+k}: float32 within the sequence, float64 across sequences.
      int d = VectorSupport.ENABLED ? S4dConvolutionVector.correlate32(u32, ub, dy32, 0, null, out32, 0, len, H) : 0;
      correlateScalar32(u32, ub, dy32, 0, null, out32, 0, len, H, d);
      for (int r = 0; r < n; r++) {
        dk[r] += out32[r];
      }
      // gD += Σ_t dy_t u_t (float64)
      for (int r = 0; r < n; r += H) {
        for (int e = 0; e < H; e++) {
          acc[gD + e] += dy[yb + r + e] * uc[ub + r + e];
        }
      }
      // du_s = Σ_k K_k dy_{s+k} + D dy_s, into dy32 in place, then widened (du may be dy: read above).
      d = VectorSupport.ENABLED
          ? S4dConvolutionVector.correlate32(cache.kernel32, 0, dy32, 0, cache.skip32, dy32, 0, len, H)
          : 0;
      correlateScalar32(cache.kernel32, 0, dy32, 0, cache.skip32, dy32, 0, len, H, d);
      FloatMath.toDouble(dy32, 0, du, duOff + ub, n);
    }
  }

  /**
   * The float32 twin of {@link #convolveScalar} and the scalar twin of
   * {@link S4dConvolutionVector#convolve32}, with its bits: {@code a = fma(K_k, u_{t-k}, a)} for
   * k = 0 .. t from 0, then {@code y_t = fma(skip, u_t, a)}, channels [d0, H). y must not overlap u.
   */
  static void convolveScalar32(float[] kern, int kOff, float[] u, int uOff, float[] skip, float[] y, int yOff,
      int len, int H, int d0) {
    for (int t = 0; t < len; t++) {
      for (int d = d0; d < H; d++) {
        float acc = 0f;
        for (int k = 0; k <= t; k++) {
          acc = Math.fma(kern[kOff + k * H + d], u[uOff + (t - k) * H + d], acc);
        }
        y[yOff + t * H + d] = Math.fma(skip[d], u[uOff + t * H + d], acc);
      }
    }
  }

  /**
   * The float32 twin of {@link #correlateScalar} (overwriting c) and the scalar twin of
   * {@link S4dConvolutionVector#correlate32}, with its bits: {@code c = fma(a_i, b_{i+j}, c)} for
   * i = 0, 1, ... from 0, then {@code c_j = fma(skip, b_j, c)} ({@code skip} may be null: no term),
   * channels [d0, H). c may be b at the same offset.
   */
  static void correlateScalar32(float[] a, int aOff, float[] b, int bOff, float[] skip, float[] c, int cOff, int len,
      int H, int d0) {
    for (int j = 0; j < len; j++) {
      for (int d = d0; d < H; d++) {
        float acc = 0f;
        for (int i = 0; i + j < len; i++) {
          acc = Math.fma(a[aOff + i * H + d], b[bOff + (i + j) * H + d], acc);
        }
        c[cOff + j * H + d] = skip == null ? acc : Math.fma(skip[d], b[bOff + j * H + d], acc);
      }
    }
  }

  /**
   * The kernel's gradient dK ({@code [k · H + h]}) to the discrete system, into acc's gĀ, gB̄, gC
   * (+=): with {@code S0 = Σ_k dK_k conj(Ā^k)} and {@code S1 = Σ_{k≥1} k dK_k conj(Ā^{k-1})},
   * {@code gC = 2 conj(B̄) S0}, {@code gB̄ = 2 conj(C) S0}, {@code gĀ = 2 conj(C B̄) S1}.
   */
  void kernelToDiscrete(Cache cache, double[] dk, int len, double[] acc) {
    final int H = channels;
    final int size = H * modes;
    double[] ar = cache.abarRe;
    double[] ai = cache.abarIm;
    for (int d = 0; d < H; d++) {
      for (int i = d * modes, e = i + modes; i < e; i++) {
        double s0r = 0;
        double s0i = 0;
        double s1r = 0;
        double s1i = 0;
        double pr = 1; // P = Ā^k
        double pi = 0;
        double are = ar[i];
        double aim = ai[i];
        for (int k = 0, at = d; k < len; k++, at += H) {
          double g0 = dk[at];
          s0r += g0 * pr;
          s0i -= g0 * pi;
          if (k + 1 < len) {
            double g1 = (k + 1) * dk[at + H];
            s1r += g1 * pr;
            s1i -= g1 * pi;
          }
          double nr = are * pr - aim * pi;
          pi = are * pi + aim * pr;
          pr = nr;
        }
        double cr = 0.5 * cache.c2Re[i]; // C
        double ci = 0.5 * cache.c2Im[i];
        double br = cache.bbarRe[i];
        double bi = cache.bbarIm[i];
        // gC = 2 conj(B̄) S0
        acc[4 * size + i] += 2 * (br * s0r + bi * s0i);
        acc[5 * size + i] += 2 * (br * s0i - bi * s0r);
        // gB̄ = 2 conj(C) S0
        acc[2 * size + i] += 2 * (cr * s0r + ci * s0i);
        acc[3 * size + i] += 2 * (cr * s0i - ci * s0r);
        // gĀ = 2 conj(C B̄) S1
        double qr = cr * br - ci * bi;
        double qi = cr * bi + ci * br;
        acc[i] += 2 * (qr * s1r + qi * s1i);
        acc[size + i] += 2 * (qr * s1i - qi * s1r);
      }
    }
  }

  /**
   * Fills the cache's Ā, B̄, 2C, D, and the Δ, Λ, (Ā-1)/Λ the backward chains through. Ā - 1 is
   * formed with expm1 and {@code cos x - 1 = -2 sin²(x/2)}: for small Δ the plain {@code exp - 1}
   * would cancel most digits of B̄.
   */
  void discretize(double[] w, Cache cache) {
    for (int d = 0; d < channels; d++) {
      double delta = Math.exp(w[logDt + d]);
      cache.delta[d] = delta;
      cache.dSkip[d] = w[dOff + d];
      for (int n = 0; n < modes; n++) {
        int i = d * modes + n;
        double lr = -Math.exp(w[logAReal + i]);
        double li = w[aImag + i];
        double zr = delta * lr;
        double zi = delta * li;
        double cos = Math.cos(zi);
        double sin = Math.sin(zi);
        double ez = Math.exp(zr);
        double abr = ez * cos;
        double abi = ez * sin;
        double half = Math.sin(0.5 * zi);
        double am1r = Math.expm1(zr) * cos - 2 * half * half; // Re(Ā - 1)
        double am1i = abi;
        // E = (Ā - 1)/Λ = (Ā - 1) conj(Λ) / |Λ|²
        double inv = 1.0 / (lr * lr + li * li);
        double er = (am1r * lr + am1i * li) * inv;
        double ei = (am1i * lr - am1r * li) * inv;
        double bRe = w[bOff + 2 * i];
        double bIm = w[bOff + 2 * i + 1];
        cache.lambdaRe[i] = lr;
        cache.lambdaIm[i] = li;
        cache.abarRe[i] = abr;
        cache.abarIm[i] = abi;
        cache.eRe[i] = er;
        cache.eIm[i] = ei;
        cache.bbarRe[i] = er * bRe - ei * bIm;
        cache.bbarIm[i] = er * bIm + ei * bRe;
        cache.c2Re[i] = 2 * w[cOff + 2 * i];
        cache.c2Im[i] = 2 * w[cOff + 2 * i + 1];
      }
    }
  }

  /** Chains the discrete gradients in {@code cache.acc} through the ZOH discretization into gw (+=). */
  private void chainToParameters(double[] w, double[] gw, Cache cache) {
    final int size = channels * modes;
    double[] acc = cache.acc;
    for (int d = 0; d < channels; d++) {
      double delta = cache.delta[d];
      double gDelta = 0;
      for (int n = 0; n < modes; n++) {
        int i = d * modes + n;
        double lr = cache.lambdaRe[i];
        double li = cache.lambdaIm[i];
        double abr = cache.abarRe[i];
        double abi = cache.abarIm[i];
        double er = cache.eRe[i];
        double ei = cache.eIm[i];
        double bRe = w[bOff + 2 * i];
        double bIm = w[bOff + 2 * i + 1];
        double gbr = acc[2 * size + i];
        double gbi = acc[3 * size + i];
        // B̄ = E B:  G_B = G_B̄ conj(E).
        gw[bOff + 2 * i] += gbr * er + gbi * ei;
        gw[bOff + 2 * i + 1] += gbi * er - gbr * ei;
        // B/Λ and E/Λ (E/Λ = (Ā-1)/Λ²).
        double inv = 1.0 / (lr * lr + li * li);
        double qr = (bRe * lr + bIm * li) * inv; // B/Λ
        double qi = (bIm * lr - bRe * li) * inv;
        double pr = (er * lr + ei * li) * inv; // E/Λ
        double pi = (ei * lr - er * li) * inv;
        // G_Ā = gĀ + G_B̄ conj(B/Λ)  (complete before it is used below)
        double gar = acc[i] + gbr * qr + gbi * qi;
        double gai = acc[size + i] + gbi * qr - gbr * qi;
        // G_Λ = G_Ā conj(ΔĀ) + G_B̄ conj(-B E/Λ)
        double mr = -(bRe * pr - bIm * pi); // -B E/Λ
        double mi = -(bRe * pi + bIm * pr);
        double glr = delta * (gar * abr + gai * abi) + gbr * mr + gbi * mi;
        double gli = delta * (gai * abr - gar * abi) + gbi * mr - gbr * mi;
        // G_Δ += Re(G_Ā conj(ΛĀ))
        double lar = lr * abr - li * abi;
        double lai = lr * abi + li * abr;
        gDelta += gar * lar + gai * lai;
        // Re Λ = -exp(log_A_real): d Re Λ / d log_A_real = Re Λ.
        gw[logAReal + i] += glr * lr;
        gw[aImag + i] += gli;
        gw[cOff + 2 * i] += acc[4 * size + i];
        gw[cOff + 2 * i + 1] += acc[5 * size + i];
      }
      gw[logDt + d] += gDelta * delta;
      gw[dOff + d] += acc[6 * size + d];
    }
  }

  private void checkCall(double[] w, Cache cache, int batch, int len) {
    Checks.notNull("cache", cache);
    Checks.range("w", w, 0, end);
    if (cache.layer != this) {
      Checks.fail("cache: expected a cache made by this layer's newCache, got another layer's");
    }
    if (cache.batch < batch || cache.len != len) {
      Checks.fail("cache: expected one for at least %d sequences of len %d, got one for (%d, %d)", batch, len, cache.batch,
          cache.len);
    }
  }

  /**
   * Per-(batch, len) workspace of one thread: the copy of the forward's input u, the discretized
   * system, and in recurrent mode the states saved at chunk starts
   * ({@code batch · ⌈len/chunk⌉ · 2HM}) and the chunk workspace of the backward
   * ({@code (min(chunk, len) + 1) · 2HM}), in convolution mode the kernel and its gradient
   * ({@code 2 · len · H}). Allocated once, reused.
   */
  public static final class Cache {
    final S4dLayer layer;
    final int batch;
    final int len;
    final int chunks;
    final double[] u;
    final double[] saved;
    final double[] states;
    final double[] h;
    final double[] g;
    final double[] acc;
    final double[] delta;
    final double[] dSkip;
    final double[] lambdaRe;
    final double[] lambdaIm;
    final double[] abarRe;
    final double[] abarIm;
    final double[] eRe;
    final double[] eIm;
    final double[] bbarRe;
    final double[] bbarIm;
    final double[] c2Re;
    final double[] c2Im;
    final double[] kernel; // convolution mode: K[k * H + h]
    final double[] dKernel; // convolution mode: dK, same layout
    Convolution convolution; // convolution mode: null for this class's loops
    Precision precision = Precision.FLOAT64;
    // Convolution mode in float32 ({@link #computeIn}): grow-only scratch, allocated on first use.
    float[] u32 = new float[0]; // the forward's u rounded, kept for the backward
    float[] kernel32 = new float[0]; // K rounded
    float[] skip32 = new float[0]; // D rounded
    float[] dy32 = new float[0]; // one sequence's dy rounded, then its du
    float[] out32 = new float[0]; // one sequence's y, then its dK term
    boolean forward32; // the last forward convolved in float32 (the backward follows it)
    boolean forwardDone;

    Cache(S4dLayer layer, int batch, int len) {
      this.layer = layer;
      this.batch = batch;
      this.len = len;
      int H = layer.channels;
      int size = H * layer.modes;
      this.chunks = (len + layer.chunk - 1) / layer.chunk;
      long uCount = (long) batch * len * H;
      boolean recurrent = layer.mode == Mode.RECURRENT;
      long savedCount = recurrent ? (long) batch * chunks * 2 * size : 0;
      long statesCount = recurrent ? (long) (Math.min(layer.chunk, len) + 1) * 2 * size : 0;
      long kernelCount = recurrent ? 0 : (long) len * H;
      if (uCount > Integer.MAX_VALUE - 8 || savedCount > Integer.MAX_VALUE - 8
          || statesCount > Integer.MAX_VALUE - 8 || kernelCount > Integer.MAX_VALUE - 8) {
        Checks.fail("batch*len: expected a workspace below 2^31 doubles, got batch %d, len %d", batch, len);
      }
      this.u = new double[(int) uCount];
      this.saved = new double[(int) savedCount];
      this.states = new double[(int) statesCount];
      this.h = new double[recurrent ? 2 * size : 0];
      this.g = new double[recurrent ? 2 * size : 0];
      this.kernel = new double[(int) kernelCount];
      this.dKernel = new double[(int) kernelCount];
      this.acc = new double[6 * size + H];
      this.delta = new double[H];
      this.dSkip = new double[H];
      this.lambdaRe = new double[size];
      this.lambdaIm = new double[size];
      this.abarRe = new double[size];
      this.abarIm = new double[size];
      this.eRe = new double[size];
      this.eIm = new double[size];
      this.bbarRe = new double[size];
      this.bbarIm = new double[size];
      this.c2Re = new double[size];
      this.c2Im = new double[size];
    }

    public int batch() {
      return batch;
    }

    public int len() {
      return len;
    }

    /** The layer's channels H. */
    public int channels() {
      return layer.channels;
    }

    /**
     * Computes in {@code p} from now on (float64 by default). In convolution mode both float32
     * modes run the O(len² · H) products in float32: the forward's convolution (K, D and u rounded
     * once per call) and the backward's two correlations (dK per sequence, du), with float32 sums
     * and fused multiply-adds, widened to double. {@link Precision#FLOAT32} and
     * {@link Precision#FLOAT32_STATE64} behave the same: the convolution keeps no state. The
     * kernel K, the skip gradient gD, dK's sum over sequences, and the chain from dK to the
     * parameters (S0, S1, the discretization) stay float64. Recurrent mode ignores it and stays
     * float64, as does a device twin set with {@link #convolveOn} or {@link #runOn} (it computes
     * in its own precision).
     */
    public void computeIn(Precision p) {
      Checks.notNull("precision", p);
      precision = p;
    }

    /** The precision it computes in (see {@link #computeIn}). */
    public Precision precision() {
      return precision;
    }

    /** Grows the float32 scratch to u of {@code uCount} and rows of {@code n} (len · H) elements. */
    void ensure32(int uCount, int n) {
      if (u32.length < uCount) {
        u32 = new float[uCount];
      }
      if (kernel32.length < n) {
        kernel32 = new float[n];
        dy32 = new float[n];
        out32 = new float[n];
      }
      if (skip32.length < layer.channels) {
        skip32 = new float[layer.channels];
      }
    }

    /** Convolution mode convolves with {@code c} (null: this class's loops); recurrent mode ignores it. */
    public void convolveOn(Convolution c) {
      this.convolution = c;
    }

    /** Convolution mode convolves on {@code device} where it gives a twin, else in this class's loops. */
    public void runOn(LayerDevice device) {
      convolveOn(layer.mode == Mode.CONVOLUTION ? device.convolution(this) : null);
    }
  }
}
