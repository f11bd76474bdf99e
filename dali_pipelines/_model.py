"""The pydantic base every model of the package derives from, and the strict number types.

Spec fields use :data:`Int`, :data:`Bool` and :data:`Float` instead of ``int``/``bool``/
``float``: pydantic's lax mode would take ``size: true`` as 1 and ``size: "8"`` as 8, so a
typo in a spec would silently change the data. They accept exactly what YAML and JSON produce
for a number or a boolean (and numpy scalars, for specs built in code); a float field also
takes an int. Tuple fields keep accepting lists (what YAML and JSON give).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict


def _numpy_kind(value: Any) -> str:
    """numpy's dtype kind of a numpy scalar (``"b"``, ``"i"``, ``"u"``, ``"f"``), else ``""``."""
    if type(value).__module__ != "numpy":
        return ""
    return str(getattr(getattr(value, "dtype", None), "kind", ""))


def _plain_int(value: Any) -> Any:
    """A numpy integer as an int; everything else as it is (a bool, a str: refused)."""
    return operator.index(value) if _numpy_kind(value) in ("i", "u") else value


def _plain_float(value: Any) -> Any:
    """A numpy integer or float as a float; everything else as it is."""
    return float(value) if _numpy_kind(value) in ("i", "u", "f") else value


def _plain_bool(value: Any) -> Any:
    """A numpy bool as a bool; everything else as it is (1, "true": refused)."""
    return bool(value) if _numpy_kind(value) == "b" else value


#: An int, never a bool, a float or a string ("8").
Int = Annotated[int, Strict(), BeforeValidator(_plain_int)]
#: ``true``/``false`` only, never 1 or "yes".
Bool = Annotated[bool, Strict(), BeforeValidator(_plain_bool)]
#: A float or an int, never a bool or a string ("0.5").
Float = Annotated[float, Strict(), BeforeValidator(_plain_float)]


def exact_int(value: Any) -> Any:
    """For ``Literal`` ints (which take ``True`` and ``1.0``): refuse anything but an int."""
    value = _plain_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        got = repr(value) if isinstance(value, bool | float) else type(value).__name__
        raise ValueError(f"expected an int, got {got}")
    return value


class FrozenModel(BaseModel):
    """Immutable, strict about unknown keys; hashable so specs can be compared and cached.

    ``hide_input_in_errors``: a ``ValidationError`` never renders the input it was given (a
    spec with shared YAML aliases expands to billions of nodes when printed).
    """

    # allow_inf_nan=False: an inf or NaN parameter can only crash a per-sample draw later.
    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, hide_input_in_errors=True
    )
