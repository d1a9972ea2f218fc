"""``python -m figures [--quick] [--only NAME ...]``: build the figures of docs/model.md, section 7.

Each figure loads its simulation points through the cached sweep runner (computing only
what is missing) and evaluates the theory at the same configurations.  Output:
figures/out/NAME.png and NAME.pdf (and calibration.json from F9); with ``--quick``,
figures/out/quick/ (git-ignored), so tiny grids never overwrite the committed figures.
``--scheduler ADDRESS`` (or ``$RECALL_SCHEDULER``) runs the sweep points on a dask
cluster (``local`` / ``local:N``: a LocalCluster started here; see simulate/cluster.py).
Bad command-line input (an unreachable scheduler included) is one line on stderr and exit
status 2.
"""
import concurrent.futures as cf
import contextlib
import importlib
import multiprocessing
import os
import sys
import time
import traceback

from common.cli import Parser
from common.interrupt import ignore_sigint, stop_descendants
from simulate import cluster

from . import style
from .grids import CACHE_ENV, cache_dir, writable_dir

FIGURES = ("fig1_accuracy_N_d", "fig2_accuracy_N_L", "fig3_critical_N_vs_d",
           "fig4_capacity_vs_d", "fig5_mlp_phase_diagram", "fig6_orthogonal_vs_random",
           "fig7_lower_bound", "fig8_dynamics", "fig9_calibration", "fig10_multiplicative_law",
           "fig11_large_vocabulary")
#: Default output directory of ``--quick`` (git-ignored).
QUICK_OUT = os.path.join(style.OUT, "quick")


#: Start order of a parallel build: F1 before F3 and F7 (they read its points), the
#: sources of F9 (F1, F2, F4, F5, F6) early and F9 last, when they are (nearly) cached.
RUN_ORDER = ("fig1_accuracy_N_d", "fig4_capacity_vs_d", "fig6_orthogonal_vs_random",
             "fig5_mlp_phase_diagram", "fig2_accuracy_N_L", "fig3_critical_N_vs_d",
             "fig10_multiplicative_law", "fig11_large_vocabulary", "fig8_dynamics",
             "fig7_lower_bound", "fig9_calibration")


def _select(only):
    """Figure names matching ``only`` (full names or prefixes such as ``fig3``).

    Raises ValueError on a name that matches no figure.
    """
    if not only:
        return list(FIGURES)
    out = []
    for name in only:
        hits = [f for f in FIGURES if f == name or f.startswith(name + "_")]
        if not hits:
            raise ValueError(f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
        out += [h for h in hits if h not in out]
    return out


def output_dir(quick, outdir=None):
    """Where a build writes: ``outdir`` when given, else :data:`QUICK_OUT` in quick mode
    and figures/out otherwise (the committed figures)."""
    if outdir is not None:
        return outdir
    return QUICK_OUT if quick else style.OUT


def build(name, quick, outdir):
    """Build one figure; return (name, paths, seconds)."""
    t0 = time.perf_counter()
    paths = importlib.import_module(f"figures.{name}").main(quick=quick, outdir=outdir)
    return name, paths, time.perf_counter() - t0


def main(argv=None):
    ap = Parser(prog="python -m figures", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny grids (seconds; what the tests run)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="build only these (e.g. fig3)")
    ap.add_argument("--outdir", help="output directory (default figures/out, "
                    "figures/out/quick with --quick)")
    ap.add_argument("--scheduler", metavar="ADDRESS", default=cluster.address_from(),
                    help=f"dask scheduler for the sweeps (tcp://host:8786, local or local:N); "
                    f"default ${cluster.ENV}, else local processes")
    args = ap.parse_args(argv)
    outdir = output_dir(args.quick, args.outdir)
    try:
        names = _select(args.only)
        writable_dir(outdir, "output directory")
        writable_dir(cache_dir(), f"sweep cache (${CACHE_ENV})")
    except ValueError as err:
        ap.error(str(err))
    with contextlib.ExitStack() as stack:
        if args.scheduler:
            try:                                   # connect once here: fail before building
                address = stack.enter_context(cluster.scheduler(args.scheduler))
                with cluster.executor(address):
                    pass
            except (ValueError, ConnectionError) as err:
                ap.error(str(err))
            previous = os.environ.get(cluster.ENV)
            os.environ[cluster.ENV] = address      # what every figure's sweeps connect to
            stack.callback(_restore, cluster.ENV, previous)
        return _build_all(names, args.quick, outdir, spawn=bool(args.scheduler))


def _build_all(names, quick, outdir, spawn):
    """Build ``names`` in parallel; with a scheduler, workers are spawned (not forked from
    a process running dask's threads)."""
    t_all = time.perf_counter()
    # Figures run in parallel, one per core (drawing is CPU-bound; a figure's sweep points
    # and theory evaluations run in pools of their own), in RUN_ORDER: F9 re-reads the
    # points and predictions of F1, F2, F4, F5, F6 and starts when those have started.
    order = [n for n in RUN_ORDER if n in names]
    workers = min(len(order), os.cpu_count() or 1)
    failed = []
    ctx = multiprocessing.get_context("spawn") if spawn else None
    ex = (cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=ignore_sigint)
          if workers > 1 else _Inline())
    try:
        # build by its importable name: a spawned worker cannot find ``__main__.build``
        job = importlib.import_module("figures.__main__").build
        futures = {ex.submit(job, n, quick, outdir): n for n in order}
        for fut in cf.as_completed(futures):
            try:                                   # one failing figure must not hide the rest
                name, paths, sec = fut.result()
            except Exception:                      # noqa: BLE001
                failed.append(futures[fut])
                traceback.print_exc()
                continue
            print(f"{name}: {sec:6.1f} s  -> {paths[0]}", flush=True)
    except KeyboardInterrupt:
        # workers ignore SIGINT: stop them (and their sweep pools) here; every cached point
        # was written atomically, so a rerun resumes from what finished
        stop_descendants()
        ex.shutdown(wait=False, cancel_futures=True)
        sys.stderr.write("python -m figures: interrupted; finished points are cached\n")
        return 130
    ex.shutdown(wait=True)
    done = len(order) - len(failed)
    print(f"figures: {done} built in {time.perf_counter() - t_all:.1f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


def _restore(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class _Inline(cf.Executor):
    """Run submissions at once in this process (one figure, or one core)."""

    def __enter__(self):
        return self

    def submit(self, fn, *args):
        fut = cf.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as err:                   # noqa: BLE001 (re-raised by result())
            fut.set_exception(err)
        return fut


if __name__ == "__main__":
    sys.exit(main())
