package org.sparkssm.nn;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.sparkssm.Checks;
import org.sparkssm.init.DiagonalSystem;
import org.sparkssm.init.S4dInit;
import org.sparkssm.scan.DiagonalScan;
import org.sparkssm.scan.DiagonalSsm;

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
 * <p>The layer holds only offsets and shapes: weights {@code w} and gradients {@code gw} are passed
 * in, so threads share weights and keep their own gradient buffers and caches.
 */
public final class S4dLayer {
  /** Default steps between saved states. */
  public static final int DEFAULT_CHUNK = 64;

  private final int channels; // H
  private final int modes; // M
  private final int chunk;
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
    Checks.notNull("layout", layout);
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

  /** Steps between saved states. */
  public int chunk() {
    return chunk;
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
   * system, the states saved at chunk starts ({@code batch · ⌈len/chunk⌉ · 2HM}) and the chunk
   * workspace of the backward ({@code (min(chunk, len) + 1) · 2HM}). Allocated once, reused.
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
    boolean forwardDone;

    Cache(S4dLayer layer, int batch, int len) {
      this.layer = layer;
      this.batch = batch;
      this.len = len;
      int H = layer.channels;
      int size = H * layer.modes;
      this.chunks = (len + layer.chunk - 1) / layer.chunk;
      long uCount = (long) batch * len * H;
      long savedCount = (long) batch * chunks * 2 * size;
      long statesCount = (long) (Math.min(layer.chunk, len) + 1) * 2 * size;
      if (uCount > Integer.MAX_VALUE - 8 || savedCount > Integer.MAX_VALUE - 8
          || statesCount > Integer.MAX_VALUE - 8) {
        Checks.fail("batch*len: expected a workspace below 2^31 doubles, got batch %d, len %d", batch, len);
      }
      this.u = new double[(int) uCount];
      this.saved = new double[(int) savedCount];
      this.states = new double[(int) statesCount];
      this.h = new double[2 * size];
      this.g = new double[2 * size];
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
  }
}
