"""``python -m simulate run``: measured accuracy, localization and recall over seeds.

Prints the mean and standard deviation over seeds of each measured quantity, beside the
theory's prediction where the theory covers the configuration.
"""
from __future__ import annotations

import numpy as np

from common.checks import check_config, check_int, check_positive
from common.cli import Parser, add_config, emit, finite_float, integer, run

from .sweep import measure_point

METRICS = ("accuracy", "localization", "recall", "attention_weight")


def _parser() -> Parser:
    p = Parser(prog="python -m simulate", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    r = sub.add_parser("run", help="simulate the three-step algorithm and evaluate it")
    add_config(r)
    r.add_argument("--seeds", type=integer, default=5, help="independent tasks and datasets")
    r.add_argument("--seed", type=integer, default=0, help="base seed")
    r.add_argument("--reps", type=integer, default=1, help="test sequences per token")
    r.add_argument("--limit", action="store_true", help="early-phase limit (default)")
    r.add_argument("--eta", type=finite_float, help="step-1 size (finite steps)")
    r.add_argument("--gamma", type=finite_float, help="step-2 size (finite steps)")
    r.add_argument("--gamma-v", type=finite_float, dest="gamma_v", help="step-3 size")
    return p


def _config(args) -> dict:
    cfg = check_config(args.V, args.d, args.L, args.m, args.embeddings, args.activation, args.N)
    finite = args.eta is not None or args.gamma is not None or args.gamma_v is not None
    if finite and args.limit:
        raise ValueError("--limit takes no step sizes (--eta, --gamma, --gamma-v)")
    if finite:
        if args.eta is None or args.gamma is None:
            raise ValueError("finite steps need both --eta and --gamma")
        cfg.update(eta=check_positive("eta", args.eta), gamma=check_positive("gamma", args.gamma))
        if args.gamma_v is not None:
            cfg["gamma_v"] = check_positive("gamma_v", args.gamma_v)
    cfg["reps"] = check_int("reps", args.reps, 1)
    return cfg


def _predicted(cfg) -> dict:
    try:
        from theory import predict
        p = predict(V=cfg["V"], N=cfg["N"], d=cfg["d"], L=cfg["L"], m=cfg["m"],
                    embeddings=cfg["embeddings"], activation=cfg["activation"])
    except (ImportError, NotImplementedError):
        return {}
    return {f"predicted_{k}": float(p[k]) for k in ("accuracy", "localization", "recall")}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    cfg = _config(args)
    seeds = check_int("seeds", args.seeds, 1)
    root = np.random.SeedSequence(check_int("seed", args.seed, 0))
    rows = [measure_point(cfg, child) for child in root.spawn(seeds)]
    out = {k: cfg[k] for k in ("V", "N", "d", "L", "m", "embeddings")}
    out.update(mode="finite" if "eta" in cfg else "limit", seeds=seeds)
    for k in METRICS:
        vals = np.array([r[k] for r in rows], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[k] = float(vals.mean()) if vals.size else float("nan")
        out[k + "_sd"] = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    if "eta" not in cfg:
        out.update(_predicted(cfg))
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
