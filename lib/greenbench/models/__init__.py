"""The model zoo (arXiv 2506.15199's eight model classes) and the registry for user models.

Operator models map ``f (batch, N+1)`` and the grid ``x (N+1,)`` to ``u (batch, N+1)``:
:class:`Linear`, :class:`DeepLinear`, :class:`MLP`, :class:`DeepONet`, :class:`FNO`,
:class:`PIDeepONet`, and any user ``torch.nn.Module`` named ``package.module:Class`` in the
config. Parameter learners (:class:`FD`, :class:`PINN`) learn the PDE's coefficient instead.
See docs/models.md.
"""

from greenbench.models.fno import FNO, SpectralConv1d
from greenbench.models.layers import ACTIVATIONS, SMOOTH_ACTIVATIONS, FeedForward
from greenbench.models.linear import DeepLinear, Linear
from greenbench.models.neural import MLP, DeepONet, PIDeepONet
from greenbench.models.parameter import FD, PINN, ParameterLearnerError
from greenbench.models.registry import (
    BUILTIN_MODELS,
    DEFAULT_TRAIN,
    DTYPES,
    EXACT_MODELS,
    OPTIMIZERS,
    USER_TRAIN,
    TrainConfig,
    build_model,
    default_dtype,
    is_import_path,
    model_kind,
    resolve_class,
    validate_model_entries,
)

__all__ = [
    "ACTIVATIONS", "BUILTIN_MODELS", "DEFAULT_TRAIN", "DTYPES", "EXACT_MODELS", "FD", "FNO",
    "MLP", "OPTIMIZERS", "PINN", "SMOOTH_ACTIVATIONS", "USER_TRAIN", "DeepLinear", "DeepONet",
    "FeedForward", "Linear", "PIDeepONet", "ParameterLearnerError", "SpectralConv1d",
    "TrainConfig", "build_model", "default_dtype", "is_import_path", "model_kind",
    "resolve_class", "validate_model_entries",
]
