"""Attention-MLP model (T5): Hermite coefficients of the activation, the random-feature
kernel, localization through the MLP, the prediction and the (N, m d) phase diagram;
docs/mlp.md."""
