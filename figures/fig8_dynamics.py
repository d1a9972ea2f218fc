"""F8: dynamics of the early phase and beyond.

(a) After each of the three limit steps, against N: accuracy of the step-1 read-out under
uniform attention, localization after step 2, accuracy after step 2 and step 3; theory
lines from ``theory.predict`` (one-step accuracy, localization, final accuracy).
(b, c) Finite step sizes converge to the limit as gamma*eta grows, for two eta: accuracy
and attention weight on the informative position ell (b), and 1 - cosine of W_V and W_KQ
to the limit weights (c), on the same task and samples.  (d) T steps of full-batch GD from
zero, past the early phase, against the three-step limit on the same task and samples.
"""
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style
from .grids import logrange, spread, sweep
from .measures import checkpoints, measure_finite, measure_gd, measure_steps
from .plotting import legend_pairs, series
from .theory_eval import predict_grid

NAME = "fig8_dynamics"
C_ACC, C_ATT = style.COLORS[:2]          # colour = quantity (accuracy / attention, W_V / W_KQ)


def spec(quick):
    """Bases and axes of the three sweeps: per-step, finite step sizes, GD."""
    if quick:
        return ({"V": 16, "d": 32, "L": 16}, {"N": logrange(2, 3, 1)},
                {"V": 16, "d": 32, "L": 4, "N": 300}, {"eta": [0.1], "gamma_eta": [10.0, 1e5]},
                {"V": 16, "d": 16, "L": 4, "N": 100, "T": 10, "lr": 10.0, "reps": 2})
    return ({"V": 64, "d": 128, "L": 64}, {"N": logrange(2, 4.5, 0.25)},
            {"V": 64, "d": 128, "L": 8, "N": 3000},
            {"eta": [0.1, 0.001], "gamma_eta": [float(x) for x in np.logspace(1, 6, 11)]},
            {"V": 32, "d": 32, "L": 8, "N": 500, "T": 100, "lr": 10.0, "reps": 4})


def _model(cfg):
    """The (V, N, d, L) part of a configuration: what theory and the limit see."""
    return {k: cfg[k] for k in ("V", "d", "L", "N") if k in cfg}


def _title(panel, text, cfg):
    return f"({panel}) {text}, " + ", ".join(f"{k}={v}" for k, v in _model(cfg).items())


def _eta_style(i):
    """Line style, marker and size of the i-th eta (larger markers first: they coincide)."""
    return {"ls": style.LINESTYLES[i], "marker": style.MARKERS[i], "ms": 6.5 - 2.5 * i}


def _band(ax, x, Y, color, label=None, ls="-", marker="o", ms=3.5):
    """Median line with a min-max band over seeds (Y: (len(x), seeds))."""
    med, lo, hi = spread(Y)
    ax.fill_between(x, lo, hi, color=color, alpha=0.22, lw=0)
    (h,) = ax.plot(x, med, color=color, ls=ls, marker=marker, ms=ms, mfc="white", label=label)
    return h


def _limit(ax, sim, cfg, what):
    """The three-step limit's accuracy: simulated seed range (band) and theory (line).

    Returns the legend handles.
    """
    ax.axhspan(sim.min(), sim.max(), color="0.6", alpha=0.3, lw=0)
    handles = [Patch(color="0.6", alpha=0.5, label=f"{what}: simulated (seeds)")]
    th = predict_grid(["accuracy"], _model(cfg), {})
    handles.append(ax.axhline(float(th["accuracy"]), color="black", lw=1.2,
                              label=f"{what}: theory"))
    return handles


def _room_for_legend(ax):
    """Accuracy axes from 0 to 1 with head room above for the legend."""
    ax.set_ylim(-0.02, 1.42)
    ax.set_yticks(np.linspace(0, 1, 6))


