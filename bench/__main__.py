"""``python -m bench [NAME ...]``: run the benchmarks (all by default) and print their figures."""
from __future__ import annotations

import importlib
import platform
import sys

import numpy as np

from common.cli import Parser

BENCHMARKS = ("limit_speed", "exact_speed", "finite_memory", "large_v")


def main(argv=None) -> int:
    ap = Parser(prog="python -m bench", description="Run the benchmarks and print their "
                "figures: ratios and peaks measured within one run.")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help=f"benchmarks to run (all by default): {', '.join(BENCHMARKS)}")
    names = ap.parse_args(argv).names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    print(f"# {platform.machine()} {platform.processor() or ''} python {platform.python_version()} "
          f"numpy {np.__version__}")
    for name in names:
        for line in importlib.import_module(f"bench.{name}").run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
