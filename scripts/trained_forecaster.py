#!/usr/bin/env python3
"""Load a spark-ssm trained forecaster into numpy and forecast with it (numpy only, no PyTorch).

A trained forecaster is the folder ``TrainedForecaster.save(dir)`` writes (``spark-ssm`` package
``org.sparkssm.train``): ``config.json`` and ``model.safetensors``. This module reads both and
reproduces the Java forward of the three networks, ``smamba``, ``s4dnet`` and ``rlinear``, with and
without the learned cycle and the ridge skip, to rounding (the sums run in another order: about
1e-14 of the values' scale)::

    import numpy as np, trained_forecaster as tf
    model = tf.load("out/model")                  # checks the tensors and the saved probe forecast
    y = model.forecast(series, start)              # series (C, rows) float64 -> y (C, H)

``forecast(series, start)`` is ``TrainedForecaster.forecast(double[][] series, int start)``: the
forecast of rows ``[start + L, start + L + H)`` of every channel from rows ``[start, start + L)``,
on the scale the model was trained on. ``start`` is also the phase of the cycle, so pass the
window's row index in the series the model was trained on (rows evenly spaced).

Command line (prints the C x H forecast as CSV, one line per channel, ``%.17g``)::

    python3 scripts/trained_forecaster.py FOLDER INPUT.csv START

where INPUT.csv has one row per time step and one column per channel, no header.

config.json (format_version 1)
------------------------------
``format_version``   1; another version is refused.
``model``            ``smamba``, ``s4dnet`` or ``rlinear``.
``d_model``          token width (smamba) or channel width (s4dnet); 1 for rlinear (unused).
``layers``           encoder layers (rlinear: unused).
``d_state``          smamba: Mamba's N per channel; s4dnet: S4D complex modes M per channel.
``d_ff``             smamba: feed-forward width; s4dnet and rlinear: unused.
``dropout``          training only (evaluation ignores it).
``cycle``            period W of the learned cycle in rows; 0 for none.
``skip``             ``nlinear`` (the network forecasts the residual of a fitted ridge forecaster)
                     or ``none``.
``skip_lambda_rel``  the ridge penalty the skip was fitted with (informational; only with a skip).
``lookback``         L, ``horizon`` H, ``channels`` C.
``layout_fingerprint`` a hash of the Java network's tensor names and shapes (not checked here: the
                     names and shapes themselves are).
``probe_forecast``   Java's forecast (C x H, channel-major) of the probe window
                     ``sin(0.37 t + c) + 0.01 t``, t in [0, L), from row 0: ``load`` recomputes it
                     and refuses a model it does not reproduce to 1e-9.

model.safetensors
-----------------
Every tensor float64 (F32, F16 and BF16 are read too, without the probe check), names and shapes as
a PyTorch ``state_dict`` (``Linear.weight`` is ``(out, in)``, row-major). Shared by every model:

``cycle.data``       (W, C), only with a cycle: CycleNet's queue; the window gets
                     ``x~[t, c] -= Q[(start + t) mod W, c]`` after instance normalization and the
                     network output gets ``f[k, c] += Q[(start + L + k) mod W, c]`` before
                     denormalization.
``skip.beta``        (L - 1, H) and ``skip.intercept`` (H), only with ``skip = nlinear``: the ridge
                     forecaster ``base = x[L-1] + intercept + (x[:L-1] - x[L-1]) @ beta`` of each
                     channel's raw window; the forecast is then ``f * sigma + base`` instead of
                     ``f * sigma + mean``.

rlinear: ``head.weight`` (H, L), ``head.bias`` (H).

smamba (S-Mamba: channels are the tokens; bidirectional Mamba, expand 1, d_conv 2,
dt_rank = ceil(d_model / 16), N = d_state), with ``p = layers.{i}.`` and ``m`` each of
``p + mamba.`` (reads the tokens forward) and ``p + mamba_r.`` (reads them reversed):
``embedding.weight`` (d_model, L), ``embedding.bias``;
``m + A_log`` (d_model, N), ``m + D`` (d_model), ``m + in_proj.weight`` (2 d_model, d_model),
``m + conv1d.weight`` (d_model, 1, 2), ``m + conv1d.bias``, ``m + x_proj.weight``
(dt_rank + 2N, d_model), ``m + dt_proj.weight`` (d_model, dt_rank), ``m + dt_proj.bias`` (d_model),
``m + out_proj.weight`` (d_model, d_model);
``p + norm1.weight``/``.bias``, ``p + ffn1.weight`` (d_ff, d_model), ``p + ffn1.bias``,
``p + ffn2.weight`` (d_model, d_ff), ``p + ffn2.bias``, ``p + norm2.weight``/``.bias``;
``norm.weight``/``.bias`` (d_model), ``projector.weight`` (H, d_model), ``projector.bias`` (H).

s4dnet (deep S4D over time, channel-independent; M = d_state), with ``p = layers.{i}.``:
``encoder.weight`` (d_model, 1), ``encoder.bias``; ``p + norm.weight``/``.bias``;
``p + s4d.log_dt`` (d_model), ``p + s4d.log_A_real`` (d_model, M), ``p + s4d.A_imag`` (d_model, M),
``p + s4d.B`` and ``p + s4d.C`` (d_model, M, 2) as (real, imag), ``p + s4d.D`` (d_model);
``p + out.weight`` (2 d_model, d_model), ``p + out.bias``; ``norm.weight``/``.bias``;
``decoder.weight`` (1, d_model), ``decoder.bias`` (1); ``time_head.weight`` (H, L),
``time_head.bias`` (H); ``skip.weight`` (H, L) (the network's own linear map of the normalized
window, no bias: not the ridge skip, whose tensors are ``skip.beta``/``skip.intercept``).

Forward (evaluation mode: no dropout)
-------------------------------------
Both ends are shared (Java's ChannelFrame); x is the window (L, C) of rows [start, start + L)::

    mean, sigma = x.mean(0), sqrt(x.var(0) + 1e-5)       biased variance, per channel
    x~ = (x - mean) / sigma - Q[(start + t) mod W]        (L, C); no Q without a cycle
    f  = net(x~ᵀ)ᵀ + Q[(start + L + k) mod W]             (H, C); net maps (C, L) -> (C, H)
    y  = f * sigma + (ridge(x) with the nlinear skip, else mean)

    rlinear:  net(u) = head(u)
    smamba:   E = embedding(u)                                        (C, d_model): one token per channel
              per layer: E = norm1(E + mamba(E) + flip(mamba_r(flip(E))))    flip over the C tokens
                         E = norm2(E + ffn2(gelu(ffn1(E))))
              net(u) = projector(norm(E))
    s4dnet:   E = encoder(u[..., None])                               (C, L, d_model): channels independent
              per layer: o = out(gelu(s4d(norm(E))));  E = E + o[:d] * sigmoid(o[d:])     GLU
              net(u) = time_head(decoder(norm(E))[..., 0]) + skip(u)

Mamba mixer (mamba_ssm's Mamba, no bias in in_proj/out_proj), on a sequence (T, d)::

    xs, z = in_proj(E) split in halves;  u = silu(causal depthwise conv1d(xs) + bias)
    dt_low, B, C = x_proj(u) split [dt_rank, N, N];  delta = softplus(dt_low @ dt_proj.weightᵀ + dt_proj.bias)
    h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t,  A = -exp(A_log);  y_t = (h_t C_t + D u_t) silu(z_t)
    out = out_proj(y)

S4D (zero-order hold, zero initial state), per channel of d_model with M complex modes::

    Δ = exp(log_dt),  Λ = -exp(log_A_real) + i A_imag,  Ā = exp(ΔΛ),  B̄ = (Ā - 1) / Λ · B
    K_k = 2 Re Σ_n C_n B̄_n Ā_n^k,  y_t = Σ_{k<=t} K_k u_{t-k} + D u_t

Every LayerNorm has eps 1e-5, GELU is the tanh form, softplus has PyTorch's threshold 20.
"""
import json
import math
import os
import struct
import sys

