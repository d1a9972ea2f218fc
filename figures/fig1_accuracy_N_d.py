"""F1: accuracy over (N, d) at fixed V, L; theory contours on the simulated heatmap."""
from . import style
from .grids import L0, V0, main_grid
from .plotting import accuracy_heatmap, heatmap_legend

NAME = "fig1_accuracy_N_d"


def spec(quick):
    """The measured grid: ``(base, axes)`` of :func:`figures.grids.sweep`."""
    g = main_grid(quick)
    return {"V": V0, "L": L0}, {"d": g["d"], "N": g["N"]}


def main(quick=False, outdir=None):
    """Draw F1 into ``outdir`` (default figures/out); return the written paths."""
    base, axes = spec(quick)
    fig, ax = accuracy_heatmap(base, axes["N"], "d", "embedding dimension $d$", axes["d"], quick)
    heatmap_legend(fig, ax)
    return style.save(fig, NAME, outdir)
