#!/usr/bin/env python3
"""The single-core PyTorch peer of TrainStepBenchmark (spark-ssm/src/test/java/org/sparkssm/train/):
one training step = forward + MSE + backward + AdamW step of a batch of 32 windows, for the two
networks spark-ssm trains, written in plain PyTorch from their definitions (SMambaNet, S4dNet,
MambaBlock, S4dLayer Javadoc), as a PyTorch user without mamba_ssm or the S4 package would:

  smamba  L=96, H=96, C=7 (ETTh1), d_model 128, 2 layers, d_state 16, d_ff 128, dropout 0.1.
          Instance norm; one token per channel (Linear L -> d_model); per layer
          E = norm1(E + drop(mamba(E) + flip(mamba_r(flip(E))))), E = norm2(E + drop(ffn2(drop(gelu(ffn1(E))))));
          projector(norm(E)) -> H, denormalized. Mamba mixer (expand 1, d_conv 2, dt_rank 8):
          in_proj -> x, z; causal depthwise conv1d with bias; SiLU; x_proj -> (dt_low, B, C);
          dt_proj with bias; softplus; selective scan as a loop over the (7) tokens, as
          mamba_ssm's selective_scan_ref; D skip; SiLU(z) gate; out_proj.
  s4dnet  L=96, H=96, C=7, d_model 64, 3 layers, 32 complex modes, dropout 0.1, channel-independent.
          Per layer E = E + drop(glu(out(drop(gelu(s4d(norm(E))))))); decoder d_model -> 1, time_head
          L -> H plus a linear skip of the normalized window. S4D as the S4 repository's minimal
          s4d.py computes it: K = 2 Re(C B (exp(dtA) - 1)/A exp(dtA k)) by a Vandermonde product,
          y = irfft(rfft(u, 2L) rfft(K, 2L))[:L] + D u; parameters log_dt, log_A_real, A_imag, B, C, D
          as spark-ssm's S4dLayer (B and C as (real, imag) pairs).

GELU is the tanh form, LayerNorm eps 1e-5, AdamW lr 1e-3, no weight decay, no clipping (as the Java
benchmark). The windows are uniform in [-1, 1) from a port of java.util.SplittableRandom(42), so
both sides see the same numbers (the sums are printed, as the Java setup prints them).

Prints each model's parameter count and the median ms/step over --steps steps after --warmup
steps, per dtype, with torch.set_num_threads(1). Use /usr/bin/python3 (Debian's PyTorch):

    /usr/bin/python3 bench/train_step_bench.py --dtype float64,float32

--scan unbind reads the Mamba scan's steps with unbind(2) instead of selective_scan_ref's indexing
(same numbers; the indexing's backward zero-fills a full-size gradient per step).
--list-params prints every tensor as TrainStepBenchmark's main --tensors does (for a diff);
--check-java DIR loads the weights TrainStepBenchmark's main --dump DIR wrote and compares the
evaluation-mode prediction and the MSE gradient with Java's.
"""
import argparse
import math
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH, LOOKBACK, HORIZON, CHANNELS = 32, 96, 96, 7
WINDOW_SEED = 42
LR = 1e-3
MASK64 = (1 << 64) - 1


class SplittableRandom:
    """java.util.SplittableRandom(seed): nextLong = mix64(seed += GOLDEN_GAMMA); nextDouble = (nextLong >>> 11) * 2^-53."""

    GAMMA = 0x9E3779B97F4A7C15

    def __init__(self, seed):
        self.seed = seed & MASK64

    def next_long(self):
        self.seed = (self.seed + self.GAMMA) & MASK64
        z = self.seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def next_double(self):
        return (self.next_long() >> 11) * 2.0 ** -53


def windows():
    """x (B, L, C) then y (B, H, C), uniform in [-1, 1), as TrainStepBenchmark.windows()."""
    rnd = SplittableRandom(WINDOW_SEED)
    x = [2 * rnd.next_double() - 1 for _ in range(BATCH * LOOKBACK * CHANNELS)]
    y = [2 * rnd.next_double() - 1 for _ in range(BATCH * HORIZON * CHANNELS)]
    x = torch.tensor(x, dtype=torch.float64).reshape(BATCH, LOOKBACK, CHANNELS)
    y = torch.tensor(y, dtype=torch.float64).reshape(BATCH, HORIZON, CHANNELS)
    return x, y


