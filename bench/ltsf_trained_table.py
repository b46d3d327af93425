#!/usr/bin/env python3
"""The L = 96 table of trained networks (issue #11) from LtsfTraining's tab-separated cells.

Usage: python3 bench/ltsf_trained_table.py bench/results/ltsf-trained-L96.tsv [more.tsv ...]

Prints, per (H, dataset), the trained network's test MSE (the candidate picked on validation)
beside the project's closed-form `nlinear` at L = 96 (BENCHMARKS.md, issue #5 run) and the
published L = 96 anchors of ../shared/design/LTSF-ANCHORS.md (S-Mamba, Bi-Mamba+, best of any
model), then the counts the issue asks for, compared at 3 decimals. Every model here reads 96 rows.
Plain Python 3, no packages.
"""
import csv
import sys

DATASETS = ["ETTh1", "ETTh2", "ETTm1", "ETTm2", "weather"]
HORIZONS = [96, 192, 336, 720]
# Per dataset, H = 96, 192, 336, 720.
NLINEAR = {"ETTh1": [.383, .434, .475, .470], "ETTh2": [.289, .374, .413, .419], "ETTm1": [.351, .389, .422, .483],
           "ETTm2": [.182, .246, .306, .407], "weather": [.195, .241, .293, .366]}
S_MAMBA = {"ETTh1": [.386, .443, .489, .502], "ETTh2": [.296, .376, .424, .426], "ETTm1": [.333, .376, .408, .475],
           "ETTm2": [.179, .250, .312, .411], "weather": [.165, .214, .274, .350]}
BI_MAMBA = {"ETTh1": [.378, .427, .471, .470], "ETTh2": [.291, .368, .407, .421], "ETTm1": [.320, .361, .386, .445],
            "ETTm2": [.176, .242, .304, .402], "weather": [.159, .205, .264, .343]}
BEST_ANY = {"ETTh1": [.371, .417, .449, .462], "ETTh2": [.233, .291, .344, .407], "ETTm1": [.311, .348, .386, .445],
            "ETTm2": [.164, .230, .285, .381], "weather": [.157, .205, .236, .309]}


def at_or_below(a, b):
    return round(a, 3) <= round(b, 3)


def main(paths):
    cells = {}
    for path in paths:  # a later file's cell replaces an earlier one's
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                ds = "weather" if row["dataset"].lower() == "weather" else row["dataset"]
                cells[(ds, int(row["H"]))] = row
    print("| H | " + " | ".join(DATASETS) + " |")
    print("|---|" + "---|" * len(DATASETS))
    counts = {"nlinear": [0, 0], "s-mamba": [0, 0], "bi-mamba+": [0, 0], "best": [0, 0]}
    for k, h in enumerate(HORIZONS):
        line = []
        for ds in DATASETS:
            row = cells.get((ds, h))
            if row is None:
                line.append("–")
                continue
            m = float(row["test_mse"])
            for name, ref in (("nlinear", NLINEAR), ("s-mamba", S_MAMBA), ("bi-mamba+", BI_MAMBA), ("best", BEST_ANY)):
                counts[name][1] += 1
                counts[name][0] += at_or_below(m, ref[ds][k])
            mark = "**" if at_or_below(m, S_MAMBA[ds][k]) else ""
            line.append("%s%.3f%s (%.3f / %.3f / %.3f / %.3f)" % (mark, m, mark, NLINEAR[ds][k], S_MAMBA[ds][k],
                                                               BI_MAMBA[ds][k], BEST_ANY[ds][k]))
        print("| %d | %s |" % (h, " | ".join(line)))
    print()
    for name, (won, n) in counts.items():
        print("at or below %s: %d of %d cells" % (name, won, n))
    print()
    print("| dataset | H | settings (picked on validation) | lr | val MSE | best epoch / run | train windows | skipped | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for ds in DATASETS:
        for h in HORIZONS:
            row = cells.get((ds, h))
            if row:
                print("| %s | %d | %s | %s | %.4f | %s / %s | %s | %s | %s |" % (
                    ds, h, row["settings"], row["lr"], float(row["val_mse"]), row["best_epoch"], row["epochs"],
                    row["train_windows"], row["skipped"], row["seconds"]))


if __name__ == "__main__":
    main(sys.argv[1:])
