"""One shared style for every figure: Agg backend, colour-blind-safe and greyscale-readable.

Colours are the Okabe-Ito palette; every series also gets its own marker and line style so
that a greyscale print still separates them.  Heatmaps use ``cividis``, which is monotone
in lightness and readable with every common colour-vision deficiency.
"""
from __future__ import annotations

import os
from itertools import cycle

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")

COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (5, 5))]
CMAP = "cividis"

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 160,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "pdf.fonttype": 42,
}


def series_styles():
    """Endless iterator of dicts (color, marker, linestyle), one per series."""
    return ({"color": c, "marker": mk, "linestyle": ls}
            for c, mk, ls in cycle(zip(COLORS, MARKERS, LINESTYLES)))


def figure(ncols=1, nrows=1, width=3.4, height=2.8, **kw):
    """A figure with the shared rc settings; ``width``/``height`` are per panel, in inches."""
    plt.rcParams.update(RC)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                        squeeze=False, constrained_layout=True, **kw)


def save(fig, name, outdir=None):
    """Write ``NAME.png`` and vector ``NAME.pdf`` atomically into ``outdir``; return paths."""
    outdir = OUT if outdir is None else outdir
    os.makedirs(outdir, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(outdir, f"{name}.{ext}")
        tmp = os.path.join(outdir, f".{name}.tmp.{ext}")
        fig.savefig(tmp, format=ext)
        os.replace(tmp, path)
        paths.append(path)
        # the layout (in figure fractions) is solved by the first draw; freeze it so the
        # second format does not solve it again (text layout dominates the drawing time)
        fig.set_layout_engine("none")
    plt.close(fig)
    return paths
