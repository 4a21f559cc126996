"""Compare one official name (tests/compat/official_api.py) with ours.

Each check returns problems as ``(parameter, message)`` pairs (``parameter`` is ``""`` for
the member itself), empty when ours is a drop-in superset: every official parameter is
accepted by the same name and kind (positional ones at the same position), with the same
default where the listing shows a literal, and what is async stays async.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from tests.compat.official_api import UNOBSERVABLE, Callable_, OfficialClass, Param

Problem = tuple[str, str]

_P = inspect.Parameter
_KINDS = {
    "positional": (_P.POSITIONAL_OR_KEYWORD, _P.POSITIONAL_ONLY),
    # a keyword-only official parameter may be positional-or-keyword here (a superset)
    "keyword": (_P.KEYWORD_ONLY, _P.POSITIONAL_OR_KEYWORD),
    "var_positional": (_P.VAR_POSITIONAL,),
    "var_keyword": (_P.VAR_KEYWORD,),
}


def is_async(function: Any, official: Callable_) -> bool:
    """Awaitable or ``async for``-able as the official one: a coroutine or async generator
    function, or (for an official ``AsyncIterator``) one returning an async iterable."""
    target = inspect.unwrap(function)
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        return True
    if official.returns.startswith("AsyncIterator"):
        returned = inspect.signature(target, eval_str=True).return_annotation
        return inspect.isclass(returned) and hasattr(returned, "__aiter__")
    return False


def check_callable(ours: Any, official: Callable_, *, bound: bool) -> list[Problem]:
    """Problems of ``ours`` (a function, or a method looked up on its class)."""
    problems: list[Problem] = []
    ours_async = is_async(ours, official)
    if official.is_async and not ours_async:
        problems.append(("", "is async in the official SDK, not here"))
    if not official.is_async and ours_async:
        problems.append(("", "is async here, not in the official SDK"))
    try:
        signature = inspect.signature(ours)
    except (TypeError, ValueError) as exc:
        return [*problems, ("", f"has no signature: {exc}")]
    params = list(signature.parameters.values())
    if bound and params and params[0].name in ("self", "cls"):
        params = params[1:]
    by_name = {p.name: p for p in params}
    positional = [p.name for p in params if p.kind in _KINDS["positional"]]
    official_positional = [p for p in official.params if p.kind == "positional"]
    for index, param in enumerate(official_positional):
        if index >= len(positional) or positional[index] != param.name:
            problems.append((param.name, f"not positional #{index} (ours: {positional})"))
    for param in official.params:
        problems.extend((param.name, text) for text in _check_param(param, by_name))
    named = {p.name for p in official.params}
    for extra in params:
        required = extra.default is _P.empty and extra.kind not in _KINDS["var_positional"]
        if extra.name not in named and required and extra.kind not in _KINDS["var_keyword"]:
            problems.append((extra.name, "is required here, and the official call omits it"))
    return problems


def _check_param(param: Param, by_name: dict[str, inspect.Parameter]) -> list[str]:
    if param.kind.startswith("var_"):
        if not any(p.kind in _KINDS[param.kind] for p in by_name.values()):
            return [f"no {'*' if param.kind == 'var_positional' else '**'}{param.name}"]
        return []
    ours = by_name.get(param.name)
    if ours is None:
        return ["is missing"]
    problems: list[str] = []
    if ours.kind not in _KINDS[param.kind]:
        problems.append(f"is {ours.kind.description}, official {param.kind}")
    if param.has_default:
        if ours.default is _P.empty:
            problems.append(f"has no default (official {param.default!r})")
        elif param.default is not UNOBSERVABLE and not same_default(ours.default, param.default):
            problems.append(f"defaults to {ours.default!r}, official {param.default!r}")
    return problems


def same_default(ours: Any, official: Any) -> bool:
    """Equal defaults (a tuple matches any sequence of its items; ``1 != True``)."""
    if isinstance(official, tuple) and not isinstance(ours, str):
        try:
            return tuple(ours) == official
        except TypeError:
            return False
    if isinstance(ours, bool) or isinstance(official, bool):
        return ours is official
    return bool(ours == official)


def field_names(cls: type) -> set[str]:
    """The data fields of ``cls``: dataclass or msgspec fields, annotations, slots."""
    names: set[str] = set()
    if dataclasses.is_dataclass(cls):
        names.update(f.name for f in dataclasses.fields(cls))
    names.update(getattr(cls, "__struct_fields__", ()))
    names.update(getattr(cls, "_fields", ()))
    for klass in cls.__mro__:
        names.update(getattr(klass, "__annotations__", {}))
        slots = getattr(klass, "__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    return names


def check_class(
    ours: Any, official: OfficialClass, public: dict[str, Any]
) -> dict[str, list[Problem]]:
    """Problems per member (``""``: the class itself) of ``ours``."""
    found: dict[str, list[Problem]] = {}
    if not inspect.isclass(ours):
        return {"": [("", f"is a {type(ours).__name__}, not a class")]}
    for base in official.bases:
        if base == "tuple" and not issubclass(ours, tuple):
            found.setdefault("", []).append(("", "is not a tuple"))
        other = public.get(base)
        if inspect.isclass(other) and not issubclass(ours, other):
            found.setdefault("", []).append(("", f"is not a subclass of {base}"))
    fields = field_names(ours)
    for name in (*official.fields, *official.properties):
        if name not in fields and not hasattr(ours, name):
            found.setdefault(name, []).append(("", "is missing"))
    for name, method in official.methods.items():
        if name == "__init__":
            problems = check_callable(ours, method, bound=False)
        elif (attr := inspect.getattr_static(ours, name, None)) is None:
            problems = [("", "is missing")]
        else:
            plain = isinstance(attr, (staticmethod, classmethod))
            problems = []
            if method.first == "cls" and not isinstance(attr, classmethod):
                problems.append(("", "is not a classmethod"))
            problems += check_callable(getattr(ours, name), method, bound=not plain)
        if problems:
            found[name] = problems
    return found
