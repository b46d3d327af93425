#!/usr/bin/env python3
"""The single-core PyTorch peer of MambaForwardBenchmark.forward (spark-ssm/src/test/java/org/sparkssm/mamba/):
256 tokens through a random Mamba1 language model (RandomCheckpoint's checkpoint) from a carried state,
written in plain PyTorch from mamba_ssm's definitions as a CPU user without mamba_ssm's CUDA kernels
would write it:

  h = embedding[tokens]                                       (L, d_model), L = 256, batch 1
  per layer:  residual = h + residual;  h = mixer(rmsnorm(residual))
  logits = F.linear(rmsnorm_f(h + residual), lm_head)         (lm_head = the embedding unless lm_head.weight exists)

  mixer:  x, z = F.linear(u, in_proj).split(d_inner)
          x = silu(F.conv1d(cat(conv_state, x), conv1d.weight, conv1d.bias, groups=d_inner))  (causal, depthwise)
          conv_state = the last d_conv - 1 inputs of x
          dt_low, B, C = F.linear(x, x_proj).split(dt_rank, d_state, d_state)
          delta = softplus(F.linear(dt_low, dt_proj.weight, dt_proj.bias))
          y = selective_scan(x, delta, A = -exp(A_log), B, C, D, ssm_state)  * silu(z)
          out = F.linear(y, out_proj)

The selective scan is mamba_ssm's selective_scan_ref (a Python loop over the L tokens, deltaA and
deltaB_u precomputed for all of them) carrying the (d_inner, d_state) state in and out. The conv and
SSM states of every layer carry across calls, as in the Java benchmark (each timed call continues the
sequence). Everything, weights included, is in the chosen dtype; RMSNorm eps 1e-5; torch's softplus
(threshold 20). torch.set_num_threads(1) (--threads), torch.inference_mode().

Tokens: the Java benchmark's, SplittableRandom(3).nextInt(vocab_size) (a port of java.util.SplittableRandom).

Writing the checkpoint (the benchmark's exact one: seed 1, vocabulary 8192, d_state 16):

    mvn -q -o -pl spark-ssm test-compile
    mvn -q -o -pl spark-ssm exec:exec@random-checkpoint -Dcheckpoint.args="/tmp/mamba-small 256 4 8192 16 1"
    mvn -q -o -pl spark-ssm exec:exec@random-checkpoint -Dcheckpoint.args="/tmp/mamba-medium 768 24 8192 16 1"

(small = d_model 256, 4 layers; medium = d_model 768, 24 layers, Mamba-130m's shape). Appending
"--dump /tmp/mamba-small/java-logits.bin" to the small one's arguments also writes the float64 logits of
Java's forward (two calls from one carried state) for --check-java.

Running (use /usr/bin/python3, Debian's CPU PyTorch, python3-torch; not a build or CI dependency):

    /usr/bin/python3 bench/mamba_forward_bench.py /tmp/mamba-small --dtype float32,float64
    /usr/bin/python3 bench/mamba_forward_bench.py /tmp/mamba-medium --dtype float32,float64 --runs 5
    /usr/bin/python3 bench/mamba_forward_bench.py /tmp/mamba-small --check-java /tmp/mamba-small/java-logits.bin

Debian's python3-torch is built with BLAS_INFO=generic: its matmuls call whichever libblas.so.3 the system
provides, netlib's reference BLAS (libblas3) unless an optimized one is installed. For OpenBLAS without
touching the system's alternatives, unpack Debian's single-threaded build and point the loader at it:

    apt-get download libopenblas0-serial && dpkg -x libopenblas0-serial_*.deb /tmp/openblas
    LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-serial /usr/bin/python3 bench/mamba_forward_bench.py ...

Memory: by default the script makes glibc malloc keep freed memory (--malloc keep, see
keep_freed_memory), as jemalloc or tcmalloc would, the usual advice for PyTorch CPU inference;
--malloc default leaves glibc's defaults, under which the float64 forward spends most of its time
in page faults.

Prints the platform, torch version, thread count, the BLAS library mapped and the allocator setting, then per dtype the median (and fastest) time of
--runs forward calls after --warmup calls, as tokens/s, and the FMAs per token of the model's matmuls
(the count BENCHMARKS.md uses: layers x (in_proj + x_proj + dt_proj + out_proj) + lm_head) as
achieved G FMA/s. --profile also times the selective scan (exp, products and the loop) inside each
forward and prints its share. --check-java FILE runs the dump's tokens through the float64 model
as many calls as the dump holds, from a fresh state, and compares each call's logits with Java's:
it passes when max |torch - java| <= --tolerance (1e-9) x max |java| (exit status 1 otherwise); the
float32 model's error is printed alongside, for information.
"""
import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

