r"""Sweeps on a dask cluster: a ``concurrent.futures`` executor from a scheduler address.

:func:`simulate.sweep.run_sweep` takes any ``concurrent.futures.Executor``; this module
turns an address into one, through dask's ``distributed`` (an optional extra:
``pip install '.[distributed]'``)::

    with executor("tcp://10.0.0.5:8786") as ex:     # or "local", "local:2"
        res = run_sweep(measure_point, configs, seeds=16, executor=ex)

Workers only compute and return results; the caller writes the cache, so workers need
no shared disk, but they need the same ``simulate`` sources (checked per point, see
:func:`simulate.sweep.run_sweep`).  A point's seed depends on nothing but its
configuration and seed index, so results are bit-identical to a local run.  A point
whose worker dies is rerun elsewhere (dask's ``allowed-failures``, 3 by default).
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
import os
import signal
import socket
import threading

#: Environment variable read when no ``--scheduler`` is given.
ENV = "RECALL_SCHEDULER"
#: Seconds to wait for a scheduler before giving up (dask's own default is 30 s).
CONNECT_TIMEOUT = 5


def address_from(arg=None):
    """The scheduler address to use: ``arg``, else ``$RECALL_SCHEDULER``, else None."""
    return arg or os.environ.get(ENV) or None


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ValueError("a dask scheduler needs the 'distributed' package: "
                         "pip install '.[distributed]'") from None
    return distributed


def _local_workers(address):
    """Worker count of ``local`` (one per core) or ``local:N``; None for other addresses."""
    if address != "local" and not address.startswith("local:"):
        return None
    n = address.partition(":")[2] or str(os.cpu_count() or 1)
    if not n.isdigit() or int(n) < 1:
        raise ValueError(f"bad scheduler {address!r}: use local or local:N with N >= 1")
    return int(n)


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Start worker processes with SIGINT ignored (they inherit it across exec).

    A terminal's Ctrl-C reaches the whole process group; this process stops the sweep and
    closes the cluster, so the workers need not print tracebacks of their own.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def scheduler(address):
    """Yield a scheduler address: ``address`` itself, or that of a LocalCluster started
    for ``local`` / ``local:N`` (N worker processes of one thread, closed on exit).

    Raises ValueError on a malformed ``local:N`` or when ``distributed`` is missing.
    """
    n = _local_workers(address)
    if n is None:
        yield address
        return
    with _workers_ignore_sigint():
        cluster = _distributed().LocalCluster(n_workers=n, threads_per_worker=1,
                                              processes=True, dashboard_address=None,
                                              silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@contextlib.contextmanager
def executor(address, timeout=CONNECT_TIMEOUT):
    """Yield an executor running on the scheduler at ``address`` (see :func:`scheduler`),
    or None when ``address`` is None (:func:`run_sweep` then uses local processes).

    Raises
    ------
    ValueError
        ``distributed`` is missing, or the address is malformed.
    ConnectionError
        No scheduler answered at ``address`` within ``timeout`` seconds.
    """
    if address is None:
        yield None
        return
    dist = _distributed()
    with scheduler(address) as addr:
        _probe(addr, timeout)
        client = dist.Client(addr, timeout=timeout, set_as_default=False)
        try:
            # pure=False: every submission is a task of its own (no key sharing)
            yield client.get_executor(pure=False)
        finally:
            client.close()


def _probe(address, timeout):
    """Open and close one connection to ``address``, or raise ConnectionError.

    A Client that fails to connect blocks again for seconds when it is garbage-collected,
    so reachability is checked first with a bare comm, on a loop of its own (in a thread,
    so that a caller's running event loop is no obstacle).
    """
    from distributed.comm import connect
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme == "tcp":               # dask retries a refused connection until the timeout;
        try:                          # nothing listening is worth saying at once
            socket.create_connection(parse_host_port(location), timeout=timeout).close()
        except ConnectionRefusedError:
            raise ConnectionError(f"no dask scheduler at {address}: connection refused") from None
        except OSError:
            pass                      # unresolvable or slow: dask's own attempt decides

    async def once():
        comm = await connect(address, timeout=timeout)
        await comm.close()

    with cf.ThreadPoolExecutor(1) as pool:
        try:
            # the timeout of connect() does not cover the handshake: bound the whole probe
            pool.submit(asyncio.run, asyncio.wait_for(once(), timeout)).result()
        except OSError as err:                             # unreachable, timed out
            raise ConnectionError(f"no dask scheduler at {address} "
                                  f"(waited {timeout} s): {_line(err)}") from None
        except Exception as err:                           # noqa: BLE001 (another server's
            raise ConnectionError(f"no dask scheduler at {address}: "       # bytes, say)
                                  f"{type(err).__name__}: {_line(err)}") from None


def _line(err):
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
