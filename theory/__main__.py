"""``python -m theory``: closed-form early-phase predictions from the command line.

Subcommands: ``predict`` (accuracy, localization, recall, one-step accuracy, regime and the
margin terms), ``critical-n`` (smallest N reaching a target accuracy) and ``capacity``
(largest V).  Bad input prints one line on stderr and exits with status 2.
"""
from __future__ import annotations

import math
import sys

from common.checks import check_config, check_fraction
from common.cli import Parser, add_config, emit, finite_float, integer, run


def _parser() -> Parser:
    p = Parser(prog="python -m theory", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    pr = sub.add_parser("predict", help="predicted accuracy, localization, recall, regime")
    add_config(pr)
    for name, need in (("critical-n", ("V", "d", "L")), ("capacity", ("N", "d", "L"))):
        q = sub.add_parser(name, help=("smallest N" if name == "critical-n" else "largest V")
                           + " with predicted accuracy >= target")
        for k in need:
            q.add_argument(f"--{k}", type=integer, required=True)
        q.add_argument("--m", type=integer, default=None, help="MLP width")
        q.add_argument("--embeddings", default="gaussian", help="gaussian or orthogonal")
        q.add_argument("--activation", default="relu", help="relu or he2 (MLP model)")
        q.add_argument("--target", type=finite_float, default=0.9, help="target accuracy")
        q.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _predict(args) -> dict:
    from .prediction import predict
    cfg = check_config(args.V, args.d, args.L, args.m, args.embeddings, args.activation, args.N)
    res = predict(**cfg)
    out = {k: cfg[k] for k in ("V", "N", "d", "L", "m", "embeddings")}
    # the MLP theory has no one-step model: report what the model's theory provides
    out.update({k: res[k] for k in ("accuracy", "localization", "recall",
                                    "one_step_accuracy", "regime") if k in res})
    out.update({f"term_{k}": float(v) for k, v in res["terms"].items()})
    return out


def _search(args) -> dict:
    from .capacity import capacity, critical_N
    target = check_fraction("target", args.target)
    if args.command == "critical-n":
        cfg = check_config(args.V, args.d, args.L, args.m, args.embeddings, args.activation)
        val = critical_N(cfg["V"], cfg["d"], cfg["L"], target, cfg["m"], cfg["embeddings"],
                         cfg["activation"])
        key, out = "critical_N", {k: cfg[k] for k in ("V", "d", "L")}
    else:
        cfg = check_config(2, args.d, args.L, args.m, args.embeddings, args.activation,
                           N=args.N)
        val = capacity(cfg["N"], cfg["d"], cfg["L"], target, cfg["m"], cfg["embeddings"],
                       cfg["activation"])
        key, out = "capacity", {k: cfg[k] for k in ("N", "d", "L")}
    out["target"] = target
    out[key] = float(val) if math.isinf(val) else int(val)
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = _predict(args) if args.command == "predict" else _search(args)
    except NotImplementedError as exc:
        sys.stderr.write(f"error: {str(exc).splitlines()[0]}\n")
        return 2
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
