"""Integer searches on a monotone predicate, shared by the capacity searches and the laws."""
from __future__ import annotations

import math


def largest_integer(ok, lo):
    """Largest integer v >= lo with ok(v), for ok true at lo and eventually false
    (doubling, then bisection); ``math.inf`` past 2**40."""
    hi = 2 * lo
    while ok(hi):
        lo, hi = hi, 2 * hi
        if hi > 2**40:
            return math.inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def geometric_bisect(ok, lo, hi):
    """Smallest n in (lo, hi] with ok(n), ok(hi) true; geometric bisection to 1%."""
    if ok(lo):
        return lo
    while hi - lo > max(1, lo // 100):
        mid = int(math.sqrt(lo * hi)) if lo > 0 else hi // 2
        mid = min(max(mid, lo + 1), hi - 1)
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
