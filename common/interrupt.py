"""Ctrl-C for process trees: workers ignore SIGINT, the process that owns them stops them.

A terminal's Ctrl-C reaches every process of the foreground group.  Pool workers that
handled it themselves would each print a traceback and the pools would wait for them, so
every pool of the project starts its workers with :func:`ignore_sigint` (children inherit
the ignored disposition), and the process that catches ``KeyboardInterrupt`` ends its
workers with :func:`stop_processes` before it exits (status 130 at the command line).
"""
from __future__ import annotations

import os
import signal
import time


def ignore_sigint() -> None:
    """Pool initializer: this worker (and every process it starts) ignores SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def descendants(pid: int | None = None) -> list[int]:
    """Process ids below ``pid`` (default: this process), children before grandchildren.

    Reads ``/proc`` (Linux); elsewhere returns [] and callers fall back to what their
    pools know.
    """
    pid = os.getpid() if pid is None else pid
    parent = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:                                     # exited meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()         # after "pid (comm) "
        parent[int(entry)] = int(fields[1])
    out, frontier = [], [pid]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        out += frontier
    return out


def stop_processes(pids, grace: float = 2.0) -> None:
    """SIGTERM ``pids``, wait up to ``grace`` seconds, then SIGKILL the ones still alive."""
    pids = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            if not pids:
                return
            time.sleep(0.05)


def stop_descendants(grace: float = 2.0) -> None:
    """Stop every process below this one (workers and their own workers)."""
    stop_processes(descendants(), grace)


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)                          # reap our own children
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is gone
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return not os.path.isdir("/proc")
