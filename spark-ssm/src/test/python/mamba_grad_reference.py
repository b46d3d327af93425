#!/usr/bin/env python3
"""Writes the Mamba (Mamba1) training golden files: a loss and the gradient of every tensor.

An independent float64 reference in PyTorch: the forward of mamba_ssm's MambaLMHeadModel with the
Mamba mixer of mamba_simple.py, written from the paper (Gu & Dao 2023, Algorithm 2 and section
3.6) with plain tensor operations and a sequential selective scan (no mamba_ssm code, no fused
kernels), and the gradient of the mean next-token cross-entropy from torch.autograd. Tiny random
models, in the mamba_ssm checkpoint layout (config.json + model.safetensors, MambaLMHeadModel's
tensor names), stored in float64 so the Java side computes from the same numbers.

Usage (from the repository root): /usr/bin/python3 spark-ssm/src/test/python/mamba_grad_reference.py
Writes spark-ssm/src/test/resources/golden/mamba_grad/<case>/{config.json,model.safetensors,
expected.safetensors}; expected.safetensors holds F64 "tokens" (L), "loss" (1), "logits"
(L, vocab padded) and "grad.<tensor name>" for every tensor of model.safetensors.
"""
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F

EPS = 1e-5
DTYPE = torch.float64


def write_safetensors(path, tensors):
    """tensors: name -> float64 tensor; written F64 little-endian, header padded with spaces to 8 bytes."""
    header, blobs, offset = {"__metadata__": {"format": "pt", "producer": "spark-ssm mamba_grad_reference.py"}}, [], 0
    for name, t in tensors.items():
        values = t.detach().contiguous().reshape(-1).tolist()
        data = struct.pack("<%dd" % len(values), *values)
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def silu(v):
    return v * torch.sigmoid(v)


def softplus(v):
    # torch's threshold: v itself above 20 (as mamba_ssm's delta_softplus)
    return torch.where(v > 20.0, v, torch.log1p(torch.exp(torch.clamp(v, max=20.0))))


def norm(x, weight, bias):
    """RMSNorm (bias None) or LayerNorm over the last axis, eps 1e-5, biased variance."""
    if bias is None:
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS) * weight
    mean = x.mean(-1, keepdim=True)
    c = x - mean
    return c / torch.sqrt((c * c).mean(-1, keepdim=True) + EPS) * weight + bias


def mamba_mixer(p, u, cfg):
    """u: (L, d_model) -> (L, d_model); p: the mixer's tensors without the prefix."""
    length = u.shape[0]
    di, n, k, r = cfg["d_inner"], cfg["d_state"], cfg["d_conv"], cfg["dt_rank"]
    xz = u @ p["in_proj.weight"].T                       # (L, 2 di)
    x, z = xz[:, :di], xz[:, di:]
    # Depthwise causal convolution: out[t, c] = b[c] + sum_j w[c, 0, j] x[t - k + 1 + j, c] (zeros before t = 0).
    padded = torch.cat([torch.zeros(k - 1, di, dtype=DTYPE), x], 0)
    conv = p["conv1d.bias"].expand(length, di)
    for j in range(k):
        conv = conv + padded[j:j + length] * p["conv1d.weight"][:, 0, j]
    x = silu(conv)
    dbc = x @ p["x_proj.weight"].T                       # (L, r + 2N)
    dt, B, C = dbc[:, :r], dbc[:, r:r + n], dbc[:, r + n:]
    delta = softplus(dt @ p["dt_proj.weight"].T + p["dt_proj.bias"])   # (L, di)
    A = -torch.exp(p["A_log"])                           # (di, N)
    h = torch.zeros(di, n, dtype=DTYPE)
    ys = []
    for t in range(length):                              # h_t = exp(Δ A) h_{t-1} + Δ x B;  y_t = h_t C + D x
        h = torch.exp(delta[t][:, None] * A) * h + (delta[t] * x[t])[:, None] * B[t][None, :]
        ys.append(h @ C[t] + p["D"] * x[t])
    y = torch.stack(ys) * silu(z)
    return y @ p["out_proj.weight"].T


def model_loss(w, cfg, tokens):
    hidden = w["backbone.embedding.weight"][tokens]
    residual = None
    for i in range(cfg["n_layer"]):
        pre = "backbone.layers.%d." % i
        residual = hidden if residual is None else residual + hidden
        normed = norm(residual, w[pre + "norm.weight"], w.get(pre + "norm.bias"))
        mix = {name[len(pre + "mixer."):]: v for name, v in w.items() if name.startswith(pre + "mixer.")}
        hidden = mamba_mixer(mix, normed, cfg)
    residual = residual + hidden
    final = norm(residual, w["backbone.norm_f.weight"], w.get("backbone.norm_f.bias"))
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["backbone.embedding.weight"]
    logits = final @ head.T
    loss = F.cross_entropy(logits[:-1], tokens[1:])     # position t predicts token t + 1, mean over L - 1
    return loss, logits


