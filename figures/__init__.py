"""Figures of SPEC section 7, each regenerated from cached sweeps plus theory."""
