"""Benchmarks of the simulation, run by ``make bench`` (``python -m bench``).

Each benchmark lives in its own module with a ``run() -> list[str]`` returning printable
lines; every figure is a ratio or peak measured within one run, printed beside its target.
Nothing is asserted: the numbers are for the README, with the machine they came from.

* :mod:`bench.limit_speed`: early-phase limit time over dataset-sampling time, and the peak
  memory of that run (in a subprocess);
* :mod:`bench.exact_speed`: the exact finite-step three steps against the naive per-sample
  einsum reference of :mod:`bench.naive`;
* :mod:`bench.finite_memory`: peak memory of a finite-step three_step at N = 200000;
* :mod:`bench.large_v`: limit time at V = 32768 over V = 4096 and the peak memory at
  V = 32768 (d = 256, L = 8, N = 4e6).
"""
