"""``python -m bench [NAME ...]``: run the benchmarks (all by default) and print their figures."""
from __future__ import annotations

import importlib
import platform
import sys

import numpy as np

BENCHMARKS = ("limit_speed", "exact_speed", "finite_memory", "large_v")


def main(argv=None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    print(f"# {platform.machine()} {platform.processor() or ''} python {platform.python_version()} "
          f"numpy {np.__version__}")
    for name in names:
        for line in importlib.import_module(f"bench.{name}").run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
