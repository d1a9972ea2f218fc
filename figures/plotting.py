r"""Drawing helpers shared by the figures: seed spreads, theory lines, legends, heatmaps.

Simulation is drawn as markers (median over seeds, min-max bars), theory as lines in the
same style (:func:`series`); :func:`accuracy_heatmap` is the simulated-accuracy map with
theory contours of F1, F2 and F5.  Colours and markers come from :mod:`figures.style`.
"""
from __future__ import annotations

import numpy as np
from matplotlib import patheffects
from matplotlib.legend_handler import HandlerTuple
from matplotlib.ticker import FixedLocator, LogFormatterMathtext, NullLocator, ScalarFormatter

from . import style
from .grids import TAU, critical_sim, spread
from .theory_eval import predict_grid

#: White outline that keeps a line readable on top of a heatmap.
HALO = [patheffects.withStroke(linewidth=3.2, foreground="white")]


def edges(v, log=True):
    """Cell edges around grid values (geometric midpoints when ``log``)."""
    v = np.log(np.asarray(v, float)) if log else np.asarray(v, float)
    mid = (v[1:] + v[:-1]) / 2
    e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(e) if log else e


def errorbars(ax, x, Y, style_, label=None, **kw):
    """Median over seeds with min-max error bars; Y has shape (len(x), seeds).

    Infinite values (tau never reached) count as largest: an infinite median is not
    drawn, and a point whose max is infinite gets a caret above it instead of a bar.
    """
    med, lo, hi = spread(Y)
    x = np.asarray(x, float)
    ok = np.isfinite(med)
    top = np.where(np.isfinite(hi), hi, np.nan)
    kw = {"capsize": 2, "markersize": 4.5, "linestyle": "none", **kw}
    h = ax.errorbar(x[ok], med[ok], yerr=[med[ok] - lo[ok], np.nan_to_num(top[ok] - med[ok])],
                    color=style_["color"], marker=style_["marker"], label=label,
                    markerfacecolor="white", **kw)
    up = ok & ~np.isfinite(hi)
    if up.any():
        ax.plot(x[up], med[up] * 1.6, marker="^", linestyle="none", color=style_["color"],
                markersize=4)
    return h


def slope_triangle(ax, x0, y0, slope, width=2.0, label=None):
    """Reference slope triangle in log-log axes: legs from (x0, y0) over a factor ``width``.

    ``slope`` is a law's exponent from theory, never a fit; the label sits on the side of
    the horizontal leg away from the hypotenuse.
    """
    x1 = x0 * width
    y1 = y0 * width ** slope
    ax.plot([x0, x1, x1, x0], [y0, y1, y0, y0], color="0.2", lw=0.9, zorder=5)
    up = slope < 0
    ax.text(np.sqrt(x0 * x1), y0 * (1.12 if up else 0.89), label or f"slope {slope:g}",
            ha="center", va="bottom" if up else "top", fontsize=7, color="0.15", zorder=5)


def colorbar(fig, mappable, ax, label="accuracy"):
    """Colour bar on ``ax`` for accuracies in [0, 1]."""
    cb = fig.colorbar(mappable, ax=ax, fraction=0.06, pad=0.02)
    cb.set_label(label)
    return cb


def series(ax, x, Y, st, label, xfine=None, theory=None):
    """One series: simulation markers with seed min-max bars, theory line in the same style.

    Returns a legend handle showing both (line and marker).
    """
    h = errorbars(ax, x, Y, st)
    if theory is not None:
        (line,) = ax.plot(xfine, theory, color=st["color"], linestyle=st["linestyle"], lw=1.5)
        return (line, h), label
    return h, label


def legend_pairs(ax, pairs, note=True, extra="", **kw):
    """Legend of (handle, label) pairs; ``note`` adds what markers and lines mean (and
    ``extra`` to that note).  ``ax`` may be a figure (e.g. ``loc="outside lower center"``)."""
    handles, labels = zip(*pairs)
    leg = ax.legend(handles, labels, handler_map={tuple: HandlerTuple(ndivide=1)}, **kw)
    if note:
        leg.set_title("markers: simulation (median, seed min-max)\nlines: theory" + extra,
                      prop={"size": 6.5})
    return leg


