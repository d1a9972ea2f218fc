"""Orthonormal embeddings (T6): integer-count read-out, step-2 count algebra, localization
and recall by count, the one-step model and the d-free critical N; docs/orthogonal.md."""
