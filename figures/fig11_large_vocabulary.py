r"""F11: vocabularies of 10^3 to 6.5 x 10^4 at a fixed number of samples per fact.

Accuracy against V at N/V = 16 and 64 (d = 256, L = 8): simulated with the sparse limit
(no V x V array) and scored on 1000 random facts per seed (``facts=1000``; bars: min-max
over seeds), with ``theory.predict`` drawn over it.  At fixed N/V the count noise V/N is
fixed, but the mean bias :math:`V^2/(Nd) = (V/N) \cdot V/d` grows with V: accuracy falls
once V passes a few d, the large-V side of the explicit law (4.15).  The dotted lines mark
where the explicit law ``theory.capacity_laws`` puts N* = N (its ``V_star``).
"""
from __future__ import annotations

import numpy as np

from . import style
from .grids import TAU, spread, sweep
from .plotting import legend_pairs
from .theory_eval import eq, theory_table

NAME = "fig11_large_vocabulary"
D, L, FACTS = 256, 8, 1000
RATIOS = (16, 64)


def spec(quick):
    """``(ratio, base, axes)`` per samples-per-fact ratio."""
    Vs = [1024, 2048] if quick else [1024, 4096, 16384, 65536]
    return [(r, {"d": D, "L": L, "facts": FACTS}, {"V": Vs}) for r in RATIOS[: 1 if quick else 2]]


def main(quick=False, outdir=None):
    """Draw F11 into ``outdir`` (default figures/out); return the written paths."""
    fig, axs = style.figure(width=4.2, height=3.3)
    ax = axs[0, 0]
    pairs = []
    for (ratio, base, axes), st in zip(spec(quick), style.series_styles()):
        Vs = np.asarray(axes["V"])
        acc = np.array([sweep({**base, "V": int(V), "N": int(ratio * V)}, {"L": [L]}, quick)
                        ["accuracy"].reshape(-1) for V in Vs])                 # (nV, seeds)
        med, lo, hi = spread(acc)
        h = ax.errorbar(Vs, med, yerr=[med - lo, hi - med], color=st["color"],
                        marker=st["marker"], markerfacecolor="white", linestyle="none",
                        capsize=2, markersize=4.5)
        Vth = np.unique(np.round(np.geomspace(Vs[0], Vs[-1], 4 if quick else 13)).astype(int))
        th = theory_table("predict", [{"V": int(V), "N": int(ratio * V), "d": D, "L": L}
                                      for V in Vth], keys=["accuracy"])[:, 0]
        (line,) = ax.plot(Vth, th, color=st["color"], lw=1.5, ls=st["linestyle"])
        law = theory_table("capacity_laws", [{"V": 2, "d": D, "L": L, "N": int(ratio * V),
                                              "target": TAU} for V in Vth], keys=["V_star"])
        # the law's largest V with N*(V) <= N = ratio * V: where V_star crosses V
        ok = law[:, 0] >= Vth
        if ok.any() and not ok.all():
            ax.axvline(Vth[np.flatnonzero(ok)[-1]], color=st["color"], lw=0.8, ls=":")
        pairs.append(((line, h), f"$N = {ratio}\\,V$"))
    ax.axhline(TAU, color="0.5", lw=0.8, ls=":")
    ax.set(xscale="log", xlabel="vocabulary size $V$", ylabel="accuracy",
           ylim=(-0.02, 1.02), title=f"large vocabularies; d={D}, L={L}, {FACTS} facts scored")
    law_eq = eq("law.recall_residual", "gaussian.explicit_law")
    legend_pairs(ax, pairs, loc="lower left",
                 extra=f"\ndotted: explicit law ({law_eq}) reaches {TAU}")
    return style.save(fig, NAME, outdir)
