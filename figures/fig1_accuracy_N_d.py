"""F1: accuracy over (N, d) at fixed V, L; theory contours on the simulated heatmap."""
from . import common, style

NAME = "fig1_accuracy_N_d"


def spec(quick):
    """The measured grid: ``(base, axes)`` of :func:`common.sweep`."""
    g = common.main_grid(quick)
    return {"V": common.V0, "L": common.L0}, {"d": g["d"], "N": g["N"]}


def main(quick=False, outdir=None):
    """Draw F1 into ``outdir`` (default figures/out); return the written paths."""
    base, axes = spec(quick)
    fig, ax = common.accuracy_heatmap(base, axes["N"], "d", "embedding dimension $d$",
                                      axes["d"], quick)
    common.heatmap_legend(fig, ax)
    return style.save(fig, NAME, outdir)
