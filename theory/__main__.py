"""``python -m theory``: closed-form early-phase predictions from the command line.

Subcommands: ``predict`` (accuracy, localization, recall, one-step accuracy, regime and the
margin terms), ``critical-n`` (smallest N reaching a target accuracy) and ``capacity``
(largest V).  Bad input prints one line on stderr and exits with status 2.
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from common.checks import check_config, check_fraction
from common.cli import Parser, add_config, emit, finite_float, integer, run


def _parser() -> Parser:
    p = Parser(prog="python -m theory", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    pr = sub.add_parser("predict", help="predicted accuracy, localization, recall, regime")
    add_config(pr)
    for name, need in (("critical-n", ("V", "d", "L")), ("max-v", ("N", "d", "L"))):
        q = sub.add_parser(name, help=("smallest N" if name == "critical-n" else "largest V")
                           + " whose full prediction reaches the target (bisection)")
        for k in need:
            q.add_argument(f"--{k}", type=integer, required=True)
        q.add_argument("--m", type=integer, default=None, help="MLP width")
        q.add_argument("--embeddings", default="gaussian", help="gaussian or orthogonal")
        q.add_argument("--activation", default="relu", help="relu or he2 (MLP model)")
        q.add_argument("--target", type=finite_float, default=0.9, help="target accuracy")
        q.add_argument("--json", action="store_true", help="print one JSON object")
    cl = sub.add_parser("capacity", help="the explicit capacity law N*(V, d, L): every "
                        "regime's bound, the dominating regime; with --N the inverse questions")
    for k in ("V", "d", "L"):
        cl.add_argument(f"--{k}", type=integer, required=True)
    cl.add_argument("--N", type=integer, default=None,
                    help="training samples: also answer the largest L, smallest d, largest V")
    cl.add_argument("--target", type=finite_float, default=0.9, help="target accuracy")
    cl.add_argument("--json", action="store_true", help="print one JSON object")
    fo = sub.add_parser("formulas", help="list the formula registry, or print one formula")
    fo.add_argument("eq", nargs="?", help="an equation number (e.g. 3.15) or a formula name")
    fo.add_argument("--json", action="store_true", help="print JSON")
    return p


_DOCS = Path(__file__).resolve().parents[1] / "docs"


def doc_section(eq: str) -> str:
    """``docs/<file>.md §<heading>`` of the first display that carries ``(eq)``."""
    pattern = re.compile(r"\(" + re.escape(eq) + r"\)|\\tag\{" + re.escape(eq) + r"\}")
    for path in sorted(_DOCS.glob("*.md")):
        heading = ""
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
            elif pattern.search(line):
                return f"docs/{path.name} § {heading}" if heading else f"docs/{path.name}"
    return "(not in docs/)"


def _formulas(args) -> int:
    from .formula import all_formulas
    table = all_formulas()
    if args.eq is not None:
        hits = [f for f in table if args.eq in (f.eq, f.name)]
        if not hits:
            raise ValueError(f"no formula with equation number or name {args.eq!r} "
                             "(list them with: python -m theory formulas)")
        f = hits[0]
        out = {"eq": f.eq, "name": f.name, "latex": f.latex, "doc": f.doc,
               "source": f.source, "docs": doc_section(f.eq),
               "arguments": [s.name for s in f.args]}
        if args.json:
            print(json.dumps(out))
        else:
            print(f"({f.eq}) {f.name}\n  {f.latex}\n  {f.doc}\n  source: {f.source}\n"
                  f"  docs:   {out['docs']}")
        return 0
    rows = [{"eq": f.eq, "name": f.name, "docs": doc_section(f.eq)} for f in table]
    if args.json:
        print(json.dumps(rows))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"({r['eq']})".ljust(9) + r["name"].ljust(width + 2) + r["docs"])
    return 0


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


def _laws(args) -> dict:
    from .gaussian.explicit_law import capacity_laws
    out = {"V": args.V, "d": args.d, "L": args.L, "target": args.target}
    if args.N is not None:
        out["N"] = args.N
    res = capacity_laws(args.V, args.d, args.L, target=args.target, N=args.N)
    for k, v in res.items():                 # counts and lengths print as integers
        out[k] = int(v) if k in ("L_max", "d_min", "V_star") and math.isfinite(v) else v
    return out


def _search(args) -> dict:
    from .capacity import capacity, critical_N
    target = check_fraction("target", args.target)
    if args.command == "critical-n":
        cfg = check_config(args.V, args.d, args.L, args.m, args.embeddings, args.activation)
        val = critical_N(cfg["V"], cfg["d"], cfg["L"], target=target, m=cfg["m"],
                         embeddings=cfg["embeddings"], activation=cfg["activation"])
        key, out = "critical_N", {k: cfg[k] for k in ("V", "d", "L")}
    else:
        cfg = check_config(2, args.d, args.L, args.m, args.embeddings, args.activation,
                           N=args.N)
        val = capacity(cfg["N"], cfg["d"], cfg["L"], target=target, m=cfg["m"],
                       embeddings=cfg["embeddings"], activation=cfg["activation"])
        key, out = "capacity", {k: cfg[k] for k in ("N", "d", "L")}
    out["target"] = target
    out[key] = float(val) if math.isinf(val) else int(val)
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "formulas":
        return _formulas(args)
    try:
        out = {"predict": _predict, "capacity": _laws}.get(args.command, _search)(args)
    except NotImplementedError as exc:
        sys.stderr.write(f"error: {str(exc).splitlines()[0]}\n")
        return 2
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