def pow2_ticks(axis, values, pad=1.15):
    """Major ticks at the powers of two spanned by ``values``, as plain integers.

    With ``pad``, the axis spans ``values`` widened by that factor on both sides, so a
    range without simulated points (e.g. below a ceiling) still shows.
    """
    lo, hi = np.log2(min(values)), np.log2(max(values))
    ticks = 2.0 ** np.arange(np.ceil(lo - 1e-9), np.floor(hi + 1e-9) + 1)
    axis.set_major_locator(FixedLocator(ticks))
    # plain integers while short, 2^k beyond four digits
    axis.set_major_formatter(ScalarFormatter() if hi <= 12 else LogFormatterMathtext(base=2))
    axis.set_minor_locator(NullLocator())
    if pad:
        lim = (min(values) / pad, max(values) * pad)
        (axis.axes.set_xlim if axis.axis_name == "x" else axis.axes.set_ylim)(*lim)


def accuracy_heatmap(base, Ns, ykey, ylabel, yvals, quick, yfactor=1):
    """Heatmap of simulated accuracy over (N, ``ykey``) with theory contours on top.

    Colour: mean simulated accuracy over seeds.  White markers: simulated critical N per
    row (median and min-max over seeds).  Lines: theory contours at tau (solid) and 0.5
    (dashed) of ``theory.predict`` at the same configurations.  The y axis
    shows ``yfactor * y`` (F5 plots m d over a grid of m).  Shared by F1, F2 and F5.

    Returns
    -------
    fig, ax
        Add overlays, then :func:`heatmap_legend`.
    """
    nstar, g = critical_sim(base, ykey, yvals, Ns, quick)        # (ny, seeds)
    acc = g["accuracy"]                                          # (ny, nN, seeds)
    y = np.asarray(yvals) * yfactor
    fig, axs = style.figure(width=4.0, height=3.2)
    ax = axs[0, 0]
    mesh = ax.pcolormesh(edges(Ns), edges(y), acc.mean(axis=-1), cmap=style.CMAP,
                         vmin=0, vmax=1, shading="flat")
    colorbar(fig, mesh, ax, "simulated accuracy (seed mean)")
    med, lo, hi = spread(nstar)
    ok = np.isfinite(med)
    ax.errorbar(med[ok], y[ok],
                xerr=[med[ok] - lo[ok], np.nan_to_num(np.minimum(hi[ok], Ns[-1]) - med[ok])],
                fmt="o", color="white", mec="black", ms=4, capsize=2, ecolor="white",
                label=rf"simulated $N^*$ ($\tau$={TAU}), seed min-max")
    # theory on the simulated grid itself: F9 evaluates the same configurations (cached once)
    th = predict_grid(["accuracy"], base, {ykey: list(yvals), "N": list(Ns)})
    cs = ax.contour(Ns, y, th["accuracy"],
                    levels=[0.5, TAU], colors=["#E69F00", "#D55E00"],
                    linestyles=["--", "-"], linewidths=1.8)
    cs.set(path_effects=HALO)                                # no clabel: it cuts the line
    ax.plot([], [], color="#D55E00", ls="-", label=rf"theory, accuracy $= {TAU}$")
    ax.plot([], [], color="#E69F00", ls="--", label="theory, accuracy $= 0.5$")
    ax.set(xscale="log", yscale="log", xlabel="training samples $N$", ylabel=ylabel)
    ax.grid(False)
    pow2_ticks(ax.yaxis, y, pad=None)
    fixed = ", ".join(f"{k}={v}" for k, v in base.items())
    ax.set_title(f"accuracy over (N, {ykey}); {fixed}")
    return fig, ax


def heatmap_legend(fig, ax):
    """The legend of a heatmap figure, below the axes (nothing on the map is covered)."""
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2,
               fontsize=6.5)
