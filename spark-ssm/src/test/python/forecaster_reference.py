#!/usr/bin/env python3
"""Writes the forecasting networks' golden files: prediction, MSE loss and the gradient of every tensor.

The networks are bench/train_step_bench.py's plain-PyTorch SMambaNet and S4dNet (imported from that
file, not copied: the same definitions --check-java compares with TrainStepBenchmark), at tiny
shapes, in float64, in evaluation mode (dropout off); the gradients come from torch.autograd. The
learned cycle (CycleNet's queue Q, tensor "cycle.data" (W, C), first in the layout) is not in the
benchmark's nets, so it is added here around their instance norm:

    x' = instance_norm(x) - Q[(row + t) mod W]          t < L
    y^ = (f + Q[(row + L + k) mod W]) * sigma + mu       k < H, f the network's output

(InstanceNorm.normalize is swapped for one returning x' and mu + Q[...] * sigma as the "mean", so
the nets' own "out * std + mean" adds the cycle before the denormalization.) The linear network
(LinearNet: one Linear(L -> H) per channel, tensor "head") is defined here; it is one layer.

Every tensor is drawn N(0, 0.3^2) from a seeded torch.Generator (nothing at its symmetric or
zero init, the cycle included); the windows x (B, L, C) = 1.5 N + 0.5 and targets y (B, H, C) = N.

Usage (from the repository root): /usr/bin/python3 spark-ssm/src/test/python/forecaster_reference.py
Writes spark-ssm/src/test/resources/golden/forecasters/<case>/{weights.safetensors,expected.safetensors};
weights.safetensors holds every tensor by its spark-ssm name (F64), expected.safetensors F64 "x"
(B, L, C), "rows" (B), "y" (B, H, C), "pred" (B, H, C), "loss" (1: F.mse_loss, the mean over
B H C) and "grad.<tensor name>" for every tensor.
"""
import contextlib
import importlib.util
import json
import os
import platform
import struct
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPE = torch.float64
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
OUT = os.path.join(ROOT, "spark-ssm", "src", "test", "resources", "golden", "forecasters")

_spec = importlib.util.spec_from_file_location("train_step_bench", os.path.join(ROOT, "bench", "train_step_bench.py"))
tb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tb)

L, H, C, BATCH = 12, 5, 3, 2
ROWS = [3, 17]
DROPOUT = 0.1  # constructed with dropout, run in eval mode: the Java side passes null dropout seeds

# name -> (builder, hyperparameters as the Java constructor takes them, cycle period, seed)
CASES = OrderedDict([
    ("smamba", ("smamba", dict(d_model=8, layers=2, d_state=3, d_ff=6), 0, 11)),
    ("smamba_cycle", ("smamba", dict(d_model=8, layers=1, d_state=3, d_ff=6), 5, 12)),
    ("s4dnet", ("s4dnet", dict(d_model=4, layers=2, d_state=3, d_ff=6), 0, 13)),
    ("s4dnet_cycle", ("s4dnet", dict(d_model=4, layers=1, d_state=3, d_ff=6), 5, 14)),
    ("linear_cycle", ("linear", dict(), 5, 15)),
])


class LinearNet(nn.Module):
    """spark-ssm's LinearNet (RLinear): each channel's normalized window through one Linear(L -> H)."""

    def __init__(self, lookback, horizon):
        super().__init__()
        self.head = nn.Linear(lookback, horizon)

    def forward(self, x):  # (B, L, C) -> (B, H, C)
        xn, mean, std = tb.InstanceNorm.normalize(x)
        return self.head(xn.transpose(1, 2)).transpose(1, 2) * std + mean


def build(kind, hp):
    if kind == "smamba":
        return tb.SMambaNet(L, H, C, dropout=DROPOUT, **hp)
    if kind == "s4dnet":
        return tb.S4dNet(L, H, C, dropout=DROPOUT, **hp)
    return LinearNet(L, H)


@contextlib.contextmanager
def cycle(q, rows):
    """Within: the nets' instance norm removes Q from the window and (through the mean) adds it to the forecast."""
    plain = tb.InstanceNorm.normalize
    if q is None:
        yield
        return
    period = q.shape[0]
    r = torch.tensor(rows)[:, None]
    q_in = q[(r + torch.arange(L)) % period]  # (B, L, C)
    q_out = q[(r + L + torch.arange(H)) % period]  # (B, H, C)

    def normalize(x):
        xn, mean, std = plain(x)
        return xn - q_in, mean + q_out * std, std

    tb.InstanceNorm.normalize = staticmethod(normalize)
    try:
        yield
    finally:
        tb.InstanceNorm.normalize = staticmethod(plain)


def write_safetensors(path, tensors, producer):
    """tensors: name -> float64 tensor; F64 little-endian, header padded with spaces to 8 bytes."""
    header, blobs, offset = {"__metadata__": {"format": "pt", "producer": producer}}, [], 0
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


def write_case(name, kind, hp, period, seed):
    torch.manual_seed(seed)  # the nets' own init draws from the global generator; everything is overwritten
    net = build(kind, hp).to(DTYPE)
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    params = OrderedDict()
    if period > 0:
        params["cycle.data"] = torch.zeros(period, C, dtype=DTYPE, requires_grad=True)
    params.update(net.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=DTYPE))
    x = 0.5 + 1.5 * torch.randn(BATCH, L, C, generator=gen, dtype=DTYPE)
    y = torch.randn(BATCH, H, C, generator=gen, dtype=DTYPE)
    with cycle(params.get("cycle.data"), ROWS):
        pred = net(x)
    loss = F.mse_loss(pred, y)
    loss.backward()
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    producer = "spark-ssm forecaster_reference.py"
    write_safetensors(os.path.join(d, "weights.safetensors"), params, producer)
    expected = OrderedDict([("x", x), ("rows", torch.tensor(ROWS, dtype=DTYPE)), ("y", y), ("pred", pred),
                            ("loss", loss.detach().reshape(1))])
    for k, p in params.items():
        if p.grad is None:
            raise SystemExit(f"{name}: no gradient reached {k}")
        expected["grad." + k] = p.grad
    write_safetensors(os.path.join(d, "expected.safetensors"), expected, producer)
    print(f"{name}: {sum(p.numel() for p in params.values())} parameters in {len(params)} tensors, "
          f"loss {loss.item():.17g}")


def main():
    torch.set_num_threads(1)
    print(f"# python {platform.python_version()}, torch {torch.__version__}")
    only = sys.argv[1:]
    for name, (kind, hp, period, seed) in CASES.items():
        if not only or name in only:
            write_case(name, kind, hp, period, seed)


if __name__ == "__main__":
    main()
