"""F9: calibration, predicted against simulated accuracy over every measured grid.

The points are the configurations of F1, F2, F4, F5 and F6 (attention-only with gaussian
and orthogonal embeddings over V = 4..2048, N = 30..3e5, d = 16..1024, L = 2..256, and
the attention-MLP grid), loaded from the sweep cache; the prediction is ``theory.predict``
at the same configuration (F1, F2 and F5 draw the same predictions, so they are cached
once).  F3's extra L values are left out: its L-dependence is F2's, at twice the cost.  The error
statistics (of the seed-mean accuracy) are printed on the plot and written, with every
point, to ``calibration.json`` next to the figure.
"""
import json
import os

import numpy as np

from simulate.cache import digest

from . import style
from .corners import draw as draw_corners, measure as measure_corners
from . import (fig1_accuracy_N_d, fig2_accuracy_N_L, fig4_capacity_vs_d, fig5_mlp_phase_diagram,
               fig6_orthogonal_vs_random)
from .grids import TAU, configs_of, n_seeds, spread, sweep
from .theory_eval import theory_rows

NAME = "fig9_calibration"
SOURCES = (fig1_accuracy_N_d, fig2_accuracy_N_L, fig4_capacity_vs_d, fig6_orthogonal_vs_random,
           fig5_mlp_phase_diagram)


def points(quick):
    """Every distinct measured configuration with its seed accuracies, in source order."""
    seen, out = set(), []
    for mod in SOURCES:
        specs = mod.spec(quick)
        for base, axes in specs if isinstance(specs, list) else [specs]:
            acc = sweep(base, axes, quick)["accuracy"].reshape(-1, n_seeds(quick))
            for cfg, a in zip(configs_of(base, axes), acc):
                if digest(cfg) not in seen:
                    seen.add(digest(cfg))
                    out.append((cfg, a))
    return out


def family(cfg):
    """Model family of a configuration (marker group on the plot): the embedding law of the
    attention-only model, or the attention-MLP model."""
    if cfg.get("m") is not None:
        return "attention-MLP"
    return cfg.get("embeddings", "gaussian")


def stats(err):
    """Point count, mean, median and max absolute error, fraction within 0.05 and 0.1, and
    the number of points the theory failed on (left out of the rest)."""
    a = np.abs(err[np.isfinite(err)])
    if not a.size:
        return {"n": 0, "theory_failed": int(err.size)}
    return {"n": int(a.size), "mean_abs_error": float(a.mean()),
            "median_abs_error": float(np.median(a)), "max_abs_error": float(a.max()),
            "within_0.05": float(np.mean(a <= 0.05)), "within_0.1": float(np.mean(a <= 0.1)),
            "theory_failed": int(err.size - a.size)}


def main(quick=False, outdir=None):
    """Draw F9 and write calibration.json into ``outdir``; return the written paths."""
    pts = points(quick)
    cfgs = [c for c, _ in pts]
    sim = np.array([a for _, a in pts])                          # (n, seeds)
    rows = theory_rows("predict", cfgs, keys=["accuracy", "regime"])
    fig, axs = style.figure(ncols=2, width=4.0, height=3.6)
    ax = axs[0, 0]
    ax.plot([0, 1], [0, 1], color="0.4", lw=0.9, ls="--", zorder=1)
    fams = [family(c) for c in cfgs]
    report = {"tau": TAU, "seeds": n_seeds(quick), "quick": bool(quick)}
    pred = np.array([r[0] for r in rows], dtype=float)
    regimes = [str(r[1]) for r in rows]
    med, lo, hi = spread(sim)
    mean = sim.mean(axis=1)
    err = pred - mean
    # the largest family first, so the smaller ones stay visible on top
    order = sorted(set(fams), key=fams.count, reverse=True)
    for fam, st in zip(order, style.series_styles()):
        k = np.array([f == fam for f in fams])
        s = stats(err[k])
        ax.errorbar(mean[k], pred[k], xerr=[mean[k] - lo[k], hi[k] - mean[k]], fmt="none",
                    ecolor=st["color"], elinewidth=0.4, alpha=0.35)
        mae = f": {s['mean_abs_error']:.3f}" if s["n"] else ""
        ax.plot(mean[k], pred[k], st["marker"], color=st["color"], mfc="none", ms=3.5, mew=0.9,
                label=f"{fam} ({s['n']}){mae}")
        report[fam] = s
    total = stats(err)
    report["all"] = total
    title = "(a) calibration over all measured grids"
    if total["n"]:                                   # the statistics head the plot
        title = (f"(a) {total['n']} points: mean |error| {total['mean_abs_error']:.3f}\n"
                 f"median {total['median_abs_error']:.3f}, max {total['max_abs_error']:.3f}, "
                 f"{100 * total['within_0.1']:.0f}% within 0.1"
                 + (f"\n(theory failed on {total['theory_failed']})" if total["theory_failed"] else ""))
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect="equal",
           xlabel="simulated accuracy (mean over seeds; bars: min-max)",
           ylabel="predicted accuracy (theory)", title=title)
    ax.legend(loc="upper left", fontsize=6.5, title="model (points): mean |error|",
              title_fontsize=6.5)
    corners = measure_corners(quick)
    draw_corners(axs[0, 1], corners)
    report["corners"] = [{**cfg, "label": lab, "simulated_mean": s, "simulated_se": e,
                          "predicted_before": b, "predicted_after": a}
                         for lab, cfg, s, e, b, a in corners]
    report["points"] = [{**c, "simulated": a.tolist(), "predicted": p, "regime": r}
                        for c, a, p, r in zip(cfgs, sim, pred.tolist(), regimes)]
    outdir = style.OUT if outdir is None else outdir
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "calibration.json"), "w") as f:
        json.dump(report, f, indent=1, allow_nan=True)
    return style.save(fig, NAME, outdir)
