#!/usr/bin/env python3
"""The single-machine peer of DiagonalScan: scipy.signal.lfilter on the same bank of first-order
recurrences h_t = a h_{t-1} + b u_t (one filter per channel d and state n, each with its own a, b),
with the readout y_t[d] = sum_n c[d,n] h_t[d,n] done in numpy, as a user without spark-ssm would.

Prints state updates per second (L * D * N / seconds, best of --repeat runs) per shape, for the
ratio recorded in BENCHMARKS.md. Needs Debian's python3-scipy (run it with /usr/bin/python3).

    /usr/bin/python3 bench/lfilter_bench.py --shapes 64x16,1024x16 --length 4096
"""
import argparse
import platform
import time

import numpy as np
import scipy
from scipy.signal import lfilter


def bank_scan(a, b, c, u):
    """a, b, c: (D, N); u: (L, D). Returns y: (L, D)."""
    length, channels = u.shape
    y = np.zeros((length, channels))
    for d in range(channels):
        for n in range(a.shape[1]):
            h = lfilter([b[d, n]], [1.0, -a[d, n]], u[:, d])  # (L,) state trajectory
            y[:, d] += c[d, n] * h
    return y


def best_time(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="64x16,1024x16", help="comma-separated DxN")
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--long", type=int, default=1_000_000, help="steps of one long filter (0: skip)")
    args = parser.parse_args()

    print(f"# python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    rng = np.random.default_rng(42)
    for shape in args.shapes.split(","):
        channels, state = (int(x) for x in shape.split("x"))
        a = rng.uniform(-0.98, 0.98, (channels, state))
        b = rng.standard_normal((channels, state))
        c = rng.standard_normal((channels, state))
        u = rng.standard_normal((args.length, channels))
        seconds = best_time(lambda: bank_scan(a, b, c, u), args.repeat)
        updates = args.length * channels * state
        print(f"lfilter bank D={channels} N={state} L={args.length}: {seconds:.3f} s, "
              f"{updates / seconds:.3e} state updates/s")
    if args.long > 0:
        x = rng.standard_normal(args.long)
        seconds = best_time(lambda: lfilter([0.5], [1.0, -0.9], x), args.repeat)
        print(f"lfilter one filter L={args.long}: {seconds:.4f} s, {args.long / seconds:.3e} state updates/s")


if __name__ == "__main__":
    main()