def random_weights(gen, cfg):
    """Every tensor off its initialization (no degenerate gradient): Δ = softplus(...) spans about 0.01 to 5."""
    dm, di, n, k, r = cfg["d_model"], cfg["d_inner"], cfg["d_state"], cfg["d_conv"], cfg["dt_rank"]
    vocab = cfg["vocab_padded"]

    def normal(*shape, scale=1.0, mean=0.0):
        return mean + scale * torch.randn(*shape, generator=gen, dtype=DTYPE)

    w = OrderedDict()
    w["backbone.embedding.weight"] = normal(vocab, dm)
    for i in range(cfg["n_layer"]):
        pre = "backbone.layers.%d." % i
        w[pre + "norm.weight"] = normal(dm, scale=0.2, mean=1.0)
        if not cfg["rms_norm"]:
            w[pre + "norm.bias"] = normal(dm, scale=0.2)
        m = pre + "mixer."
        w[m + "A_log"] = torch.log(torch.arange(1, n + 1, dtype=DTYPE)).repeat(di, 1) + normal(di, n, scale=0.3)
        w[m + "D"] = normal(di, scale=0.3, mean=1.0)
        w[m + "in_proj.weight"] = normal(2 * di, dm, scale=dm ** -0.5)
        w[m + "conv1d.weight"] = normal(di, 1, k, scale=0.5)
        w[m + "conv1d.bias"] = normal(di, scale=0.2)
        w[m + "x_proj.weight"] = normal(r + 2 * n, di, scale=di ** -0.5)
        w[m + "dt_proj.weight"] = normal(di, r, scale=r ** -0.5)
        w[m + "dt_proj.bias"] = normal(di, scale=1.5, mean=-1.0)
        w[m + "out_proj.weight"] = normal(dm, di, scale=di ** -0.5)
    w["backbone.norm_f.weight"] = normal(dm, scale=0.2, mean=1.0)
    if not cfg["rms_norm"]:
        w["backbone.norm_f.bias"] = normal(dm, scale=0.2)
    if not cfg["tie_embeddings"]:
        w["lm_head.weight"] = normal(vocab, dm, scale=dm ** -0.5)
    return w


def write_case(out_dir, name, cfg, seed, length):
    gen = torch.Generator().manual_seed(seed)
    w = random_weights(gen, cfg)
    tokens = torch.randint(0, cfg["vocab_size"], (length,), generator=gen)
    leaves = OrderedDict((k, v.clone().requires_grad_(True)) for k, v in w.items())
    loss, logits = model_loss(leaves, cfg, tokens)
    loss.backward()
    config = {"d_model": cfg["d_model"], "n_layer": cfg["n_layer"], "vocab_size": cfg["vocab_size"],
              "pad_vocab_size_multiple": 8, "tie_embeddings": cfg["tie_embeddings"], "rms_norm": cfg["rms_norm"],
              "residual_in_fp32": True, "fused_add_norm": True,
              "ssm_cfg": {"layer": "Mamba1", "d_state": cfg["d_state"], "d_conv": cfg["d_conv"], "expand": 2,
                          "dt_rank": cfg["dt_rank"]}}
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    expected = OrderedDict()
    expected["tokens"] = tokens.to(DTYPE)
    expected["loss"] = loss.detach().reshape(1)
    expected["logits"] = logits.detach()
    for k, v in leaves.items():
        expected["grad." + k] = v.grad
    write_safetensors(os.path.join(d, "expected.safetensors"), expected)
    print("%s: loss %.17g, %d tensors" % (name, loss.item(), len(w)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "spark-ssm/src/test/resources/golden/mamba_grad"
    base = {"d_model": 6, "n_layer": 2, "vocab_size": 11, "vocab_padded": 16, "d_inner": 12, "d_state": 4,
            "d_conv": 4, "dt_rank": 2}
    write_case(out, "tied_rmsnorm", dict(base, rms_norm=True, tie_embeddings=True), 7, 10)
    write_case(out, "untied_layernorm", dict(base, rms_norm=False, tie_embeddings=False), 8, 10)


if __name__ == "__main__":
    main()
