"""F7: the initial-gradient lower bound against the N* that estimators achieve, against d.

Lower bound: ``theory.lower_bound_N`` (Fano with the Gaussian-channel capacity of the
initial gradient; no estimator that sees only that gradient does better).  Achieved:
the three-step transformer (F1's grid, with its theory line) and the decoders of the
initial gradient of ``simulate.decoder`` (whitened maximum-likelihood read-out and the
plain read-out of W_V^(1)), measured on the same tasks and samples.
"""
from . import style
from .grids import L0, TAU, V0, critical_sim, main_grid, theory_axis
from .measures import measure_decoder
from .plotting import legend_pairs, pow2_ticks, series
from .theory_eval import critical_theory, theory_curve

NAME = "fig7_lower_bound"


def spec(quick):
    """Transformer grid (F1's) and decoder grid (N up to 10^4: decoders need fewer samples)."""
    g = main_grid(quick)
    base = {"V": V0, "L": L0}
    return base, {"d": g["d"], "N": g["N"]}, {"d": g["d"], "N": g["N"][g["N"] <= 10**4]}


def main(quick=False, outdir=None):
    """Draw F7 into ``outdir`` (default figures/out); return the written paths."""
    base, tf_axes, dec_axes = spec(quick)
    ds = tf_axes["d"]
    dfine = theory_axis(ds, quick)                               # F3's critical N points
    dlb = theory_axis(ds, quick, step=1 / 16)                    # the bound is a formula: fine
    fig, axs = style.figure(width=4.6, height=4.0)
    ax = axs[0, 0]
    st = style.series_styles()
    nstar, _ = critical_sim(base, "d", ds, tf_axes["N"], quick)
    th = critical_theory(base, dfine, tf_axes["N"], quick)
    pairs = [series(ax, ds, nstar, next(st), "three-step transformer", dfine, th)]
    for key, label in (("whitened", "gradient decoder (whitened ML)"),
                       ("plain", r"gradient decoder (plain, $W_V^{(1)}$ read-out)")):
        nd, _ = critical_sim(base, "d", dec_axes["d"], dec_axes["N"], quick,
                             fn=measure_decoder, key=key)
        pairs.append(series(ax, dec_axes["d"], nd, next(st), label))
    lb = theory_curve("lower_bound_N", base, "d", dlb, target=TAU)
    ylo = tf_axes["N"][0] / 2
    (line,) = ax.plot(dlb, lb, color="black", lw=2.0, ls=(0, (1, 1)))
    ax.fill_between(dlb, ylo, lb, color="0.88", zorder=0, lw=0)     # unreachable region
    pairs.append((line, "lower bound (initial gradient only),\nshaded: unreachable"))
    ax.set(xscale="log", yscale="log", xlabel="embedding dimension $d$",
           ylabel=rf"critical samples $N^*$ (accuracy $\geq {TAU}$)",
           title=f"lower bound vs achieved; V={base['V']}, L={base['L']}")
    pow2_ticks(ax.xaxis, ds)
    ax.set_ylim(ylo, tf_axes["N"][-1] * 3)
    legend_pairs(fig, pairs, loc="outside lower center", ncol=2, fontsize=7)
    return style.save(fig, NAME, outdir)