TOKENS = 256  # MambaForwardBenchmark.TOKENS
TOKEN_SEED = 3  # MambaForwardBenchmark.setUp: new SplittableRandom(3)
NORM_EPS = 1e-5
MASK64 = (1 << 64) - 1

SCAN_SECONDS = [0.0]  # --profile: time inside selective_scan
PROFILE = [False]


# ----------------------------------------------------------------------------------------------
# Inputs


class SplittableRandom:
    """java.util.SplittableRandom(seed): nextInt() = mix32(seed += GOLDEN_GAMMA); nextInt(bound) as the JDK's."""

    GAMMA = 0x9E3779B97F4A7C15

    def __init__(self, seed):
        self.seed = seed & MASK64

    def next_int(self):  # unsigned 32 bits of Java's int
        self.seed = (self.seed + self.GAMMA) & MASK64
        z = self.seed
        z = ((z ^ (z >> 33)) * 0x62A9D9ED799705F5) & MASK64
        return (((z ^ (z >> 28)) * 0xCB24D0A5C88C35B3) & MASK64) >> 32

    def next_int_bounded(self, bound):
        r = self.next_int()
        m = bound - 1
        if bound & m == 0:
            return r & m
        u = r >> 1
        while True:
            r = u % bound
            if to_int32(u + m - r) >= 0:
                return r
            u = self.next_int() >> 1


