"""F5: attention-MLP phase diagram over (N, m d): simulated accuracy, theory boundaries.

Colour is the simulated accuracy of the attention-MLP model on a grid of MLP widths m at
fixed d (y = m d); the contours are the predicted accuracy at the same (V, N, d, L, m).
The thin lines are the boundaries of ``theory.mlp.mlp_phase_boundaries`` between the
dominant terms (MLP noise against mean bias, sample count and interference, and the
vertical mean-bias/interference line); the thick one is the m d the explicit criterion
requires for accuracy tau.  Equation numbers come from the theory's formula registry.
"""
import numpy as np

from . import style
from .grids import TAU, logrange
from .plotting import HALO, accuracy_heatmap, heatmap_legend
from .theory_eval import eq, theory_rows

NAME = "fig5_mlp_phase_diagram"
#: Boundary -> (label, registered formula, colour, line style); the colours avoid the
#: contours' orange hues.
BOUNDARIES = {
    "mlp_noise|mean_bias": ("MLP noise = mean bias", "mlp.boundary.mlp_vs_mean_bias",
                            "#0072B2", "-."),
    "mlp_noise|sample_count": ("MLP noise = sample count", "mlp.boundary.mlp_vs_sample_count",
                               "#CC79A7", (0, (3, 1, 1, 1, 1, 1))),
    "mlp_noise|interference": ("MLP noise = interference", "mlp.boundary.mlp_vs_interference",
                               "#009E73", "--")}


def spec(quick):
    """The measured grid ``(base, axes)``."""
    if quick:
        return {"V": 16, "d": 32, "L": 4}, {"m": [16, 64], "N": [100, 1000]}
    return {"V": 32, "d": 128, "L": 4}, {"m": logrange(2, 10, 1, base=2),
                                         "N": logrange(2, 4.5, 0.5)}


def main(quick=False, outdir=None):
    """Draw F5 into ``outdir`` (default figures/out); return the written paths."""
    base, axes = spec(quick)
    fig, ax = accuracy_heatmap(base, axes["N"], "m", r"MLP size $m\,d$", axes["m"], quick,
                               yfactor=base["d"])
    Ns = np.geomspace(axes["N"][0] / 1.5, axes["N"][-1] * 1.5, 4 if quick else 24)
    rows = theory_rows("mlp.phase.mlp_phase_boundaries", [
        {**base, "N": [float(n) for n in Ns], "tau": TAU}])
    ph = rows[0]
    for key, (label, formula, color, ls) in BOUNDARIES.items():
        ax.plot(ph["N"], ph["md"][key], color=color, ls=ls, lw=1.4, path_effects=HALO,
                label=f"{label} ({eq(formula, 'mlp.phase')})")
    cross = eq("mlp.boundary.mean_bias_vs_interference", "mlp.phase")
    ax.axvline(ph["N_cross"], color="0.1", ls=(0, (1, 1)), lw=1.4, path_effects=HALO,
               label=f"mean bias = interference ({cross})")
    need = eq("mlp.required_md", "mlp.phase")
    ax.plot(ph["N"], ph["required_md"], color="black", lw=2.2, path_effects=HALO,
            label=rf"required $m\,d$ for accuracy {TAU} ({need})")
    y = np.asarray(axes["m"]) * base["d"]
    ax.set(xlim=(axes["N"][0] / 1.8, axes["N"][-1] * 1.8), ylim=(y[0] / 1.5, y[-1] * 1.5))
    heatmap_legend(fig, ax)
    return style.save(fig, NAME, outdir)