def gelu(x):
    return F.gelu(x, approximate="tanh")


class InstanceNorm:
    """Per window and channel over time: x~ = (x - mean) / sqrt(var + 1e-5) (biased var); y = f * std + mean."""

    @staticmethod
    def normalize(x):  # (B, L, C)
        mean = x.mean(1, keepdim=True)
        std = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + 1e-5)
        return (x - mean) / std, mean, std


# ----------------------------------------------------------------------------------------------
# smamba


class MambaMixer(nn.Module):
    """Mamba's mixer (no norm, no residual), sequences (B, T, d_model)."""

    def __init__(self, d_model, d_inner, d_state, dt_rank, d_conv=2):
        super().__init__()
        self.d_inner, self.d_state, self.dt_rank = d_inner, d_state, dt_rank
        # Own parameters first, then the submodules: the order of spark-ssm's layout.
        a = torch.arange(1, d_state + 1, dtype=torch.float64).repeat(d_inner, 1)
        self.A_log = nn.Parameter(torch.log(a))  # S4D-real
        self.D = nn.Parameter(torch.ones(d_inner))
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv1d = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1, bias=True)
        self.x_proj = nn.Linear(d_inner, dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(dt_rank, d_inner, bias=True)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        with torch.no_grad():
            nn.init.uniform_(self.dt_proj.weight, -dt_rank ** -0.5, dt_rank ** -0.5)
            dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
            dt = dt.clamp(min=1e-4)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)

    def forward(self, u):
        T = u.shape[1]
        x, z = self.in_proj(u).chunk(2, dim=-1)  # (B, T, di) each
        x = F.silu(self.conv1d(x.transpose(1, 2))[..., :T])  # (B, di, T), causal
        dt, Bm, Cm = self.x_proj(x.transpose(1, 2)).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(dt)).transpose(1, 2)  # (B, di, T), dt_proj's bias is the Δ bias
        A = -torch.exp(self.A_log)
        y = self.scan(x, delta, A, Bm.transpose(1, 2), Cm.transpose(1, 2), self.D)  # (B, di, T)
        y = y * F.silu(z.transpose(1, 2))
        return self.out_proj(y.transpose(1, 2))


def selective_scan(u, delta, A, B, C, D):
    """u, delta (B, D, T); A (D, N); B, C (B, N, T): a loop over T, as mamba_ssm's selective_scan_ref."""
    batch, dim, T = u.shape
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for i in range(T):
        h = deltaA[:, :, i] * h + deltaB_u[:, :, i]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    return y + u * D[:, None]


def selective_scan_unbind(u, delta, A, B, C, D):
    """The same loop reading the steps from unbind(2): one backward node per tensor instead of one
    full-size zero-filled gradient per indexed step (the reference's deltaA[:, :, i] costs that)."""
    batch, dim, T = u.shape
    deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A)).unbind(2)
    deltaB_u = torch.einsum("bdl,bnl,bdl->bdln", delta, B, u).unbind(2)
    Cs = C.unbind(2)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for i in range(T):
        h = deltaA[i] * h + deltaB_u[i]
        ys.append(torch.einsum("bdn,bn->bd", h, Cs[i]))
    y = torch.stack(ys, dim=2)
    return y + u * D[:, None]


SCANS = {"ref": selective_scan, "unbind": selective_scan_unbind}
MambaMixer.scan = staticmethod(selective_scan)  # --scan unbind swaps in selective_scan_unbind


class SMambaLayer(nn.Module):
    def __init__(self, d_model, d_state, d_ff, dropout):
        super().__init__()
        dt_rank = math.ceil(d_model / 16)
        self.mamba = MambaMixer(d_model, d_model, d_state, dt_rank)
        self.mamba_r = MambaMixer(d_model, d_model, d_state, dt_rank)
        self.norm1 = nn.LayerNorm(d_model)
        self.ffn1 = nn.Linear(d_model, d_ff)
        self.ffn2 = nn.Linear(d_ff, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, e):  # (B, C, d_model): the channels are the tokens
        mixed = self.mamba(e) + self.mamba_r(e.flip(1)).flip(1)
        e = self.norm1(e + self.dropout(mixed))
        f = self.dropout(self.ffn2(self.dropout(gelu(self.ffn1(e)))))
        return self.norm2(e + f)


