#!/usr/bin/python3
"""Held-out curves of eval/pretrain_curve.sh runs, against training time.

Usage: eval/plot_curve.py OUT.png NAME.tsv [NAME.tsv ...]

Each TSV line is "step <TAB> training seconds <TAB> evaluate's JSON". Plots the masked-LM loss with
every scored token masked (solid) and as the records are written (dotted) for each run, and each
run's unigram loss (dashed): a masked loss below that line is what the model learned from context.
Needs Debian's python3-matplotlib.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    rows = []
    with open(path) as f:
        for line in f:
            step, sec, result = line.rstrip("\n").split("\t", 2)
            rows.append((int(step), float(sec), json.loads(result)))
    return rows


def main(out, paths):
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for i, path in enumerate(paths):
        rows = read(path)
        name = path.rsplit("/", 1)[-1].removesuffix(".tsv")
        minutes = [sec / 60 for _, sec, _ in rows]
        colour = f"C{i}"
        ax.plot(minutes, [r["mlm_loss_masked"] for _, _, r in rows], "o-", color=colour,
                label=f"{name}: scored tokens masked")
        ax.plot(minutes, [r["mlm_loss"] for _, _, r in rows], ":", color=colour,
                label=f"{name}: records as written")
        ax.axhline(rows[-1][2]["unigram_loss"], linestyle="--", color=colour, alpha=0.6,
                   label=f"{name}: unigram model of the training records")
    ax.set_xlabel("training minutes")
    ax.set_ylabel("held-out masked-LM loss (nats)")
    ax.set_title("Held-out MLM loss against time; below the unigram line = learned from context")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
