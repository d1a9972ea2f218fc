"""F3: critical N against d (log-log) for several L: simulated N* markers, theory lines.

Simulated N* is the first crossing of tau by each seed's accuracy-vs-N curve
(interpolated in log N); the theory lines are ``theory.critical_N`` at the same (V, L),
the thin black line the explicit combined law of ``theory.capacity_laws``.  Below the
d-limited ceiling N* is infinite and the lines end; the triangle is the mean-bias
exponent of the laws, N* proportional to 1/d.  Equation numbers come from the theory's
formula registry.
"""
import numpy as np

from . import common, style

NAME = "fig3_critical_N_vs_d"


def spec(quick):
    """One ``(base, axes)`` per L; the L = L0 grid is F1's.

    L = 32 stops at N = 10^5 (its N* are below 10^5; its points cost 4x those of L = 8).
    """
    g = common.main_grid(quick)
    Ls = (2, common.L0) if quick else (2, common.L0, 32)
    return [({"V": common.V0, "L": L},
             {"d": g["d"], "N": g["N"][g["N"] <= 10**5] if L > common.L0 else g["N"]})
            for L in Ls]


def main(quick=False, outdir=None):
    """Draw F3 into ``outdir`` (default figures/out); return the written paths."""
    fig, axs = style.figure(width=4.2, height=3.3)
    ax = axs[0, 0]
    pairs = []
    for (base, axes), st in zip(spec(quick), style.series_styles()):
        nstar, _ = common.critical_sim(base, "d", axes["d"], axes["N"], quick)
        dth = common.theory_axis(axes["d"], quick)
        th = common.critical_theory(base, dth, axes["N"], quick)
        pairs.append(common.series(ax, axes["d"], nstar, st, f"$L={base['L']}$", dth, th))
    if th is None:
        common.pending(ax, "critical_N")
    dlaw = common.theory_axis(axes["d"], quick, step=1 / 16)
    law = common.theory_table("capacity_laws.capacity_laws", [
        {"V": common.V0, "d": int(d), "L": common.L0, "target": common.TAU} for d in dlaw],
        keys=["N_star"])
    if law is not None:
        (h,) = ax.plot(dlaw, law[:, 0], color="black", lw=0.8)
        pairs.append((h, f"law ({common.eq('capacity.law_residual', 'capacity_laws')})"))
        common.slope_triangle(ax, 181, 1.5e3, -1, label=r"$N^*\propto d^{-1}$ "
                              f"({common.eq('capacity.N_mean_bias', 'capacity_laws')})")
    ax.set(xscale="log", yscale="log", xlabel="embedding dimension $d$",
           ylabel=rf"critical samples $N^*$ (accuracy $\geq {common.TAU}$)",
           title=f"critical N against d; V={common.V0}")
    common.pow2_ticks(ax.xaxis, axes["d"])
    Ns = common.main_grid(quick)["N"]
    ax.set_ylim(Ns[0] / 1.5, Ns[-1] * 3)
    # L enters only through localization, complete at these N: the theory lines coincide
    common.legend_pairs(ax, pairs, loc="lower left", extra=" (all L coincide)")
    return style.save(fig, NAME, outdir)
