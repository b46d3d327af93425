#!/usr/bin/env python3
"""Writes the Mamba / Mamba-2 golden checkpoints and their expected outputs.

An independent float64 reference, written from the papers (Gu & Dao 2023, Algorithm 2 and
section 3.6; Dao & Gu 2024, the SSD recurrence and Mamba-2 block), step by step with numpy, and
in the mamba_ssm checkpoint layout (config.json + model.safetensors, MambaLMHeadModel's tensor
names). Small random models; the weights are rounded to float32 before the reference runs, so the
Java model, which reads the float32 file, computes from the same numbers.

Usage (from the repository root): /usr/bin/python3 spark-ssm/src/test/python/mamba_reference.py
Writes spark-ssm/src/test/resources/golden/mamba/{mamba1,mamba2}/{config.json,model.safetensors,
expected.safetensors}; expected.safetensors holds F64 "tokens", "logits" (L, vocab padded) and
"hidden" (L, d_model, after norm_f).
"""
import json
import math
import os
import struct
import sys

import numpy as np

EPS = 1e-5


def write_safetensors(path, tensors, dtype):
    """tensors: name -> ndarray; dtype 'F32' or 'F64' (numpy little-endian bytes)."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4" if dtype == "F32" else "<f8").tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt", "producer": "spark-ssm mamba_reference.py"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def silu(v):
    return v / (1.0 + np.exp(-v))


def softplus(v):
    return np.where(v > 20.0, v, np.log1p(np.exp(np.minimum(v, 20.0))))


def rms_norm(x, w):
    return x / np.sqrt(np.mean(x * x) + EPS) * w


def causal_conv_step(window, w, b):
    """window: (K, C) oldest first, the last row the current input; w: (C, 1, K)."""
    return b + np.einsum("kc,ck->c", window, w[:, 0, :])


def mamba1_mixer(p, u_seq, cfg):
    di, n, k = cfg["d_inner"], cfg["d_state"], cfg["d_conv"]
    r = cfg["dt_rank"]
    A = -np.exp(p["A_log"])                      # (di, n)
    h = np.zeros((di, n))
    window = np.zeros((k, di))
    out = []
    for u in u_seq:                              # u: (d_model,)
        xz = p["in_proj.weight"] @ u             # (2 di,)
        x, z = xz[:di], xz[di:]
        window = np.vstack([window[1:], x])
        x = silu(causal_conv_step(window, p["conv1d.weight"], p["conv1d.bias"]))
        dbc = p["x_proj.weight"] @ x             # (r + 2n,)
        dt, B, C = dbc[:r], dbc[r:r + n], dbc[r + n:]
        delta = softplus(p["dt_proj.weight"] @ dt + p["dt_proj.bias"])   # (di,)
        h = np.exp(delta[:, None] * A) * h + (delta * x)[:, None] * B[None, :]
        y = h @ C + p["D"] * x
        y = y * silu(z)
        out.append(p["out_proj.weight"] @ y)
    return np.array(out)


def mamba2_mixer(p, u_seq, cfg):
    di, n, k, g, hd = cfg["d_inner"], cfg["d_state"], cfg["d_conv"], cfg["ngroups"], cfg["headdim"]
    heads = di // hd
    conv_dim = di + 2 * g * n
    A = -np.exp(p["A_log"])                      # (heads,)
    S = np.zeros((heads, hd, n))
    window = np.zeros((k, conv_dim))
    out = []
    for u in u_seq:
        zxbcdt = p["in_proj.weight"] @ u
        z, xbc, dt = zxbcdt[:di], zxbcdt[di:di + conv_dim], zxbcdt[di + conv_dim:]
        window = np.vstack([window[1:], xbc])
        xbc = silu(causal_conv_step(window, p["conv1d.weight"], p["conv1d.bias"]))
        x = xbc[:di].reshape(heads, hd)
        B = xbc[di:di + g * n].reshape(g, n)
        C = xbc[di + g * n:].reshape(g, n)
        delta = softplus(dt + p["dt_bias"])      # (heads,)
        y = np.zeros((heads, hd))
        for hh in range(heads):
            grp = hh // (heads // g)
            S[hh] = math.exp(delta[hh] * A[hh]) * S[hh] + delta[hh] * np.outer(x[hh], B[grp])
            y[hh] = S[hh] @ C[grp] + p["D"][hh] * x[hh]
        y = y.reshape(di) * silu(z)
        gw = di // g
        for grp in range(g):
            seg = y[grp * gw:(grp + 1) * gw]
            y[grp * gw:(grp + 1) * gw] = seg / np.sqrt(np.mean(seg * seg) + EPS)
        y = y * p["norm.weight"]
        out.append(p["out_proj.weight"] @ y)
    return np.array(out)


def model_forward(weights, cfg, tokens):
    hidden = weights["backbone.embedding.weight"][tokens]
    residual = np.zeros_like(hidden)
    for i in range(cfg["n_layer"]):
        pre = "backbone.layers.%d." % i
        residual = residual + hidden
        normed = np.array([rms_norm(row, weights[pre + "norm.weight"]) for row in residual])
        mix = {k[len(pre + "mixer."):]: v for k, v in weights.items() if k.startswith(pre + "mixer.")}
        hidden = (mamba1_mixer if cfg["layer"] == "Mamba1" else mamba2_mixer)(mix, normed, cfg)
    residual = residual + hidden
    final = np.array([rms_norm(row, weights["backbone.norm_f.weight"]) for row in residual])
    head = weights.get("lm_head.weight", weights["backbone.embedding.weight"])
    return final @ head.T, final


def random_weights(rng, cfg):
    dm, di, n, k, layers = cfg["d_model"], cfg["d_inner"], cfg["d_state"], cfg["d_conv"], cfg["n_layer"]
    vocab = cfg["vocab_padded"]
    w = {"backbone.embedding.weight": rng.normal(0, 1, (vocab, dm))}
    for i in range(layers):
        pre = "backbone.layers.%d." % i
        w[pre + "norm.weight"] = 1 + 0.1 * rng.normal(size=dm)
        m = pre + "mixer."
        if cfg["layer"] == "Mamba1":
            r = cfg["dt_rank"]
            w[m + "in_proj.weight"] = rng.normal(0, dm ** -0.5, (2 * di, dm))
            w[m + "conv1d.weight"] = rng.normal(0, 0.5, (di, 1, k))
            w[m + "conv1d.bias"] = rng.normal(0, 0.1, di)
            w[m + "x_proj.weight"] = rng.normal(0, di ** -0.5, (r + 2 * n, di))
            w[m + "dt_proj.weight"] = rng.normal(0, r ** -0.5, (di, r))
            dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), di))
            w[m + "dt_proj.bias"] = dt + np.log(-np.expm1(-dt))        # inverse softplus
            w[m + "A_log"] = np.log(np.tile(np.arange(1, n + 1, dtype=np.float64), (di, 1)))
            w[m + "D"] = np.ones(di) + 0.1 * rng.normal(size=di)
            w[m + "out_proj.weight"] = rng.normal(0, di ** -0.5, (dm, di))
        else:
            g, heads = cfg["ngroups"], di // cfg["headdim"]
            conv_dim = di + 2 * g * n
            w[m + "in_proj.weight"] = rng.normal(0, dm ** -0.5, (2 * di + 2 * g * n + heads, dm))
            w[m + "conv1d.weight"] = rng.normal(0, 0.5, (conv_dim, 1, k))
            w[m + "conv1d.bias"] = rng.normal(0, 0.1, conv_dim)
            dt = np.exp(rng.uniform(math.log(1e-3), math.log(1e-1), heads))
            w[m + "dt_bias"] = dt + np.log(-np.expm1(-dt))
            w[m + "A_log"] = np.log(rng.uniform(1, 16, heads))
            w[m + "D"] = np.ones(heads)
            w[m + "norm.weight"] = 1 + 0.1 * rng.normal(size=di)
            w[m + "out_proj.weight"] = rng.normal(0, di ** -0.5, (dm, di))
    w["backbone.norm_f.weight"] = 1 + 0.1 * rng.normal(size=dm)
    return {name: f32(v) for name, v in w.items()}


def write_case(out_dir, name, config, cfg, seed, length):
    rng = np.random.default_rng(seed)
    weights = random_weights(rng, cfg)
    tokens = rng.integers(0, cfg["vocab_size"], length)
    logits, hidden = model_forward(weights, cfg, tokens)
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), weights, "F32")
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"tokens": tokens.astype(np.float64), "logits": logits, "hidden": hidden}, "F64")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "spark-ssm/src/test/resources/golden/mamba"
    m1 = {"d_model": 16, "n_layer": 2, "vocab_size": 30, "pad_vocab_size_multiple": 8, "tie_embeddings": True,
          "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
          "ssm_cfg": {"layer": "Mamba1", "d_state": 4, "d_conv": 4, "expand": 2}}
    write_case(out, "mamba1", m1, {"layer": "Mamba1", "d_model": 16, "d_inner": 32, "d_state": 4, "d_conv": 4,
                                   "dt_rank": 1, "n_layer": 2, "vocab_size": 30, "vocab_padded": 32}, 1, 40)
    m2 = {"d_model": 32, "n_layer": 2, "vocab_size": 50, "pad_vocab_size_multiple": 16, "tie_embeddings": True,
          "rms_norm": True, "residual_in_fp32": True, "fused_add_norm": True,
          "ssm_cfg": {"layer": "Mamba2", "d_state": 8, "d_conv": 4, "expand": 2, "headdim": 16, "ngroups": 2,
                      "chunk_size": 16}}
    write_case(out, "mamba2", m2, {"layer": "Mamba2", "d_model": 32, "d_inner": 64, "d_state": 8, "d_conv": 4,
                                   "headdim": 16, "ngroups": 2, "n_layer": 2, "vocab_size": 50,
                                   "vocab_padded": 64}, 2, 40)


if __name__ == "__main__":
    main()