class SMambaNet(nn.Module):
    def __init__(self, L, H, C, d_model=128, layers=2, d_state=16, d_ff=128, dropout=0.1):
        super().__init__()
        self.embedding = nn.Linear(L, d_model)
        self.layers = nn.ModuleList(SMambaLayer(d_model, d_state, d_ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.projector = nn.Linear(d_model, H)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):  # (B, L, C) -> (B, H, C)
        xn, mean, std = InstanceNorm.normalize(x)
        e = self.dropout(self.embedding(xn.transpose(1, 2)))  # (B, C, d_model)
        for layer in self.layers:
            e = layer(e)
        out = self.projector(self.norm(e)).transpose(1, 2)  # (B, H, C)
        return out * std + mean


# ----------------------------------------------------------------------------------------------
# s4dnet


class S4D(nn.Module):
    """S4D over (batch, H, L) by FFT convolution (the S4 repository's minimal s4d.py), S4D-Lin init."""

    def __init__(self, H, modes):
        super().__init__()
        log_dt = torch.rand(H) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)
        self.log_dt = nn.Parameter(log_dt)
        self.log_A_real = nn.Parameter(torch.full((H, modes), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float64).repeat(H, 1))
        b = torch.zeros(H, modes, 2)
        b[..., 0] = 1.0
        self.B = nn.Parameter(b)  # (real, imag)
        self.C = nn.Parameter(torch.randn(H, modes, 2) * math.sqrt(0.5))
        self.D = nn.Parameter(torch.randn(H))

    def kernel(self, L):
        dt = torch.exp(self.log_dt)  # (H)
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)  # (H, M)
        dtA = A * dt[:, None]
        C = torch.view_as_complex(self.C) * torch.view_as_complex(self.B) * (torch.exp(dtA) - 1.0) / A
        vandermonde = torch.exp(dtA.unsqueeze(-1) * torch.arange(L, device=A.device))  # (H, M, L)
        return 2 * torch.einsum("hn,hnl->hl", C, vandermonde).real  # (H, L)

    def forward(self, u):  # (batch, H, L)
        L = u.shape[-1]
        k_f = torch.fft.rfft(self.kernel(L), n=2 * L)
        u_f = torch.fft.rfft(u, n=2 * L)
        y = torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L]
        return y + u * self.D[:, None]


class S4dBlock(nn.Module):
    def __init__(self, d_model, modes, dropout):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.s4d = S4D(d_model, modes)
        self.out = nn.Linear(d_model, 2 * d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, e):  # (seqs, L, d_model)
        s = self.s4d(self.norm(e).transpose(1, 2)).transpose(1, 2)
        a = self.dropout(gelu(s))
        return e + self.dropout(F.glu(self.out(a), dim=-1))


