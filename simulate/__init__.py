"""Hand-written NumPy simulation of the one-layer recall transformer (docs/model.md, sections 1-5)."""
from .data import Dataset, probe, sample
from .early_phase import Params, three_step
from .evaluate import evaluate
from .gd import gradient_descent
from .model import loss_and_grads
from .task import Task

__all__ = ["Task", "Dataset", "sample", "probe", "loss_and_grads", "three_step", "Params",
           "gradient_descent", "evaluate"]
