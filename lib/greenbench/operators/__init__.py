"""Operators: one module per PDE operator, one registry (docs/architecture.md, "Operators").

``OPERATORS`` maps each name to its :class:`~greenbench.operators.base.Operator` subclass;
``get_operator(name, **coefficients)`` binds coefficient values (missing ones take the
schema's defaults). Adding an operator is adding its module to ``_MODULES``.
"""

from __future__ import annotations

from importlib import import_module

from greenbench.operators.base import Operator, Term

__all__ = ["OPERATORS", "Operator", "Term", "get_operator", "operator_names", "from_attrs",
           "coefficient_names"]

# The operator modules; each defines exactly one Operator subclass with a ``name``.
_MODULES: tuple[str, ...] = ("poisson1d", "biharmonic1d", "screened_poisson1d",
                             "advection_diffusion1d", "poisson2d")


def _load() -> dict[str, type[Operator]]:
    out: dict[str, type[Operator]] = {}
    for mod in _MODULES:
        try:
            m = import_module(f"greenbench.operators.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"greenbench.operators.{mod}":
                raise
            continue  # not written yet
        classes = [v for v in vars(m).values() if isinstance(v, type)
                   and issubclass(v, Operator) and v is not Operator
                   and v.__module__ == m.__name__]
        if len(classes) != 1:
            raise RuntimeError(f"operator module {m.__name__} must define exactly one Operator "
                               f"subclass, found {[c.__name__ for c in classes]}")
        out[classes[0].name] = classes[0]
    return out


OPERATORS: dict[str, type[Operator]] = _load()


def operator_names() -> tuple[str, ...]:
    """The registered operator names."""
    return tuple(OPERATORS)


def coefficient_names() -> tuple[str, ...]:
    """Every coefficient name of a registered operator (``k``, then the others as they come)."""
    return tuple(dict.fromkeys(c for cls in OPERATORS.values() for c in cls.COEFFICIENTS))


def get_operator(name: str, **coefficients: float) -> Operator:
    """The operator ``name`` with its coefficient values bound (``ValueError`` naming an
    unknown operator or coefficient and the allowed values)."""
    if name not in OPERATORS:
        raise ValueError(f"unknown operator (pde) {name!r}; allowed: {list(OPERATORS)}")
    return OPERATORS[name](**coefficients)


def from_attrs(attrs) -> Operator:
    """The operator a dataset (or results file) was made with, from its attributes ``pde`` and
    one attribute per coefficient (``k``, ``c``, ``b``: docs/results_format.md)."""
    name = attrs.get("pde")
    if name not in OPERATORS:
        raise ValueError(f"attribute pde is {name!r}; allowed: {list(OPERATORS)}")
    cls = OPERATORS[name]
    missing = [c for c in cls.COEFFICIENTS if c not in attrs]
    if missing:
        raise ValueError(f"operator {name} needs the attribute {missing[0]!r} (its coefficients: "
                         f"{list(cls.COEFFICIENTS)})")
    return cls(**{c: float(attrs[c]) for c in cls.COEFFICIENTS})
