"""F2: accuracy over (N, L) at fixed V, d; theory contours on the simulated heatmap.

The final model attends to one position, so L enters only through localization (step 2):
at small L the map is recall-limited (vertical contour), at large L localization needs
more samples.  d = 2V keeps the recall ceiling near 1 so the L-dependence is visible.
"""
from . import style
from .grids import logrange
from .plotting import accuracy_heatmap, heatmap_legend

NAME = "fig2_accuracy_N_L"


def spec(quick):
    """The measured grid: ``(base, axes)`` of :func:`figures.grids.sweep`."""
    if quick:
        return {"V": 32, "d": 64}, {"L": [2, 16], "N": [100, 10000]}
    return {"V": 64, "d": 128}, {"L": logrange(1, 8, 1, base=2),
                                 "N": logrange(2, 4.5, 0.25)}


def main(quick=False, outdir=None):
    """Draw F2 into ``outdir`` (default figures/out); return the written paths."""
    base, axes = spec(quick)
    fig, ax = accuracy_heatmap(base, axes["N"], "L", "sequence length $L$", axes["L"], quick)
    heatmap_legend(fig, ax)
    return style.save(fig, NAME, outdir)
