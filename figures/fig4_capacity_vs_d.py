"""F4: capacity V* against d (log-log) for several N: the d^2 regime against the N-limited one.

Simulated V* is the last V (interpolated in log V) at which each seed's accuracy is still
>= tau on a grid of V; the thick lines are ``theory.capacity`` at the same (N, L), the thin
dashed ones the explicit combined law of ``theory.capacity_laws`` solved for V.  At small
d the capacity is d-limited (V* grows like d^2, the mediated term) and the same for every
N; at large d the N-limited regime (V*^2 proportional to N d, the mean bias) separates the
lines.  Equation numbers come from the theory's formula registry.
"""
import numpy as np

from . import style
from .grids import L0, TAU, crossings, logrange, sweep, theory_axis
from .plotting import legend_pairs, pow2_ticks, series, slope_triangle
from .theory_eval import eq, theory_curve, theory_table

NAME = "fig4_capacity_vs_d"


def spec(quick):
    """One ``(base, axes)`` per N (its V = V0 points are F1's)."""
    if quick:
        return [({"L": L0, "N": 10**3}, {"d": [32, 128], "V": [8, 32]})]
    return [({"L": L0, "N": N},
             {"d": logrange(4, 8, 1, base=2), "V": logrange(2, 11, 0.5, base=2)})
            for N in (10**3, 10**4, 10**5)]


def main(quick=False, outdir=None):
    """Draw F4 into ``outdir`` (default figures/out); return the written paths."""
    fig, axs = style.figure(width=4.2, height=3.3)
    ax = axs[0, 0]
    pairs = []
    for (base, axes), st in zip(spec(quick), style.series_styles()):
        g = sweep(base, axes, quick)
        vstar = crossings(axes["V"], np.moveaxis(g["accuracy"], -1, 1), last=True)
        dth = theory_axis(axes["d"], quick, step=1)
        th = theory_curve("capacity", base, "d", dth, quick, target=TAU)
        if th is not None:
            th[th < 2] = np.nan                      # capacity() returns 1 for "not even V = 2"
        label = f"$N=10^{{{np.log10(base['N']):.0f}}}$"
        pairs.append(series(ax, axes["d"], vstar, st, label, dth, th))
        dlaw = theory_axis(axes["d"], quick, step=1 / 16)
        law = theory_table("capacity_laws", [
            {"V": 2, "d": int(d), "L": base["L"], "N": base["N"], "target": TAU}
            for d in dlaw], keys=["V_star"])
        ax.plot(dlaw, law[:, 0], color=st["color"], lw=0.8, ls=(0, (2, 2)))
    from matplotlib.lines import Line2D
    law_eq = f"{eq('law.recall_residual', 'gaussian.explicit_law')}, " \
             f"{eq('law.loc_n', 'gaussian.explicit_law')}"
    pairs.append((Line2D([], [], color="0.3", lw=0.8, ls=(0, (2, 2))), f"explicit law ({law_eq})"))
    slope_triangle(ax, 100, 1.6, 2, label=r"$V^*\propto d^2$ "
                   f"({eq('capacity.d_mediated', 'gaussian.laws')})")
    slope_triangle(ax, 120, 1000, 0.5, label=r"$V^*\propto (Nd)^{1/2}$ "
                   f"({eq('capacity.N_mean_bias', 'gaussian.laws')})")
    ax.set(xscale="log", yscale="log", xlabel="embedding dimension $d$",
           ylabel=rf"capacity $V^*$ (accuracy $\geq {TAU}$)",
           title=f"capacity against d; L={L0}")
    pow2_ticks(ax.xaxis, axes["d"])
    ax.set_ylim(top=3e3)
    legend_pairs(ax, pairs, loc="upper left")
    return style.save(fig, NAME, outdir)
