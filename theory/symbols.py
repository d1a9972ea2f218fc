"""The sympy symbols every formula is written in (all positive)."""
import sympy as sp

V, N, d, L, m = sp.symbols("V N d L m", positive=True)
tau = sp.Symbol("tau", positive=True)          # target accuracy
