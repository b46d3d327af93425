#!/usr/bin/env python3
"""Turns the report.md of `spark-ssm evaluate` into the 40-cell table of BENCHMARKS.md.

Usage: python3 bench/ltsf_table.py target/evaluate-full/report.md

Reads the report's results table (dataset | model | L | H | MSE | MAE | λ_rel) and prints, for
L = 96 and L = 336, the test MSE of each model per (H, dataset) beside the best published MSE
(the tables of issue #5: min over S-Mamba, iTransformer, PatchTST, RLinear, DLinear at L = 96;
over PatchTST/42, DLinear, NLinear, Linear at L = 336), then how many cells the `ssm` model
is at or below it. Plain Python 3, no packages.
"""
import sys

DATASETS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "weather"]
HORIZONS = [96, 192, 336, 720]
PUBLISHED = {
    96: {96: [0.386, 0.288, 0.329, 0.175, 0.165], 192: [0.437, 0.374, 0.367, 0.241, 0.214],
         336: [0.479, 0.415, 0.399, 0.305, 0.274], 720: [0.481, 0.420, 0.454, 0.402, 0.345]},
    336: {96: [0.374, 0.274, 0.290, 0.165, 0.152], 192: [0.405, 0.339, 0.332, 0.220, 0.197],
          336: [0.429, 0.331, 0.366, 0.274, 0.249], 720: [0.440, 0.379, 0.420, 0.367, 0.320]},
}
MODELS = ["nlinear", "legt", "s4d", "ssm"]
BEST = "ssm"


def read(path):
    mse = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 6 or cells[0] not in DATASETS:
                continue
            mse[(cells[0], cells[1], int(cells[2]), int(cells[3]))] = float(cells[4])
    return mse


def main(path):
    mse = read(path)
    wins = {m: 0 for m in MODELS}
    cells = 0
    for lookback in (96, 336):
        print(f"\nL = {lookback}: test MSE per model (nlinear / legt / s4d / **ssm**) and the best published\n")
        print("| H | " + " | ".join(DATASETS) + " |")
        print("|---|" + "---|" * len(DATASETS))
        for h in HORIZONS:
            row = []
            for d, ds in enumerate(DATASETS):
                published = PUBLISHED[lookback][h][d]
                got = [mse.get((ds, m, lookback, h)) for m in MODELS]
                if any(v is None for v in got):
                    row.append("–")
                    continue
                cells += 1
                for m, v in zip(MODELS, got):
                    if round(v, 3) <= published:
                        wins[m] += 1
                parts = [f"{v:.3f}" for v in got]
                best = got[MODELS.index(BEST)]
                parts[-1] = f"**{parts[-1]}**" if round(best, 3) <= published else parts[-1]
                row.append(" / ".join(parts) + f" ({published:.3f})")
            print(f"| {h} | " + " | ".join(row) + " |")
    print(f"\nCells at or below the best published MSE (at 3 decimals), of {cells}: "
          + ", ".join(f"{m} {wins[m]}" for m in MODELS))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