import numpy as np

FORMAT_VERSION = 1
MODELS = ("smamba", "s4dnet", "rlinear")
PROBE_TOLERANCE = 1e-9  # relative, as TrainedForecaster.load checks its own reload
INSTANCE_NORM_EPS = 1e-5
LAYER_NORM_EPS = 1e-5
MAMBA_D_CONV = 2

_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}


class ModelError(ValueError):
    """A folder that is not a trained forecaster this module can run; the message is one line."""


# ------------------------------------------------------------------------------------------------
# Files


def read_safetensors(path):
    """({name: float64 array}, {name: dtype}) of a safetensors file: u64 LE header length, JSON header, LE data."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ModelError(f"{path}: expected a safetensors file, got {len(blob)} bytes")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > len(blob) - 8:
        raise ModelError(f"{path}: header length {header_len} runs past the file's {len(blob)} bytes")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = memoryview(blob)[8 + header_len:]
    tensors, dtypes = {}, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = entry["dtype"], tuple(entry["shape"])
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        if dtype == "BF16":
            # bfloat16 is the top half of a float32: widen the bits, then reinterpret.
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32)
        elif dtype in _SAFETENSORS_DTYPES:
            values = np.frombuffer(raw, dtype=_SAFETENSORS_DTYPES[dtype])
        else:
            raise ModelError(f"{path}: tensor '{name}' has dtype {dtype}, expected F64, F32, F16 or BF16")
        if values.size != math.prod(shape):
            raise ModelError(f"{path}: tensor '{name}' has {values.size} values, its shape {list(shape)} needs "
                             f"{math.prod(shape)}")
        tensors[name] = values.astype(np.float64).reshape(shape)
        dtypes[name] = dtype
    return tensors, dtypes


def expected_tensors(config):
    """[(name, shape)] the Java network of this config has, in its layout order (ridge skip excluded)."""
    name = config["model"]
    L, C = config["lookback"], config["channels"]
    H = config["horizon"]
    dm, layers, N, d_ff = config["d_model"], config["layers"], config["d_state"], config["d_ff"]
    out = []
    if config["cycle"] > 0:
        out.append(("cycle.data", (config["cycle"], C)))

    def linear(prefix, n_in, n_out, bias=True):
        out.append((prefix + ".weight", (n_out, n_in)))
        if bias:
            out.append((prefix + ".bias", (n_out,)))

    def layer_norm(prefix, dim):
        out.extend([(prefix + ".weight", (dim,)), (prefix + ".bias", (dim,))])

    if name == "rlinear":
        linear("head", L, H)
    elif name == "smamba":
        dt_rank = -(-dm // 16)
        linear("embedding", L, dm)
        for i in range(layers):
            p = f"layers.{i}."
            for m in (p + "mamba.", p + "mamba_r."):
                out.extend([(m + "A_log", (dm, N)), (m + "D", (dm,)), (m + "in_proj.weight", (2 * dm, dm)),
                            (m + "conv1d.weight", (dm, 1, MAMBA_D_CONV)), (m + "conv1d.bias", (dm,)),
                            (m + "x_proj.weight", (dt_rank + 2 * N, dm)), (m + "dt_proj.weight", (dm, dt_rank)),
                            (m + "dt_proj.bias", (dm,)), (m + "out_proj.weight", (dm, dm))])
            layer_norm(p + "norm1", dm)
            linear(p + "ffn1", dm, d_ff)
            linear(p + "ffn2", d_ff, dm)
            layer_norm(p + "norm2", dm)
        layer_norm("norm", dm)
        linear("projector", dm, H)
    else:  # s4dnet
        linear("encoder", 1, dm)
        for i in range(layers):
            p = f"layers.{i}."
            layer_norm(p + "norm", dm)
            s = p + "s4d."
            out.extend([(s + "log_dt", (dm,)), (s + "log_A_real", (dm, N)), (s + "A_imag", (dm, N)),
                        (s + "B", (dm, N, 2)), (s + "C", (dm, N, 2)), (s + "D", (dm,))])
            linear(p + "out", dm, 2 * dm)
        layer_norm("norm", dm)
        linear("decoder", dm, 1)
        linear("time_head", L, H)
        linear("skip", L, H, bias=False)
    return out


def read_config(folder):
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        raise ModelError(f"{folder}: expected a saved trained forecaster (config.json and model.safetensors), "
                         f"got no config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"{path}: expected format version {FORMAT_VERSION}, got {version} "
                         f"(saved by another build of spark-ssm)")
    name = config.get("model")
    if name not in MODELS:
        raise ModelError(f"{path}: expected model one of {', '.join(MODELS)}, got '{name}'")
    for key in ("d_model", "layers", "d_state", "d_ff", "cycle", "lookback", "horizon", "channels"):
        if not isinstance(config.get(key), int):
            raise ModelError(f"{path}: expected an integer '{key}', got {config.get(key)!r}")
    if config.get("skip") not in ("nlinear", "none"):
        raise ModelError(f"{path}: expected skip 'nlinear' or 'none', got {config.get('skip')!r}")
    return config


# ------------------------------------------------------------------------------------------------
# Layers (one window at a time; rows are tokens or time steps, the last axis the features)


def linear(x, weight, bias=None):
    """PyTorch's nn.Linear: x (..., in) @ weight (out, in)ᵀ + bias (out)."""
    y = x @ weight.T
    return y if bias is None else y + bias


