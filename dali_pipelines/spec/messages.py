"""A pydantic ``ValidationError`` over a spec as a short :class:`SpecError` message.

pydantic's own rendering prints every error with its ``input_value``: for a spec whose values
are shared YAML aliases that is billions of nodes. This module renders the first few errors
from their location, type and message, ``where: expected X, got Y``, with a bounded repr of
the input: a message stays under a few hundred characters whatever the spec holds.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

from pydantic import ValidationError

from ..errors import SpecError

#: Errors spelled out in one message; the rest are counted.
MAX_ERRORS_SHOWN = 3
#: Characters of an input value (or a validator's message) a message shows.
MAX_VALUE_CHARS = 80
MAX_TEXT_CHARS = 300

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\[\]]*")
_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4


def clip(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def bounded_repr(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A repr of at most ``limit`` characters, however large or nested ``value`` is."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails (a 5,000-digit int) must not hide the real error
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


#: Fields holding a discriminated union: the part after an index is the member's tag.
TAGGED = ("ops", "outputs")


def location(loc: tuple[int | str, ...]) -> str:
    """``('ops', 1, 'center_crop', 'size', 0)`` -> ``ops[1] (center_crop).size[0]``.

    A discriminated union's tag (after an index into ``ops`` or ``outputs``) reads as the
    member's name; the labels of a plain union's members (``'constrained-int'``,
    ``'tuple[...]'``) are left out.
    """
    out, field, tag_next = "", "", False
    for part in loc:
        if isinstance(part, int):
            out, tag_next = out + f"[{part}]", field in TAGGED
        elif tag_next:
            out, tag_next = out + f" ({part})", False
        elif part.isidentifier():  # not a union member's label
            out, field = (f"{out}.{part}" if out else part), part
    return out


def _expected(error: Any) -> str:
    """What the failed check wanted, in words, and what it got."""
    kind, ctx, got = error["type"], error.get("ctx") or {}, bounded_repr(error.get("input"))
    if kind == "missing":
        return "expected a value, got none"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping, got {got}"
    if kind == "extra_forbidden":
        return f"expected no extra field, got {got}"
    if kind == "union_tag_invalid":
        tags = clip(str(ctx.get("expected_tags", "")).replace("'", ""))
        return f"expected one of {tags}, got {bounded_repr(ctx.get('tag'))}"
    if kind == "union_tag_not_found":
        return f"expected a mapping with an {_key(ctx)!r} key, got {got}"
    message = clip(str(error.get("msg", "")))
    prefix = "Input should be "
    if message.startswith(prefix):
        return f"expected {message[len(prefix) :]}, got {got}"
    return f"{message[:1].lower()}{message[1:]}, got {got}"


def _key(ctx: dict[str, Any]) -> str:
    return str(ctx.get("discriminator", "op")).strip("'")


def _one(error: Any) -> tuple[str, str]:
    """(location, text) of one error; a validator's ``field: ...`` message extends the loc."""
    where = location(tuple(error["loc"]))
    if error["type"] == "union_tag_invalid":  # the tag's field is what is wrong
        where = f"{where}.{_key(error.get('ctx') or {})}"
    cause = (error.get("ctx") or {}).get("error")
    if error["type"] in ("value_error", "assertion_error") and cause is not None:
        text = clip(str(cause))
        head, sep, rest = text.partition(": ")
        if sep and _FIELD.fullmatch(head):
            if where == head or where.endswith("." + head):  # a field validator's own field
                return where, rest
            return (f"{where}.{head}" if where else head), rest
        return where, text
    return where, _expected(error)


def render(exc: ValidationError, where: str) -> str:
    """``where: loc: expected X, got Y; loc2: ...`` for the first :data:`MAX_ERRORS_SHOWN`
    distinct locations (union alternatives of one field are joined with ``or``)."""
    by_loc: dict[str, list[str]] = {}
    seen: set[str] = set()  # locations spelled out; errors elsewhere are only counted
    dropped = 0
    for error in exc.errors(include_url=False):
        base = location(tuple(error["loc"]))
        if base not in seen and len(seen) >= MAX_ERRORS_SHOWN:
            dropped += 1
            continue
        seen.add(base)
        loc, text = _one(error)
        if text not in by_loc.setdefault(loc, []):
            by_loc[loc].append(text)
    # A union member that matched the type and failed deeper says more than the others.
    keep = [loc for loc in by_loc if not any(_under(o, loc) for o in by_loc)]
    parts = [f"{loc}: {_join(by_loc[loc])}" if loc else _join(by_loc[loc]) for loc in keep]
    tail = f" (and {dropped} more errors)" if dropped else ""
    return f"{where}: " + "; ".join(parts) + tail


def _under(inner: str, outer: str) -> bool:
    return bool(outer) and inner.startswith((outer + "[", outer + "."))


def _join(texts: list[str]) -> str:
    """Union alternatives ``expected A, got x`` and ``expected B, got x`` as one phrase."""
    # A member whose type matched (a constraint failed) says more than type mismatches.
    specific = [t for t in texts if not t.startswith("expected a valid ")]
    texts = specific or texts
    if len(texts) == 1:
        return texts[0]
    wants, gots = zip(*(t.rpartition(", got ")[::2] for t in texts), strict=True)
    if len(set(gots)) == 1 and all(w.startswith("expected ") for w in wants):
        options = " or ".join(w[len("expected ") :] for w in wants)
        return f"expected {options}, got {gots[0]}"
    return "; ".join(texts)


def spec_error(exc: ValidationError, where: str) -> SpecError:
    """The :class:`SpecError` to raise (``from None``: the cause would print every error) for
    a spec that failed validation."""
    return SpecError(render(exc, where))
