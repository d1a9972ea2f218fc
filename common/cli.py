"""Command-line plumbing shared by every command line of the project.

Bad input never produces a traceback: argparse errors and ValueErrors become one line on
stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2, and whose help
    shows every option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def finite_float(text: str) -> float:
    """argparse type: a finite float (rejects nan, inf and unparseable text)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def integer(text: str) -> int:
    """argparse type: an integer literal (range checks happen in the API)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def add_config(p: argparse.ArgumentParser) -> None:
    """The model-configuration options both command lines share."""
    p.add_argument("--V", type=integer, required=True, help="vocabulary size (>= 2)")
    p.add_argument("--N", type=integer, required=True, help="training samples (>= 1)")
    p.add_argument("--d", type=integer, required=True, help="embedding dimension (>= 1)")
    p.add_argument("--L", type=integer, required=True, help="sequence length (>= 1)")
    p.add_argument("--m", type=integer, default=None, help="MLP width (attention-MLP model)")
    p.add_argument("--embeddings", default="gaussian", help="gaussian or orthogonal")
    p.add_argument("--activation", default="relu", help="relu or he2 (MLP model)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(main, argv=None) -> int:
    """Call ``main(argv)``; a ValueError or TypeError (bad input) or NotImplementedError (a
    configuration the theory does not cover) becomes one stderr line and exit status 2;
    Ctrl-C becomes one line and exit status 130."""
    try:
        return main(argv) or 0
    except (ValueError, TypeError, NotImplementedError) as exc:
        sys.stderr.write(f"error: {str(exc).splitlines()[0] if str(exc) else 'invalid input'}\n")
        return 2
    except KeyboardInterrupt:              # pools stop their own workers (common.interrupt)
        sys.stderr.write("interrupted\n")
        return 130


def json_value(v):
    """One output value as JSON: an infinite float is the string ``"inf"`` (``"-inf"``), the
    token the text output prints too (``float("inf")`` parses it); NaN, "no value", is null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def emit(result: dict, as_json: bool) -> None:
    """Print ``result`` as one JSON object (see :func:`json_value`) or as aligned
    ``key: value`` lines."""
    if as_json:
        clean = {k: json_value(v) for k, v in result.items()}
        print(json.dumps(clean, sort_keys=True))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