def _steps(ax, base, axes, quick):
    g = sweep(base, axes, quick, fn=measure_steps)
    acc, loc = g["accuracy"], g["localization"]                  # (nN, seeds, 3)
    Ns = axes["N"]
    th = predict_grid(["one_step_accuracy", "localization", "accuracy"], base, {"N": Ns})
    rows = [(acc[..., 0], "one_step_accuracy", "step 1: accuracy (uniform attention)"),
            (loc[..., 1], "localization", "step 2: localization"),
            (acc[..., 1], None, "step 2: accuracy (no theory)"),
            (acc[..., 2], "accuracy", "step 3: accuracy")]
    pairs = [series(ax, Ns, Y, st, label, Ns, None if th is None or k is None else th[k])
             for (Y, k, label), st in zip(rows, style.series_styles())]
    ax.set(xscale="log", xlabel="training samples $N$", ylabel="accuracy / localization",
           title=_title("a", "after each step", base))
    _room_for_legend(ax)
    legend_pairs(ax, pairs, loc="upper left", fontsize=6.5, ncol=2)


def _finite(ax_b, ax_c, base, axes, quick):
    """Colour: the quantity; line style and marker: eta (the curves of both eta coincide)."""
    g = sweep(base, axes, quick, fn=measure_finite)
    ge = np.asarray(axes["gamma_eta"])
    for i in range(len(axes["eta"])):
        _band(ax_b, ge, g["accuracy"][i], C_ACC, **_eta_style(i))
        _band(ax_b, ge, g["attention_weight"][i], C_ATT, **_eta_style(i))
        _band(ax_c, ge, np.maximum(1 - g["cos_v"][i], 1e-16), C_ACC, **_eta_style(i))
        _band(ax_c, ge, np.maximum(1 - g["cos_kq"][i], 1e-16), C_ATT, **_eta_style(i))
    etas = [Line2D([], [], color="0.3", mfc="white", label=rf"$\eta$ = {eta:g}", **_eta_style(i))
            for i, eta in enumerate(axes["eta"])]
    limit = _limit(ax_b, g["accuracy_limit"][0, 0], base, "limit")   # one task for all steps
    ax_b.legend(handles=[Patch(color=C_ACC, label="accuracy"),
                         Patch(color=C_ATT, label=r"attention weight on $\ell$"), *etas, *limit],
                loc="upper left", fontsize=6.5, ncol=2)
    ax_b.set(xscale="log", xlabel=r"$\gamma\eta$", ylabel="accuracy / attention weight",
             title=_title("b", "finite steps vs limit", base))
    _room_for_legend(ax_b)
    ax_c.legend(handles=[Patch(color=C_ACC, label=r"$W_V$"), Patch(color=C_ATT, label=r"$W_{KQ}$"),
                         *etas], loc="lower left", bbox_to_anchor=(0, 0.3), ncol=2, fontsize=6.5)
    ax_c.set(xscale="log", yscale="log", xlabel=r"$\gamma\eta$",
             ylabel=r"$1-\cos(W, W^{\lim})$ (floored at $10^{-16}$)",
             title="(c) weights converge to the limit direction")


def _gd(ax, base, quick):
    g = sweep(base, {}, quick, fn=measure_gd)
    t = checkpoints(base["T"])
    h = [_band(ax, t, g["accuracy"].T, C_ACC, "GD: accuracy"),
         _band(ax, t, g["attention_weight"].T, C_ATT, r"GD: attention weight on $\ell$", "--", "s")]
    # the limit on the same task and samples (seeds depend on V, d, L only) and test reps
    sim = sweep({**_model(base), "reps": base["reps"]}, {}, quick)["accuracy"]
    h += _limit(ax, sim, base, "three-step limit")
    ax.set(xscale="log", xlabel="GD step $t$", ylabel="accuracy / attention weight",
           title=_title("d", f"full GD, lr={base['lr']:g}", base))
    _room_for_legend(ax)
    ax.legend(handles=h, loc="upper left", fontsize=6.5)


def main(quick=False, outdir=None):
    """Draw F8 into ``outdir`` (default figures/out); return the written paths."""
    steps_base, steps_axes, fin_base, fin_axes, gd_base = spec(quick)
    fig, axs = style.figure(ncols=2, nrows=2, width=4.4, height=3.1)
    _steps(axs[0, 0], steps_base, steps_axes, quick)
    _finite(axs[0, 1], axs[1, 0], fin_base, fin_axes, quick)
    _gd(axs[1, 1], gd_base, quick)
    return style.save(fig, NAME, outdir)