class S4dNet(nn.Module):
    def __init__(self, L, H, C, d_model=64, layers=3, d_state=32, d_ff=128, dropout=0.1):
        super().__init__()  # d_ff unused, as in spark-ssm (the GLU's width is 2 d_model)
        self.encoder = nn.Linear(1, d_model)
        self.layers = nn.ModuleList(S4dBlock(d_model, d_state, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.decoder = nn.Linear(d_model, 1)
        self.time_head = nn.Linear(L, H)
        self.skip = nn.Linear(L, H, bias=False)

    def forward(self, x):  # (B, L, C) -> (B, H, C)
        batch, L, C = x.shape
        xn, mean, std = InstanceNorm.normalize(x)
        u = xn.transpose(1, 2).reshape(batch * C, L)  # one sequence per channel
        e = self.encoder(u.unsqueeze(-1))  # (seqs, L, d_model)
        for block in self.layers:
            e = block(e)
        dec = self.decoder(self.norm(e)).squeeze(-1)  # (seqs, L)
        y = self.time_head(dec) + self.skip(u)  # (seqs, H)
        return y.reshape(batch, C, -1).transpose(1, 2) * std + mean


# ----------------------------------------------------------------------------------------------


def build(name, dtype):
    torch.manual_seed(2021)
    if name == "smamba":
        net = SMambaNet(LOOKBACK, HORIZON, CHANNELS, d_model=128, layers=2, d_state=16, d_ff=128, dropout=0.1)
    elif name == "s4dnet":
        net = S4dNet(LOOKBACK, HORIZON, CHANNELS, d_model=64, layers=3, d_state=32, d_ff=128, dropout=0.1)
    else:
        raise SystemExit(f"model: expected smamba or s4dnet, got {name}")
    return net.to(dtype)


def count(net):
    return sum(p.numel() for p in net.parameters())


def time_steps(name, dtype, steps, warmup):
    net = build(name, dtype)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=0.0)
    x, y = (t.to(dtype) for t in windows())
    times = []
    loss = None
    for i in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return net, times, loss.item()


def check_java(name, path):
    """Java's weights into the PyTorch net (same names, shapes and order); compares pred and gradient."""
    import numpy as np

    net = build(name, torch.float64)
    params = list(net.parameters())
    n = count(net)
    data = torch.from_numpy(np.fromfile(path, dtype="<f8"))
    x, y = windows()
    if data.numel() != 2 * n + y.numel():
        print(f"{name}: {path} holds {data.numel()} doubles, expected {2 * n + y.numel()} (parameter counts differ?)")
        return
    w, pred_java, grad_java = data[:n], data[n:n + y.numel()], data[n + y.numel():]
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(w[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
    net.eval()
    pred = net(x)
    F.mse_loss(pred, y).backward()
    grad = torch.cat([p.grad.reshape(-1) for p in params])
    pred_err = ((pred.reshape(-1) - pred_java).abs().max() / pred_java.abs().max()).item()
    grad_err = ((grad - grad_java).abs().max() / grad_java.abs().max()).item()
    print(f"{name}: vs Java (eval mode, float64): max |pred diff| / max |pred| = {pred_err:.2e}, "
          f"max |grad diff| / max |grad| = {grad_err:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="smamba,s4dnet")
    parser.add_argument("--dtype", default="float64", help="float64, float32 or both, comma-separated")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scan", choices=sorted(SCANS), default="ref",
                        help="smamba's scan loop: ref indexes deltaA[:, :, i] as selective_scan_ref; unbind "
                             "reads the same steps from unbind(2) (same numbers, cheaper backward)")
    parser.add_argument("--list-params", action="store_true", help="print every tensor's name and shape")
    parser.add_argument("--check-java", metavar="DIR", help="compare with TrainStepBenchmark main --dump DIR")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    MambaMixer.scan = staticmethod(SCANS[args.scan])
    x, y = windows()
    print(f"# python {platform.python_version()}, torch {torch.__version__}, threads {torch.get_num_threads()}; "
          f"scan {args.scan}; batch {BATCH}; windows sum x {x.sum().item():.12f}, y {y.sum().item():.12f}")
    models = args.models.split(",")
    for name in models:
        net = build(name, torch.float64)
        print(f"{name} parameters: {count(net)}")
        if args.list_params:
            for pname, p in net.named_parameters():
                print(f"  {pname} [{','.join(str(d) for d in p.shape)}]")
        if args.check_java:
            check_java(name, f"{args.check_java}/{name}.f64")
    if args.list_params or args.check_java:
        return
    for dtype_name in args.dtype.split(","):
        dtype = {"float64": torch.float64, "float32": torch.float32}[dtype_name]
        for name in models:
            _, times, loss = time_steps(name, dtype, args.steps, args.warmup)
            ms = [1e3 * t for t in times]
            print(f"{name} {dtype_name}: median {statistics.median(ms):.2f} ms/step "
                  f"(min {min(ms):.2f}, max {max(ms):.2f}, {len(ms)} steps after {args.warmup} warm-up; "
                  f"last MSE {loss:.6f})")


if __name__ == "__main__":
    main()