def to_int32(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def benchmark_tokens(vocab):
    rnd = SplittableRandom(TOKEN_SEED)
    return torch.tensor([rnd.next_int_bounded(vocab) for _ in range(TOKENS)], dtype=torch.long)


SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def read_safetensors(path):
    """{name: tensor} of a .safetensors file (u64 LE header length, JSON header, raw little-endian data)."""
    if sys.byteorder != "little":
        raise SystemExit("read_safetensors: a little-endian host is assumed")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    (header_len,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise SystemExit(f"{path}: tensor {name}: dtype {info['dtype']} not supported")
        start, end = info["data_offsets"]
        count = math.prod(info["shape"])
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if end - start != count * itemsize:
            raise SystemExit(f"{path}: tensor {name}: {end - start} bytes for shape {info['shape']} {info['dtype']}")
        t = torch.frombuffer(data, dtype=dtype, count=count, offset=base + start) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors


# ----------------------------------------------------------------------------------------------
# The model


class Config:
    def __init__(self, path):
        with open(path) as f:
            c = json.load(f)
        ssm = c.get("ssm_cfg", {}) or {}
        if ssm.get("layer", "Mamba1") != "Mamba1":
            raise SystemExit(f"{path}: layer {ssm.get('layer')}: only Mamba1 is implemented here")
        if not c.get("rms_norm", True):
            raise SystemExit(f"{path}: rms_norm false (LayerNorm) is not implemented here")
        self.d_model = c["d_model"]
        self.n_layer = c["n_layer"]
        self.vocab = c["vocab_size"]
        multiple = c.get("pad_vocab_size_multiple", 1)
        self.padded_vocab = (self.vocab + multiple - 1) // multiple * multiple
        self.d_state = ssm.get("d_state", 16)
        self.d_conv = ssm.get("d_conv", 4)
        self.d_inner = ssm.get("expand", 2) * self.d_model
        dt_rank = ssm.get("dt_rank", "auto")
        self.dt_rank = math.ceil(self.d_model / 16) if dt_rank == "auto" else dt_rank
        self.tie = c.get("tie_embeddings", True)

    def fmas_per_token(self):
        """The matmuls' multiply-adds per token, as BENCHMARKS.md counts them."""
        dm, di, r, n = self.d_model, self.d_inner, self.dt_rank, self.d_state
        return self.n_layer * (dm * 2 * di + di * (r + 2 * n) + r * di + di * dm) + self.padded_vocab * dm

    def __str__(self):
        return (f"d_model {self.d_model}, {self.n_layer} layers, d_inner {self.d_inner}, d_state {self.d_state}, "
                f"dt_rank {self.dt_rank}, d_conv {self.d_conv}, vocab {self.vocab} (padded {self.padded_vocab})")


class Layer:
    def __init__(self, t, p, dtype):
        g = lambda name: t.pop(p + name).to(dtype).contiguous()  # noqa: E731
        self.norm = g("norm.weight")
        self.in_proj = g("mixer.in_proj.weight")  # (2 di, dm)
        self.conv_w = g("mixer.conv1d.weight")  # (di, 1, k)
        self.conv_b = g("mixer.conv1d.bias")  # (di)
        self.x_proj = g("mixer.x_proj.weight")  # (r + 2N, di)
        self.dt_w = g("mixer.dt_proj.weight")  # (di, r)
        self.dt_b = g("mixer.dt_proj.bias")  # (di)
        self.A = -torch.exp(g("mixer.A_log"))  # (di, N)
        self.D = g("mixer.D")  # (di)
        self.out_proj = g("mixer.out_proj.weight")  # (dm, di)


class State:
    """Per layer the convolution's last d_conv - 1 inputs (di, k - 1) and the SSM state (di, N)."""

    def __init__(self, cfg, dtype):
        self.conv = [torch.zeros(cfg.d_inner, cfg.d_conv - 1, dtype=dtype) for _ in range(cfg.n_layer)]
        self.ssm = [torch.zeros(cfg.d_inner, cfg.d_state, dtype=dtype) for _ in range(cfg.n_layer)]


class MambaLM:
    def __init__(self, cfg, tensors, dtype):
        t = dict(tensors)
        self.cfg = cfg
        self.dtype = dtype
        self.embedding = t.pop("backbone.embedding.weight").to(dtype).contiguous()  # (V, dm)
        head = t.pop("lm_head.weight", None)
        if head is None and not cfg.tie:
            raise SystemExit("tie_embeddings is false but the checkpoint has no lm_head.weight")
        self.lm_head = self.embedding if head is None else head.to(dtype).contiguous()
        self.layers = [Layer(t, f"backbone.layers.{i}.", dtype) for i in range(cfg.n_layer)]
        self.norm_f = t.pop("backbone.norm_f.weight").to(dtype).contiguous()
        if t:
            raise SystemExit(f"unexpected tensors for a Mamba1 model of {cfg.n_layer} layers: {sorted(t)[:5]}")

    def new_state(self):
        return State(self.cfg, self.dtype)

    def forward(self, tokens, state):
        """Logits (L, padded vocab) of tokens (L) from state, which is left after them."""
        hidden = F.embedding(tokens, self.embedding)
        residual = torch.zeros_like(hidden)
        for i, layer in enumerate(self.layers):
            residual = residual + hidden
            hidden = self.mixer(layer, rms_norm(residual, layer.norm), state, i)
        return F.linear(rms_norm(residual + hidden, self.norm_f), self.lm_head)

    def mixer(self, layer, u, state, i):
        cfg = self.cfg
        di, k = cfg.d_inner, cfg.d_conv
        x, z = F.linear(u, layer.in_proj).split(di, dim=-1)  # (L, di) each
        xs = torch.cat([state.conv[i], x.t()], dim=1)  # (di, k - 1 + L): the carried inputs first
        state.conv[i] = xs[:, xs.shape[1] - (k - 1):].clone()
        x = F.silu(F.conv1d(xs.unsqueeze(0), layer.conv_w, layer.conv_b, groups=di).squeeze(0).t())  # (L, di)
        dt, B, C = F.linear(x, layer.x_proj).split([cfg.dt_rank, cfg.d_state, cfg.d_state], dim=-1)
        delta = F.softplus(F.linear(dt, layer.dt_w, layer.dt_b))  # (L, di)
        if PROFILE[0]:
            start = time.perf_counter()
        y, state.ssm[i] = selective_scan(x, delta, layer.A, B, C, layer.D, state.ssm[i])
        if PROFILE[0]:
            SCAN_SECONDS[0] += time.perf_counter() - start
        return F.linear(y * F.silu(z), layer.out_proj)


def rms_norm(x, weight):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * weight


def selective_scan(u, delta, A, B, C, D, h):
    """mamba_ssm's selective_scan_ref for batch 1, time-major, from state h: u, delta (L, di); A (di, N);
    B, C (L, N); h (di, N). Returns y (L, di) with the D skip, and the state after the L steps."""
    deltaA = torch.exp(delta.unsqueeze(-1) * A)  # (L, di, N)
    deltaB_u = (delta * u).unsqueeze(-1) * B.unsqueeze(1)  # (L, di, N)
    ys = []
    for t in range(u.shape[0]):
        h = deltaA[t] * h + deltaB_u[t]
        ys.append(h @ C[t])  # (di)
    return torch.stack(ys) + u * D, h


# ----------------------------------------------------------------------------------------------
# Runs


def keep_freed_memory():
    """glibc malloc: serve every block from the heap (M_MMAP_MAX 0) and never hand freed memory back
    (M_TRIM_THRESHOLD 2 GiB), so a forward reuses the pages of the one before. By default glibc maps
    each block over its (at most 32 MiB) threshold afresh and trims the heap when over twice that:
    the scan's (L, d_inner, N) buffers (16 MiB for small, 48 MiB for medium, in float64) are then new
    pages every call, page faults and zeroing that cost more than the arithmetic. Returns a note."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(-4, 0) == 1 and libc.mallopt(-1, 2**31 - 1) == 1  # M_MMAP_MAX, M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        ok = False
    return "glibc malloc keeps freed memory (mallopt M_MMAP_MAX 0, M_TRIM_THRESHOLD 2 GiB)" if ok else \
        "mallopt failed: the allocator's defaults"


def platform_line():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    capability = next((line.split(":", 1)[1].strip() for line in torch.__config__.show().splitlines()
                       if "CPU capability" in line), "?")
    return (f"# {platform.platform()}, {cpu}, {os.cpu_count()} CPUs; python {platform.python_version()}, "
            f"torch {torch.__version__} (CPU capability {capability}), threads {torch.get_num_threads()}, "
            f"BLAS {blas_library()}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def blas_library():
    """The BLAS this process mapped: Debian's torch (BLAS_INFO=generic) calls whichever libblas.so.3 the
    system's alternative (or LD_LIBRARY_PATH) gives it; netlib's reference BLAS unless another is installed."""
    F.linear(torch.ones(2, 2), torch.ones(2, 2))
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({os.path.realpath(line.split()[-1]) for line in f if "blas" in line.split()[-1]})
    except OSError:
        return "?"
    return " + ".join(libs) or "none mapped"


def time_forward(model, tokens, warmup, runs):
    """Seconds per forward call (the state carried across all calls), after warmup calls."""
    state = model.new_state()
    for _ in range(warmup):
        model.forward(tokens, state)
    times, scan = [], []
    for _ in range(runs):
        SCAN_SECONDS[0] = 0.0
        start = time.perf_counter()
        logits = model.forward(tokens, state)
        times.append(time.perf_counter() - start)
        scan.append(SCAN_SECONDS[0])
        if not torch.isfinite(logits).all():
            raise SystemExit("non-finite logits")
    return times, scan


def read_java_dump(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    n, calls, vocab = struct.unpack_from("<3i", data, 0)
    tokens = torch.frombuffer(data, dtype=torch.int32, count=n, offset=12).long().clone()
    offset = 12 + 4 * n
    if len(data) != offset + 8 * calls * n * vocab:
        raise SystemExit(f"{path}: {len(data)} bytes, expected {offset + 8 * calls * n * vocab}")
    logits = torch.frombuffer(data, dtype=torch.float64, count=calls * n * vocab, offset=offset)
    return tokens, logits.reshape(calls, n, vocab).clone()


def check_java(cfg, tensors, path, tolerance):
    tokens, java = read_java_dump(path)
    if java.shape[2] != cfg.padded_vocab:
        raise SystemExit(f"{path}: logits over {java.shape[2]}, the checkpoint's padded vocabulary is {cfg.padded_vocab}")
    expected = benchmark_tokens(cfg.vocab)
    print(f"tokens: {tokens.numel()} from the dump; SplittableRandom({TOKEN_SEED}) port "
          f"{'agrees' if torch.equal(tokens, expected) else 'DISAGREES'}")
    ok = True
    for dtype in (torch.float64, torch.float32):
        model = MambaLM(cfg, tensors, dtype)
        state = model.new_state()
        for call in range(java.shape[0]):
            got = model.forward(tokens, state).double()
            scale = java[call].abs().max().item()
            err = (got - java[call]).abs().max().item() / scale
            verdict = ""
            if dtype == torch.float64:
                passed = err <= tolerance
                ok &= passed
                verdict = f" (tolerance {tolerance:g}): {'PASS' if passed else 'FAIL'}"
            print(f"{str(dtype)[6:]} call {call + 1} (from the state of the calls before): max |torch - java| / "
                  f"max |java| = {err:.2e}{verdict} (max |java| = {scale:.3f})")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="directory with config.json and model.safetensors")
    parser.add_argument("--dtype", default="float32,float64", help="comma-separated: float32, float64")
    parser.add_argument("--warmup", type=int, default=3, help="untimed forward calls")
    parser.add_argument("--runs", type=int, default=10, help="timed forward calls (median reported)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="time the selective scan's share of a forward")
    parser.add_argument("--malloc", choices=["keep", "default"], default="keep",
                        help="keep: glibc malloc keeps freed memory (keep_freed_memory); default: leave it be")
    parser.add_argument("--check-java", metavar="FILE", help="compare with RandomCheckpoint --dump's logits")
    parser.add_argument("--tolerance", type=float, default=1e-9, help="float64 check: max error / max |logit|")
    args = parser.parse_args()

    malloc = keep_freed_memory() if args.malloc == "keep" else "the allocator's defaults (--malloc default)"
    torch.set_num_threads(args.threads)
    PROFILE[0] = args.profile
    cfg = Config(os.path.join(args.checkpoint, "config.json"))
    tensors = read_safetensors(os.path.join(args.checkpoint, "model.safetensors"))
    print(platform_line() + "; " + malloc)
    print(f"# {args.checkpoint}: {cfg}; {cfg.fmas_per_token() / 1e6:.2f} M FMA per token (matmuls)")
    with torch.inference_mode():
        if args.check_java:
            sys.exit(0 if check_java(cfg, tensors, args.check_java, args.tolerance) else 1)
        tokens = benchmark_tokens(cfg.vocab)
        for name in args.dtype.split(","):
            dtype = {"float32": torch.float32, "float64": torch.float64}[name.strip()]
            model = MambaLM(cfg, tensors, dtype)
            times, scan = time_forward(model, tokens, args.warmup, args.runs)
            median, best = statistics.median(times), min(times)
            line = (f"{name.strip()}: forward of {TOKENS} tokens median {median * 1e3:.1f} ms "
                    f"(fastest {best * 1e3:.1f}, slowest {max(times) * 1e3:.1f}, {args.runs} runs after {args.warmup}) "
                    f"= {TOKENS / median:.1f} tokens/s (fastest {TOKENS / best:.1f}); "
                    f"{TOKENS * cfg.fmas_per_token() / median / 1e9:.2f} G FMA/s")
            if args.profile:
                line += f"; selective scan {statistics.median(scan) * 1e3:.1f} ms = " \
                        f"{statistics.median(s / t for s, t in zip(scan, times)) * 100:.0f} % of the forward"
            print(line, flush=True)


if __name__ == "__main__":
    main()
