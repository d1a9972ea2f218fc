"""Figures of docs/model.md, section 7, each regenerated from cached sweeps plus theory."""
