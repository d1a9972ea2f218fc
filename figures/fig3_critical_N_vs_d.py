"""F3: critical N against d (log-log) for several L: simulated N* markers, theory lines.

Simulated N* is the first crossing of tau by each seed's accuracy-vs-N curve
(interpolated in log N); the theory lines are ``theory.critical_N`` at the same (V, L),
the thin black line the explicit combined law of ``theory.capacity_laws``.  Below the
d-limited ceiling N* is infinite and the lines end; the triangle is the mean-bias
exponent of the laws, N* proportional to 1/d.  Equation numbers come from the theory's
formula registry.
"""
from . import style
from .grids import L0, TAU, V0, critical_sim, main_grid, theory_axis
from .plotting import legend_pairs, pow2_ticks, series, slope_triangle
from .theory_eval import critical_theory, eq, theory_table

NAME = "fig3_critical_N_vs_d"


def spec(quick):
    """One ``(base, axes)`` per L; the L = L0 grid is F1's.

    L = 32 stops at N = 10^5 (its N* are below 10^5; its points cost 4x those of L = 8).
    """
    g = main_grid(quick)
    Ls = (2, L0) if quick else (2, L0, 32)
    return [({"V": V0, "L": L},
             {"d": g["d"], "N": g["N"][g["N"] <= 10**5] if L > L0 else g["N"]})
            for L in Ls]


def main(quick=False, outdir=None):
    """Draw F3 into ``outdir`` (default figures/out); return the written paths."""
    fig, axs = style.figure(width=4.2, height=3.3)
    ax = axs[0, 0]
    pairs = []
    for (base, axes), st in zip(spec(quick), style.series_styles()):
        nstar, _ = critical_sim(base, "d", axes["d"], axes["N"], quick)
        dth = theory_axis(axes["d"], quick)
        th = critical_theory(base, dth, axes["N"], quick)
        pairs.append(series(ax, axes["d"], nstar, st, f"$L={base['L']}$", dth, th))
    dlaw = theory_axis(axes["d"], quick, step=1 / 16)
    law = theory_table("capacity_laws", [
        {"V": V0, "d": int(d), "L": L0, "target": TAU} for d in dlaw],
        keys=["N_star"])
    (h,) = ax.plot(dlaw, law[:, 0], color="black", lw=0.8)
    pairs.append((h, f"explicit law ({eq('law.recall_residual', 'gaussian.explicit_law')}, "
                     f"{eq('law.loc_n', 'gaussian.explicit_law')}), L={L0}"))
    slope_triangle(ax, 181, 1.5e3, -1, label=r"$N^*\propto d^{-1}$ "
                   f"({eq('capacity.N_mean_bias', 'gaussian.laws')})")
    ax.set(xscale="log", yscale="log", xlabel="embedding dimension $d$",
           ylabel=rf"critical samples $N^*$ (accuracy $\geq {TAU}$)",
           title=f"critical N against d; V={V0}")
    pow2_ticks(ax.xaxis, axes["d"])
    Ns = main_grid(quick)["N"]
    ax.set_ylim(Ns[0] / 1.5, Ns[-1] * 3)
    # L enters only through localization, complete at these N: the theory lines coincide
    legend_pairs(ax, pairs, loc="lower left", extra=" (all L coincide)")
    return style.save(fig, NAME, outdir)
