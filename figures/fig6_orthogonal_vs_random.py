"""F6: random (gaussian) against orthogonal embeddings on the same axes.

(a) accuracy against N at one d; (b) critical N against d.  Orthogonal embeddings have no
cross-talk, so their N* does not depend on d; gaussian N* approaches it as d grows.
"""
from . import style
from .grids import L0, TAU, critical_sim, logrange
from .plotting import legend_pairs, pow2_ticks, series
from .theory_eval import critical_theory, predict_grid

NAME = "fig6_orthogonal_vs_random"
EMBEDDINGS = ("gaussian", "orthogonal")


def spec(quick):
    """One ``(base, axes)`` per embedding law (orthogonal needs d >= 2V + 2)."""
    V, ds = (16, [40, 64]) if quick else (64, [136, 192, 256, 384, 512, 768, 1024])
    Ns = [32, 1000] if quick else logrange(1.5, 4.5, 0.25)
    out = []
    for emb in EMBEDDINGS:
        base = {"V": V, "L": L0, **({"embeddings": emb} if emb != "gaussian" else {})}
        out.append((base, {"d": ds, "N": Ns}))
    return out


def main(quick=False, outdir=None):
    """Draw F6 into ``outdir`` (default figures/out); return the written paths."""
    fig, axs = style.figure(ncols=2, width=4.0, height=3.0)
    (ax_a, ax_b), pairs_a, pairs_b = axs[0], [], []
    for (base, axes), st, emb in zip(spec(quick), style.series_styles(), EMBEDDINGS):
        ds, Ns = axes["d"], axes["N"]
        nstar, g = critical_sim(base, "d", ds, Ns, quick)
        j = len(ds) // 2                                          # panel (a) at a middle d
        th = predict_grid(["accuracy"], {**base, "d": ds[j]}, {"N": Ns})   # F9 shares it
        pairs_a.append(series(ax_a, Ns, g["accuracy"][j], st, emb, Ns,
                              None if th is None else th["accuracy"]))
        thc = critical_theory(base, ds, Ns, quick)
        pairs_b.append(series(ax_b, ds, nstar, st, emb, ds, thc))
    ax_a.axhline(TAU, color="0.5", lw=0.8, ls=":")
    ax_a.set(xscale="log", ylim=(-0.02, 1.02), xlabel="training samples $N$", ylabel="accuracy",
             title=f"(a) accuracy, V={base['V']}, d={ds[j]}, L={base['L']}")
    ax_b.set(xscale="log", yscale="log", xlabel="embedding dimension $d$",
             ylabel=rf"critical samples $N^*$ (accuracy $\geq {TAU}$)",
             title=f"(b) critical N, V={base['V']}, L={base['L']}")
    pow2_ticks(ax_b.xaxis, ds)
    legend_pairs(ax_a, pairs_a, note=False, loc="lower right")
    legend_pairs(ax_b, pairs_b, loc="upper right")
    return style.save(fig, NAME, outdir)
