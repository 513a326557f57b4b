"""Reads the loss lines '<method> step N  loss L' of a training run from
stdin and checks that there are at least `--min-lines` of them, all finite,
and that the last loss is below `--ratio` times the first.

usage: check_loss_falls.py [--ratio R] [--min-lines N] < log
"""

import argparse
import math
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--ratio", type=float, default=0.6)
ap.add_argument("--min-lines", type=int, default=10)
args = ap.parse_args()

losses = [float(m.group(1)) for m in
          re.finditer(r"step \d+\s+loss (\S+)", sys.stdin.read())]
if len(losses) < args.min_lines:
    sys.exit(f"check_loss_falls: {len(losses)} loss lines, expected at least {args.min_lines}")
if not all(math.isfinite(v) for v in losses):
    sys.exit(f"check_loss_falls: non-finite loss in {losses}")
if not losses[-1] < args.ratio * losses[0]:
    sys.exit(f"check_loss_falls: loss went from {losses[0]} to {losses[-1]}, "
             f"not below {args.ratio} of the start")
print(f"loss falls: {losses[0]:.4g} -> {losses[-1]:.4g} over {len(losses)} reports")