def layer_norm(x, weight, bias, eps=LAYER_NORM_EPS):
    """Over the last axis, biased variance: (x - mean) * rstd * weight + bias."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    return centred * rstd * weight + bias


def gelu(x):
    """The tanh form (PyTorch's approximate='tanh'), as spark-ssm's Nonlinearity.GELU."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    """log(1 + e^x) with PyTorch's threshold: x itself above 20 (log1p keeps tiny values exact)."""
    return np.where(x > 20.0, x, np.log1p(np.exp(np.minimum(x, 20.0))))


def instance_norm(window, eps=INSTANCE_NORM_EPS):
    """window (L, C) -> normalized (L, C), mean (C), sigma (C) = sqrt(biased var + eps)."""
    mean = window.mean(axis=0)
    centred = window - mean
    sigma = np.sqrt((centred * centred).mean(axis=0) + eps)
    return centred / sigma, mean, sigma


def cycle_rows(queue, first_row, count):
    """queue (W, C) -> its rows for series rows [first_row, first_row + count): (count, C)."""
    period = queue.shape[0]
    return queue[(first_row + np.arange(count)) % period]


def nlinear_ridge(window, beta, intercept):
    """The nlinear ridge forecast of each channel's raw window (L, C) -> (H, C).

    Features are the window minus its last value without that last (always zero) value, the level
    is the last value: base = last + intercept + (x[:L-1] - last) @ beta, beta (L-1, H)."""
    last = window[-1]  # (C)
    features = (window[:-1] - last).T  # (C, L-1)
    return (last[:, None] + intercept + features @ beta).T  # (H, C)


def depthwise_causal_conv(x, weight, bias):
    """Mamba's conv1d: x (T, D), weight (D, 1, k): y[t] = bias + Σ_j w[:, j] x[t - k + 1 + j], zeros before t = 0."""
    T = x.shape[0]
    k = weight.shape[-1]
    y = np.broadcast_to(bias, x.shape).copy()  # (T, D)
    for j in range(k):
        shift = k - 1 - j  # y[t] reads x[t - shift]
        if shift < T:
            y[shift:] += weight[:, 0, j] * x[:T - shift]
    return y


def selective_scan(u, delta, A, B, C, D, z, delta_bias):
    """Mamba's S6 scan from the zero state over T steps (a loop, as mamba_ssm's selective_scan_ref).

    u, delta, z (T, D); A (D, N); B, C (T, N); D, delta_bias (D) -> y (T, D)."""
    dt = softplus(delta + delta_bias)  # (T, D)
    h = np.zeros(A.shape)  # (D, N)
    y = np.empty_like(u)
    for t in range(u.shape[0]):
        h = np.exp(dt[t][:, None] * A) * h + (dt[t] * u[t])[:, None] * B[t]  # (D, N)
        y[t] = h @ C[t] + D * u[t]
    return y * silu(z)


def mamba_block(x, w, prefix):
    """mamba_ssm's Mamba mixer (no norm, no residual) on one sequence x (T, d_model) -> (T, d_model)."""
    A_log = w[prefix + "A_log"]
    d_inner, N = A_log.shape
    in_proj = w[prefix + "in_proj.weight"]  # (2 d_inner, d_model): x's rows, then z's; no bias (mamba_ssm's default)
    xs = linear(x, in_proj[:d_inner])  # (T, di)
    z = linear(x, in_proj[d_inner:])  # (T, di)
    u = silu(depthwise_causal_conv(xs, w[prefix + "conv1d.weight"], w[prefix + "conv1d.bias"]))  # (T, di)
    x_proj = w[prefix + "x_proj.weight"]  # (dt_rank + 2N, di)
    dt_rank = x_proj.shape[0] - 2 * N
    delta_low = linear(u, x_proj[:dt_rank])  # (T, dt_rank)
    B = linear(u, x_proj[dt_rank:dt_rank + N])  # (T, N)
    C = linear(u, x_proj[dt_rank + N:])  # (T, N)
    delta = linear(delta_low, w[prefix + "dt_proj.weight"])  # (T, di); dt_proj.bias goes inside the softplus
    y = selective_scan(u, delta, -np.exp(A_log), B, C, w[prefix + "D"], z, w[prefix + "dt_proj.bias"])
    return linear(y, w[prefix + "out_proj.weight"])  # (T, d_model)


def bidirectional_mamba(x, w, forward_prefix, reverse_prefix):
    """mamba_f(x) + flip(mamba_r(flip(x))) over the token axis of x (T, d_model)."""
    return mamba_block(x, w, forward_prefix) + mamba_block(x[::-1], w, reverse_prefix)[::-1]


def s4d_kernel(w, prefix, length):
    """S4D's convolution kernel K (length, H) = 2 Re Σ_n C_n B̄_n Ā_n^k, zero-order hold.

    Δ = exp(log_dt), Λ = -exp(log_A_real) + i A_imag, Ā = exp(ΔΛ), B̄ = (Ā - 1)/Λ · B."""
    delta = np.exp(w[prefix + "log_dt"])[:, None]  # (H, 1)
    lam_re = -np.exp(w[prefix + "log_A_real"])  # (H, M)
    lam = lam_re + 1j * w[prefix + "A_imag"]  # (H, M)
    zr, zi = delta * lam_re, delta * lam.imag
    a_bar = np.exp(zr) * (np.cos(zi) + 1j * np.sin(zi))  # (H, M)
    # Ā - 1 without the cancellation of exp(zr) cos(zi) - 1 for small ΔΛ (as S4dLayer.discretize).
    a_bar_minus_1 = (np.expm1(zr) * np.cos(zi) - 2 * np.sin(0.5 * zi) ** 2) + 1j * a_bar.imag
    B = w[prefix + "B"][..., 0] + 1j * w[prefix + "B"][..., 1]  # (H, M)
    C = w[prefix + "C"][..., 0] + 1j * w[prefix + "C"][..., 1]  # (H, M)
    term = 2 * C * (a_bar_minus_1 / lam * B)  # (H, M): 2 C B̄ Ā^k at k = 0
    kernel = np.empty((length, lam.shape[0]))
    for k in range(length):  # powers by repeated products, as the Java kernel walks them
        kernel[k] = term.real.sum(axis=-1)
        term = term * a_bar
    return kernel


def s4d_layer(u, w, prefix):
    """S4D on sequences u (S, T, H) from the zero state: y_t = Σ_{k≤t} K_k u_{t-k} + D u_t, (S, T, H)."""
    T = u.shape[1]
    kernel = s4d_kernel(w, prefix, T)  # (T, H)
    y = w[prefix + "D"] * u  # (S, T, H)
    for k in range(T):  # k ascending: Java's order of the sum
        y[:, k:] += kernel[k] * u[:, :T - k]
    return y


# ------------------------------------------------------------------------------------------------
# Networks: tokens (C, L) of the normalized, cycle-free window -> output (C, H) on that scale


def rlinear_net(tokens, w, config):
    return linear(tokens, w["head.weight"], w["head.bias"])  # (C, H)


def smamba_net(tokens, w, config):
    e = linear(tokens, w["embedding.weight"], w["embedding.bias"])  # (C, d_model): one token per channel
    for i in range(config["layers"]):
        p = f"layers.{i}."
        mixed = bidirectional_mamba(e, w, p + "mamba.", p + "mamba_r.")  # (C, d_model)
        n1 = layer_norm(e + mixed, w[p + "norm1.weight"], w[p + "norm1.bias"])
        hidden = gelu(linear(n1, w[p + "ffn1.weight"], w[p + "ffn1.bias"]))  # (C, d_ff)
        f = linear(hidden, w[p + "ffn2.weight"], w[p + "ffn2.bias"])  # (C, d_model)
        e = layer_norm(n1 + f, w[p + "norm2.weight"], w[p + "norm2.bias"])
    normed = layer_norm(e, w["norm.weight"], w["norm.bias"])
    return linear(normed, w["projector.weight"], w["projector.bias"])  # (C, H)


def s4dnet_net(tokens, w, config):
    e = linear(tokens[..., None], w["encoder.weight"], w["encoder.bias"])  # (C, L, d_model)
    for i in range(config["layers"]):
        p = f"layers.{i}."
        z = layer_norm(e, w[p + "norm.weight"], w[p + "norm.bias"])
        a = gelu(s4d_layer(z, w, p + "s4d."))  # (C, L, d_model)
        o = linear(a, w[p + "out.weight"], w[p + "out.bias"])  # (C, L, 2 d_model)
        dm = o.shape[-1] // 2
        e = o[..., :dm] * sigmoid(o[..., dm:]) + e  # GLU, residual
    normed = layer_norm(e, w["norm.weight"], w["norm.bias"])
    decoded = linear(normed, w["decoder.weight"], w["decoder.bias"])[..., 0]  # (C, L)
    return linear(decoded, w["time_head.weight"], w["time_head.bias"]) + linear(tokens, w["skip.weight"])  # (C, H)


NETWORKS = {"rlinear": rlinear_net, "smamba": smamba_net, "s4dnet": s4dnet_net}


# ------------------------------------------------------------------------------------------------


class TrainedForecaster:
    """A loaded forecaster: ``config`` (config.json), ``tensors`` ({name: float64 array})."""

    def __init__(self, config, tensors):
        self.config = config
        self.tensors = tensors
        self.lookback = config["lookback"]
        self.horizon = config["horizon"]
        self.channels = config["channels"]
        self.network = NETWORKS[config["model"]]

    def forecast_window(self, window, start):
        """window (L, C), rows [start, start + L) of the series -> forecast (H, C) of the next H rows."""
        w = self.tensors
        L, H = self.lookback, self.horizon
        xn, mean, sigma = instance_norm(window)  # (L, C), (C), (C)
        queue = w.get("cycle.data")  # (W, C) or None
        if queue is not None:
            xn = xn - cycle_rows(queue, start, L)  # the phase is the window's first row
        out = self.network(xn.T, w, self.config).T  # (H, C): the network reads one row per channel
        if queue is not None:
            out = out + cycle_rows(queue, start + L, H)
        if "skip.beta" in w:
            base = nlinear_ridge(window, w["skip.beta"], w["skip.intercept"])  # (H, C)
        else:
            base = mean
        return out * sigma + base

    def forecast(self, series, start):
        """series (C, rows) -> (C, H): rows [start + L, start + L + H) forecast from [start, start + L)."""
        series = np.asarray(series, dtype=np.float64)
        if series.ndim != 2 or series.shape[0] != self.channels:
            raise ValueError(f"series: expected shape ({self.channels}, rows), got {series.shape}")
        start = int(start)
        if start < 0 or start + self.lookback > series.shape[1]:
            raise ValueError(f"start: expected 0 <= start <= {series.shape[1] - self.lookback} for a lookback of "
                             f"{self.lookback}, got {start}")
        window = series[:, start:start + self.lookback].T  # (L, C)
        return self.forecast_window(window, start).T  # (C, H)

    def probe_forecast(self):
        """The forecast of the probe window Java saves in config.json, flattened channel-major."""
        t = np.arange(self.lookback)
        series = np.stack([np.sin(0.37 * t + c) + 0.01 * t for c in range(self.channels)])  # (C, L)
        return self.forecast(series, 0).reshape(-1)


def load(folder, check_probe=True):
    """Reads a saved trained forecaster; raises ModelError for a folder it cannot run faithfully.

    With F64 weights (as Java saves them) it recomputes the probe forecast of config.json and refuses
    the model unless it matches to 1e-9 (relative); weights converted to F32 and the like skip that
    check, as does check_probe=False."""
    config = read_config(folder)
    weights_path = os.path.join(folder, "model.safetensors")
    if not os.path.isfile(weights_path):
        raise ModelError(f"{folder}: expected model.safetensors next to config.json, got none")
    tensors, dtypes = read_safetensors(weights_path)
    wanted = expected_tensors(config)
    if config["skip"] == "nlinear":
        L, H = config["lookback"], config["horizon"]
        wanted += [("skip.beta", (L - 1, H)), ("skip.intercept", (H,))]
    for name, shape in wanted:
        if name not in tensors:
            raise ModelError(f"{weights_path}: expected tensor '{name}' {list(shape)} for this {config['model']} "
                             f"config, got none (saved by another architecture version?)")
        if tensors[name].shape != shape:
            raise ModelError(f"{weights_path}: expected tensor '{name}' of shape {list(shape)}, got "
                             f"{list(tensors[name].shape)}")
    extra = sorted(set(tensors) - {name for name, _ in wanted})
    if extra:
        raise ModelError(f"{weights_path}: expected only the tensors of this {config['model']} config, got also "
                         f"{', '.join(extra)} (saved by another architecture version?)")
    model = TrainedForecaster(config, tensors)
    # Weights converted to a narrower dtype forecast differently by design: only F64 can match the probe.
    exact = all(dtype == "F64" for dtype in dtypes.values())
    if check_probe and exact and "probe_forecast" in config:
        saved = np.asarray(config["probe_forecast"], dtype=np.float64)
        probe = model.probe_forecast()
        if saved.shape != probe.shape:
            raise ModelError(f"{folder}: expected {probe.size} probe_forecast values, got {saved.size}")
        scale = np.maximum(1.0, np.maximum(np.abs(saved), np.abs(probe)))
        bad = np.flatnonzero(~(np.abs(probe - saved) <= PROBE_TOLERANCE * scale))
        if bad.size:
            i = int(bad[0])
            raise ModelError(f"{folder}: expected this loader to forecast the probe window as Java did when saving, "
                             f"got value {i} = {float(probe[i])!r} (saved: {float(saved[i])!r}); the model computes "
                             f"something this loader does not")
    return model


def main(argv):
    if len(argv) != 4:
        print(f"usage: {os.path.basename(argv[0])} FOLDER INPUT.csv START", file=sys.stderr)
        return 2
    folder, csv_path, start_text = argv[1:]
    try:
        start = int(start_text)
    except ValueError:
        print(f"error: START: expected an integer row index, got '{start_text}'", file=sys.stderr)
        return 2
    try:
        model = load(folder)
        table = np.loadtxt(csv_path, delimiter=",", dtype=np.float64, ndmin=2)  # (rows, C)
        forecast = model.forecast(table.T, start)  # (C, H)
    except (ModelError, ValueError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)  # one line
        return 1
    for row in forecast:
        print(",".join("%.17g" % v for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
