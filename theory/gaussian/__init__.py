"""Attention-only model with gaussian embeddings: read-out terms (T1, T3), localization after
step 2 (T2), the combined prediction and the explicit capacity laws (T4); docs/theory.md and
docs/localization.md."""
