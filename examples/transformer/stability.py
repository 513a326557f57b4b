#!/usr/bin/env python3
"""Summarizes a run of the stability study (docs/training.md): STE against
QuEST's trust estimator against StableQAT's Fourier surrogate at 2, 3 and 4
bits, trained by train.py (scripts/run.sh) from the same weights on the same
batches.

    scripts/run.sh --out-dir DIR --sample-chars 0 --methods float,\\
      quest_w2a2,quest_w3a3,quest_w4a4,ste_w2a2,ste_w3a3,ste_w4a4,\\
      stableqat_w2,stableqat_w3,stableqat_w4,ste_w2,ste_w3,ste_w4
    examples/transformer/stability.py DIR [--png docs/training-stability.png]

Every method sees the same batch at each step, so the batch's own difficulty
cancels in the difference of a method's training loss and float's at that
step. Per method, over the second half of the run: the mean of that
difference (how much the quantization costs), its standard deviation (how
much noisier the method's training is than float's) and its largest value
(the worst spike); and the final validation loss. Prints a Markdown table.
"""

import argparse
import json
import pathlib

import numpy as np

# (row label, method name pattern with {b}), in table order.
ROWS = [("STE, W+A (absmax)", "ste_w{b}a{b}"),
        ("trust (QuEST), W+A", "quest_w{b}a{b}"),
        ("STE, W only (absmax)", "ste_w{b}"),
        ("Fourier (StableQAT), W only", "stableqat_w{b}")]
BITS = (2, 3, 4)


def stats(curve, base, first):
    loss = np.array([l for _, l in curve])[first:]
    ref = np.array([l for _, l in base])[first:]
    d = loss - ref
    return d.mean(), d.std(), d.max()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", type=pathlib.Path)
    ap.add_argument("--png", type=pathlib.Path)
    a = ap.parse_args()
    r = json.loads((a.run / "losses.json").read_text())
    base = r["float"]["curve"]
    first = len(base) // 2
    fv = r["float"]["evals"][-1][1]
    print(f"steps {first}-{len(base) - 1}; float: final validation loss "
          f"{fv:.4f}\n")
    print("| estimator | bits | final valid loss | vs float | mean excess "
          "train loss | its std | worst spike |")
    print("|---|---|---|---|---|---|---|")
    for label, pattern in ROWS:
        for b in BITS:
            name = pattern.format(b=b)
            if name not in r:
                continue
            v = r[name]["evals"][-1][1]
            m, s, mx = stats(r[name]["curve"], base, first)
            print(f"| {label} | {b} | {v:.4f} | {(v / fv - 1) * 100:+.1f}% "
                  f"| {m:+.4f} | {s:.4f} | {mx:+.4f} |")
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(BITS), figsize=(14, 4), sharey=True)
        for ax, b in zip(axes, BITS):
            for row, (label, pattern) in enumerate(ROWS):
                name = pattern.format(b=b)
                if name not in r:
                    continue
                d = np.array([l for _, l in r[name]["curve"]]) - \
                    np.array([l for _, l in base])
                w = 10
                ax.plot(np.arange(w, len(d) + 1),
                        np.convolve(d, np.ones(w) / w, "valid"), label=label,
                        color=f"C{row}")
            ax.axhline(0, color="gray", lw=0.8)
            ax.set(title=f"{b} bits", xlabel="step")
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("training loss - float's (same batch), mean of 10")
        axes[-1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.png, dpi=90)
        print(f"\nwrote {a.png}")


if __name__ == "__main__":
    main()
