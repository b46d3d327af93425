#!/usr/bin/env python3
"""The PyTorch peer of GpuCheck: the same computations at the same shapes on the same GPU, written
with plain torch ops (no mamba_ssm, no custom kernels), so gpu/gpu-check can set each spark-ssm
kernel's time against what eager PyTorch does with it.

Rows carry GpuCheck's kernel names; a variant of the same computation is named kernel:variant
(gpu-check pairs every variant with GpuCheck's row of the kernel). Times are medians of calls
between torch.cuda.synchronize() after warm-up calls, with the inputs already on the GPU. GB/s
counts the same traffic as GpuCheck (inputs read once, outputs written once).

    python3 gpu/torch_peer.py [rows.tsv] [--budget-s S]   on a GPU
    python3 gpu/torch_peer.py --smoke                      tiny shapes on the CPU: checks the script runs
"""
import argparse
import math
import multiprocessing
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch_peer: PyTorch is not installed (python3 -c 'import torch' fails)")
    sys.exit(3)

# The shapes of GpuCheck.Shapes (keep them equal, so the rows pair up).
FULL = dict(
    copy_bytes=1 << 30,
    diag_batch=131072, diag_d=1, diag_len=1024, diag_n=16,
    diag_bwd_batch=8192, diag_bwd_d=4, diag_bwd_len=1024,
    sel_batch=8, sel_d=1536, sel_n=16, sel_len=2048,
    sel_bwd_batch=4, sel_bwd_len=1024,
    d_model=768, layers=24, vocab=50280, tokens=2048,
    warmups=2, runs=5,
)
SMOKE = dict(  # GpuCheck.Shapes.onHost()
    copy_bytes=1 << 20,
    diag_batch=8, diag_d=2, diag_len=40, diag_n=16,
    diag_bwd_batch=4, diag_bwd_d=2, diag_bwd_len=70,
    sel_batch=2, sel_d=8, sel_n=16, sel_len=20,
    sel_bwd_batch=2, sel_bwd_len=20,
    d_model=16, layers=2, vocab=64, tokens=20,
    warmups=1, runs=2,
)

HEADER = ["kernel", "shape", "ms_per_call", "gb_per_s", "rate", "rate_unit", "note"]


