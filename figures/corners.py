r"""The corners where a derivation fix changed the prediction: simulated accuracy with many
seeds against the prediction before and after the fix (panel (b) of F9).

Each corner names its configuration, the theory function that gave the prediction before
the fix and the one that gives it now (``theory.<path>`` with keyword arguments), and the
doc that derives the fix.  The simulation uses :data:`SEEDS` seeds and ``reps`` test
sequences per token, so the standard error of the seed mean is small against the change.
"""
from __future__ import annotations

import numpy as np

from .grids import sweep
from .theory_eval import theory_table

#: Seeds per corner: one task's accuracy scatters by up to ~0.17 at small V.
SEEDS = 24
#: (label, configuration, (path, extra kwargs) before, (path, extra kwargs) after).
CORNERS = (
    ("L >> V", {"V": 64, "N": 3162, "d": 128, "L": 256},
     ("gaussian.predict.gaussian_accuracy", {"quenched": False}),
     ("gaussian.predict.gaussian_accuracy", {"quenched": True})),
    ("L >> V, V=16", {"V": 16, "N": 2163, "d": 16, "L": 64},
     ("gaussian.predict.gaussian_accuracy", {"quenched": False}),
     ("gaussian.predict.gaussian_accuracy", {"quenched": True})),
    ("L >> V, V=5", {"V": 5, "N": 4346, "d": 6, "L": 53},
     ("gaussian.predict.gaussian_accuracy", {"quenched": False}),
     ("gaussian.predict.gaussian_accuracy", {"quenched": True})),
)


def measure(quick):
    """Per corner: (label, simulated mean, its standard error, before, after)."""
    out = []
    for label, cfg, (p0, k0), (p1, k1) in (CORNERS[:1] if quick else CORNERS):
        base = {k: v for k, v in cfg.items() if k != "N"}
        g = sweep({**base, "reps": 4}, {"N": [cfg["N"]]}, quick, seeds=SEEDS)
        acc = g["accuracy"].reshape(-1)                                 # (seeds,)
        before = float(theory_table(p0, [{**cfg, **k0}])[0])
        after = float(theory_table(p1, [{**cfg, **k1}])[0])
        out.append((label, cfg, float(acc.mean()),
                    float(acc.std(ddof=1) / np.sqrt(acc.size)), before, after))
    return out


def draw(ax, rows):
    """Simulated mean (bars: 2 standard errors) against before (open) and after (filled)."""
    ax.plot([0, 1], [0, 1], color="0.4", lw=0.9, ls="--", zorder=1)
    for i, (label, cfg, sim, se, before, after) in enumerate(rows):
        c = f"C{i}"
        ax.errorbar([sim, sim], [before, after], xerr=2 * se, fmt="none", ecolor=c, lw=0.8)
        ax.plot(sim, before, "o", mfc="white", mec=c, ms=5)
        ax.plot(sim, after, "o", color=c, ms=5,
                label=f"{label}: V={cfg['V']} N={cfg['N']} d={cfg['d']} L={cfg['L']}")
        ax.annotate("", xy=(sim, after), xytext=(sim, before),
                    arrowprops={"arrowstyle": "->", "color": c, "lw": 0.8})
    lo = min(min(r[2] - 2 * r[3], r[4], r[5]) for r in rows) - 0.05
    hi = max(max(r[2] + 2 * r[3], r[4], r[5]) for r in rows) + 0.05
    ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal",
           xlabel=f"simulated accuracy ({SEEDS}-seed mean, 2 s.e.)",
           ylabel="predicted: before (open) and after (filled)",
           title="(b) corners before and after the fixes")
    ax.legend(loc="upper left", fontsize=5.5)