class Peer:
    def __init__(self, shapes, device, tsv):
        self.s = shapes
        self.device = device
        self.rows = []
        self.tsv = open(tsv, "w") if tsv else None
        if self.tsv:
            print("\t".join(HEADER), file=self.tsv, flush=True)

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def millis(self, fn, before=None):
        """Median ms of fn() between synchronizations, after warm-up calls; with before, fn(before())
        where before() runs untimed ahead of each call (the forward of a timed backward)."""
        def call():
            arg = before() if before else None
            self.sync()
            start = time.perf_counter()
            fn(arg) if before else fn()
            self.sync()
            return (time.perf_counter() - start) * 1e3

        for _ in range(self.s["warmups"]):
            call()
        return statistics.median(call() for _ in range(self.s["runs"]))

    def row(self, kernel, shape, ms, gb=None, rate=None, unit="", note=""):
        r = dict(kernel=kernel, shape=shape, ms_per_call=ms, gb_per_s=gb, rate=rate, rate_unit=unit, note=note)
        self.rows.append(r)
        if self.tsv:
            cells = [fmt_tsv(r[h]) for h in HEADER]
            print("\t".join(cells), file=self.tsv, flush=True)
        print(f"  {kernel:34s} {fmt(ms)} ms {note}", flush=True)

    def randn(self, *shape, scale=1.0):
        return torch.randn(*shape, device=self.device) * scale

    # ---- the rows ----

    def copy(self):
        n = self.s["copy_bytes"] // 4
        x = self.randn(n)
        y = torch.empty_like(x)
        ms = self.millis(lambda: y.copy_(x))
        self.row("copy_dtod", f"{self.s['copy_bytes'] >> 20} MiB", ms, 2 * self.s["copy_bytes"] / (ms * 1e6),
                 note="y.copy_(x); GB/s counts the read and the write")

    def diagonal_system(self, d, n, complex_):
        radius = 0.5 + 0.49 * torch.rand(d, n, device=self.device)
        if complex_:
            angle = math.pi * torch.rand(d, n, device=self.device)
            abar = torch.polar(radius, angle)
            bbar = torch.complex(self.randn(d, n), self.randn(d, n))
            c = torch.complex(self.randn(d, n), self.randn(d, n))
        else:
            abar, bbar, c = radius, self.randn(d, n), self.randn(d, n)
        return abar, bbar, c, self.randn(d)

    @staticmethod
    def diagonal_scan(u, abar, bbar, c, dskip):
        """The LTI recurrence h_t = Ā h_{t-1} + B̄ u_t, y_t = Re(C h_t) + D u_t, one step at a time.
        u: (L, batch, D), time-major as GpuDiagonalScan lays it out; h: (batch, D, N)."""
        length, batch, d = u.shape
        h = torch.zeros(batch, d, abar.shape[1], dtype=abar.dtype, device=u.device)
        ys = []
        for t in range(length):
            h = abar * h + bbar * u[t, :, :, None]
            ys.append((c * h).sum(-1).real if h.is_complex() else (c * h).sum(-1))
        return torch.stack(ys) + dskip * u

    def diag_scans(self):
        s = self.s
        batch, d, length, n = s["diag_batch"], s["diag_d"], s["diag_len"], s["diag_n"]
        u = self.randn(length, batch, d)
        elements = length * batch * d
        shape = f"b{batch} x D{d} x L{length} x N{n}"
        for complex_ in (False, True):
            params = self.diagonal_system(d, n, complex_)
            with torch.no_grad():
                ms = self.millis(lambda: self.diagonal_scan(u, *params))
            self.row("diag_scan_complex" if complex_ else "diag_scan_real", shape, ms, 8 * elements / (ms * 1e6),
                     elements / (ms * 1e6), "Gstep/s", "eager loop over L" + (", complex64" if complex_ else ""))

    def diag_backward(self):
        s = self.s
        batch, d, length, n = s["diag_bwd_batch"], s["diag_bwd_d"], s["diag_bwd_len"], s["diag_n"]
        u = self.randn(length, batch, d)
        dy = self.randn(length, batch, d)
        params = [p.detach().requires_grad_() for p in self.diagonal_system(d, n, True)]
        u.requires_grad_()
        elements = length * batch * d

        def forward():
            return self.diagonal_scan(u, *params)

        ms = self.millis(lambda y: y.backward(dy), before=forward)
        self.row("diag_scan_bwd", f"b{batch} x D{d} x L{length} x N{n} complex", ms, 12 * elements / (ms * 1e6),
                 elements / (ms * 1e6), "Gstep/s", "autograd through the eager loop (backward only)")

    def selective_inputs(self, batch, length, requires_grad=False):
        """Mamba's selective-scan inputs in mamba_ssm's layout: u, delta, z (B, D, L); B, C (B, N, L);
        A = -(1..N), D-skip 1, Δ bias for Δ in [1e-3, 0.1] (GpuCheck.selectiveParameters)."""
        d, n = self.s["sel_d"], self.s["sel_n"]
        dt = torch.exp(math.log(1e-3) + torch.rand(d, device=self.device) * (math.log(0.1) - math.log(1e-3)))
        x = dict(
            u=self.randn(batch, d, length), delta=self.randn(batch, d, length, scale=0.5),
            A=-torch.arange(1, n + 1, dtype=torch.float32, device=self.device).repeat(d, 1),
            B=self.randn(batch, n, length), C=self.randn(batch, n, length),
            D=torch.ones(d, device=self.device), z=self.randn(batch, d, length),
            delta_bias=torch.log(torch.expm1(dt)),
        )
        if requires_grad:
            for v in x.values():
                v.requires_grad_()
        return x

    def selective(self):
        s = self.s
        batch, d, n, length = s["sel_batch"], s["sel_d"], s["sel_n"], s["sel_len"]
        x = self.selective_inputs(batch, length)
        elements, bc = batch * d * length, batch * length * n
        shape = f"b{batch} x D{d} x L{length} x N{n}"
        gb = 4 * (4 * elements + 2 * bc)
        with torch.no_grad():
            ms = self.millis(lambda: selective_scan_loop(**x))
            self.row("selective_scan_fwd", shape, ms, gb / (ms * 1e6), elements * n / (ms * 1e6), "Gexp/s",
                     "eager loop over L (selective_scan_ref style)")
            ms = self.millis(lambda: selective_scan_doubling(**x))
            agreement = relative_error(selective_scan_loop(**x), selective_scan_doubling(**x))
            self.row("selective_scan_fwd:doubling", shape, ms, gb / (ms * 1e6), elements * n / (ms * 1e6), "Gexp/s",
                     f"eager log-depth doubling scan over L; equals the loop to {agreement:.1g}")

    def selective_backward(self):
        s = self.s
        batch, d, n, length = s["sel_bwd_batch"], s["sel_d"], s["sel_n"], s["sel_bwd_len"]
        x = self.selective_inputs(batch, length, requires_grad=True)
        dy = self.randn(batch, d, length)
        elements, bc = batch * d * length, batch * length * n

        def forward():
            return selective_scan_loop(**x)

        ms = self.millis(lambda y: y.backward(dy), before=forward)
        self.row("selective_scan_bwd", f"b{batch} x D{d} x L{length} x N{n}", ms,
                 4 * (7 * elements + 4 * bc) / (ms * 1e6), elements * n / (ms * 1e6), "Gexp/s",
                 "autograd through the eager loop (backward only)")

    def mamba(self):
        s = self.s
        model = RandomMamba(s["d_model"], s["layers"], s["vocab"], self.device)
        tokens = torch.randint(0, model.vocab, (1, s["tokens"]), device=self.device)
        shape = f"{s['tokens']} tokens, d_model {s['d_model']}, {s['layers']} layers, vocab {model.vocab}"
        with torch.no_grad():
            ms = self.millis(lambda: model.forward(tokens, logits=True).cpu())
            self.row("mamba_forward", shape, ms, rate=s["tokens"] / (ms / 1e3), unit="tokens/s",
                     note="eager, doubling scan; logits copied to the host")
            ms = self.millis(lambda: model.forward(tokens, logits=False).cpu())
            self.row("mamba_forward_hidden", shape, ms, rate=s["tokens"] / (ms / 1e3), unit="tokens/s",
                     note="eager, no LM head; hidden states copied to the host")

    def run(self, budget_s, smoke):
        started = time.perf_counter()
        print(f"torch {torch.__version__} on {self.device}"
              + (f" ({torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda})" if self.device.type == "cuda" else "")
              + f"; TF32 matmul {'on' if torch.backends.cuda.matmul.allow_tf32 else 'off'}", flush=True)
        for step in (self.copy, self.diag_scans, self.diag_backward, self.selective, self.selective_backward,
                     self.mamba):
            try:
                step()
            except Exception as e:  # one failing row (out of memory, say) must not hide the others
                print(f"  {step.__name__}: ERROR {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                      flush=True)
                self.row(step.__name__, "-", float("nan"), note=f"ERROR {type(e).__name__}")
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        if not smoke:
            self.compiled(budget_s - (time.perf_counter() - started) - 5)

    def compiled(self, seconds):
        """torch.compile of the scans, in a child process that is stopped after min(60 s, what is left)."""
        limit = min(60.0, seconds)
        if not hasattr(torch, "compile"):
            print("  torch.compile: not in this torch; skipped", flush=True)
            return
        if limit < 15:
            print(f"  torch.compile: skipped ({limit:.0f} s left of the budget)", flush=True)
            return
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        child = ctx.Process(target=compiled_child, args=(self.s, self.device.type, results))
        child.start()
        deadline = time.perf_counter() + limit
        got = []
        while time.perf_counter() < deadline and (child.is_alive() or not results.empty()):
            try:
                got.append(results.get(timeout=1.0))
            except Exception:
                pass
            if got and got[-1] is None:
                break
        if child.is_alive():
            child.terminate()
            child.join(5)
        done = {r["kernel"] for r in got if r}
        for r in got:
            if r:
                self.row(**r)
        for name in ("selective_scan_fwd:compiled", "selective_scan_fwd:doubling+compiled"):
            if name not in done:
                print(f"  {name}: no result within {limit:.0f} s (still compiling, or failed: see above); skipped",
                      flush=True)


def selective_scan_loop(u, delta, A, B, C, D, z, delta_bias):
    """Mamba's selective scan, one step at a time (in the manner of mamba_ssm's selective_scan_ref):
    Δ = softplus(δ + bias), h_t = exp(Δ A) h_{t-1} + Δ B_t u_t, y_t = (C_t h_t + D u_t) silu(z_t)."""
    delta = F.softplus(delta + delta_bias[:, None])
    delta_a = torch.exp(delta[..., None] * A[:, None, :])  # (B, D, L, N)
    delta_b_u = (delta * u)[..., None] * B.transpose(1, 2)[:, None]  # (B, D, L, N)
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = delta_a[:, :, t] * h + delta_b_u[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=2) + u * D[:, None]
    return y * F.silu(z)


def linear_recurrence(a, b):
    """h_t = a_t h_{t-1} + b_t from h_{-1} = 0 along dim 2, in log2(L) doubling steps (Hillis-Steele):
    after the step of width w, (a_t, b_t) compose the 2w steps ending at t."""
    a = a.clone()
    b = b.clone()
    width = 1
    while width < a.shape[2]:
        b[:, :, width:] = b[:, :, width:] + a[:, :, width:] * b[:, :, :-width]  # right side first: old values
        a[:, :, width:] = a[:, :, width:] * a[:, :, :-width]
        width *= 2
    return b


def selective_scan_doubling(u, delta, A, B, C, D, z, delta_bias):
    """selective_scan_loop with the recurrence as a doubling scan: a few large kernels instead of L small ones."""
    delta = F.softplus(delta + delta_bias[:, None])
    delta_a = torch.exp(delta[..., None] * A[:, None, :])
    delta_b_u = (delta * u)[..., None] * B.transpose(1, 2)[:, None]
    h = linear_recurrence(delta_a, delta_b_u)  # (B, D, L, N)
    y = torch.einsum("bdln,bnl->bdl", h, C) + u * D[:, None]
    return y * F.silu(z)


class RandomMamba:
    """A Mamba-1 of GpuCheck.randomMamba's shape and initialization (not its values), as eager torch:
    RMSNorm, in_proj, causal depthwise conv1d + silu, x_proj, dt_proj, the selective scan (doubling),
    gate, out_proj, residual stream, final norm, tied LM head."""

    def __init__(self, d_model, layers, vocab, device):
        def uniform(*shape):
            return (torch.rand(*shape, device=device) * 2 - 1) * (0.02 * math.sqrt(3))

        self.vocab = (vocab + 7) // 8 * 8
        self.di = 2 * d_model
        self.n = 16
        self.k = 4
        self.rank = (d_model + 15) // 16
        self.embedding = uniform(self.vocab, d_model)
        self.layers = []
        for _ in range(layers):
            dt = torch.exp(math.log(1e-3) + torch.rand(self.di, device=device) * (math.log(0.1) - math.log(1e-3)))
            self.layers.append(dict(
                norm=torch.ones(d_model, device=device),
                in_proj=uniform(2 * self.di, d_model),
                conv_w=uniform(self.di, 1, self.k), conv_b=uniform(self.di),
                x_proj=uniform(self.rank + 2 * self.n, self.di),
                dt_proj=uniform(self.di, self.rank), dt_bias=torch.log(torch.expm1(dt)),
                A=-torch.arange(1, self.n + 1, dtype=torch.float32, device=device).repeat(self.di, 1),
                D=torch.ones(self.di, device=device),
                out_proj=uniform(d_model, self.di),
            ))
        self.norm_f = torch.ones(d_model, device=device)

    @staticmethod
    def rms_norm(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * weight

    def forward(self, tokens, logits):
        length = tokens.shape[1]
        hidden = self.embedding[tokens]  # (1, L, d_model)
        residual = torch.zeros_like(hidden)
        for p in self.layers:
            residual = residual + hidden
            xz = self.rms_norm(residual, p["norm"]) @ p["in_proj"].t()
            x, z = xz.chunk(2, dim=-1)
            x = F.conv1d(x.transpose(1, 2), p["conv_w"], p["conv_b"], padding=self.k - 1, groups=self.di)
            x = F.silu(x[..., :length])  # (1, di, L): causal, the first L outputs
            dbc = x.transpose(1, 2) @ p["x_proj"].t()
            dt, b, c = dbc.split([self.rank, self.n, self.n], dim=-1)
            delta = (dt @ p["dt_proj"].t()).transpose(1, 2)
            y = selective_scan_doubling(x, delta, p["A"], b.transpose(1, 2), c.transpose(1, 2), p["D"],
                                        z.transpose(1, 2), p["dt_bias"])
            hidden = y.transpose(1, 2) @ p["out_proj"].t()
        out = self.rms_norm(residual + hidden, self.norm_f)
        return out @ self.embedding.t() if logits else out


def compiled_child(shapes, device_type, results):
    """In a child process (so a compile that runs long can be stopped): torch.compile of the doubling
    scan, then of the per-step loop (whose L steps Dynamo unrolls), each timed once it runs."""
    try:
        peer = Peer(shapes, torch.device(device_type), None)
        s = shapes
        batch, d, n, length = s["sel_batch"], s["sel_d"], s["sel_n"], s["sel_len"]
        x = peer.selective_inputs(batch, length)
        elements, bc = batch * d * length, batch * length * n
        shape = f"b{batch} x D{d} x L{length} x N{n}"
        for name, fn in (("selective_scan_fwd:doubling+compiled", selective_scan_doubling),
                         ("selective_scan_fwd:compiled", selective_scan_loop)):
            compiled = torch.compile(fn)
            start = time.perf_counter()
            with torch.no_grad():
                compiled(**x)
                peer.sync()
                compile_s = time.perf_counter() - start
                ms = peer.millis(lambda: compiled(**x))
            results.put(dict(kernel=name, shape=shape, ms=ms, gb=4 * (4 * elements + 2 * bc) / (ms * 1e6),
                             rate=elements * n / (ms * 1e6), unit="Gexp/s",
                             note=f"torch.compile, first call {compile_s:.0f} s"))
    except Exception as e:
        print(f"  torch.compile: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)
    results.put(None)


def relative_error(expected, got):
    """max |got - expected| / max |expected|, as GpuCheck measures parity."""
    return ((got - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item()


def fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 1 else f"{v:.3g}"


def fmt_tsv(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.6g}" if isinstance(v, float) else str(v).replace("\t", " ")


def table(rows):
    head = ["kernel", "shape", "ms/call", "GB/s", "rate", "note"]
    cells = [head] + [[r["kernel"], r["shape"], fmt(r["ms_per_call"]), fmt(r["gb_per_s"]),
                       "-" if r["rate"] is None else f"{fmt(r['rate'])} {r['rate_unit']}", r["note"]] for r in rows]
    width = [max(len(line[i]) for line in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, width)) + " |" for line in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in width) + "|")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tsv", nargs="?", help="write the rows here as TSV")
    parser.add_argument("--budget-s", type=float, default=120,
                        help="seconds this run may take (the compile step gets what is left)")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes on the CPU, to check the script runs")
    args = parser.parse_args()
    if args.smoke:
        peer = Peer(SMOKE, torch.device("cpu"), args.tsv)
    elif not torch.cuda.is_available():
        print(f"torch_peer: torch {torch.__version__} has no usable CUDA device")
        sys.exit(3)
    else:
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 as the spark-ssm kernels compute
        peer = Peer(FULL, torch.device("cuda"), args.tsv)
    torch.manual_seed(0)
    peer.run(args.budget_s, args.smoke)
    print()
    print(table(peer.rows))


if __name__ == "__main__":
    main()
