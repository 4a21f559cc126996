"""Compare one official name (tests/compat/official_api.py) with ours.

Each check returns a list of problems, empty when ours is a drop-in superset: every official
parameter is accepted by the same name and kind (positional ones at the same position), with
the same default where the listing shows a literal, and what is async stays async.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from tests.compat.official_api import UNOBSERVABLE, Callable_, OfficialClass, Param

_KINDS = {
    "positional": (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY),
    "keyword": (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD),
    "var_positional": (inspect.Parameter.VAR_POSITIONAL,),
    "var_keyword": (inspect.Parameter.VAR_KEYWORD,),
}


def is_async(function: Any) -> bool:
    """A coroutine function or an async generator function (``await`` / ``async for``)."""
    target = inspect.unwrap(function)
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def check_callable(ours: Any, official: Callable_, *, bound: bool) -> list[str]:
    """Problems of ``ours`` (a function, or a method looked up on its class) against
    ``official``."""
    problems: list[str] = []
    if official.is_async and not is_async(ours):
        problems.append("is async in the official SDK, not here")
    if not official.is_async and is_async(ours):
        problems.append("is async here, not in the official SDK")
    try:
        signature = inspect.signature(ours)
    except (TypeError, ValueError) as exc:
        return [*problems, f"has no signature: {exc}"]
    params = list(signature.parameters.values())
    if bound and params and params[0].name in ("self", "cls"):
        params = params[1:]
    by_name = {p.name: p for p in params}
    positional = [p for p in params if p.kind in _KINDS["positional"]]
    official_positional = [p for p in official.params if p.kind == "positional"]
    for index, param in enumerate(official_positional):
        if index >= len(positional) or positional[index].name != param.name:
            have = [p.name for p in positional]
            problems.append(f"positional {param.name!r} not at position {index} (ours: {have})")
    for param in official.params:
        problems.extend(_check_param(param, by_name))
    # A superset may add parameters, but none the official call would leave unfilled.
    named = {p.name for p in official.params}
    for extra in params:
        if extra.name in named or extra.default is not inspect.Parameter.empty:
            continue
        if extra.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        problems.append(f"requires {extra.name!r}, which the official call does not pass")
    return problems


def _check_param(param: Param, by_name: dict[str, inspect.Parameter]) -> list[str]:
    if param.kind.startswith("var_"):
        if not any(p.kind in _KINDS[param.kind] for p in by_name.values()):
            return [f"does not accept {'*' if param.kind == 'var_positional' else '**'}{param.name}"]
        return []
    ours = by_name.get(param.name)
    if ours is None:
        return [f"lacks parameter {param.name!r}"]
    problems: list[str] = []
    if ours.kind not in _KINDS[param.kind]:
        problems.append(f"parameter {param.name!r} is {ours.kind.description}, official {param.kind}")
    if param.has_default:
        if ours.default is inspect.Parameter.empty:
            problems.append(f"parameter {param.name!r} has no default (official {param.default!r})")
        elif param.default is not UNOBSERVABLE and not _same_default(ours.default, param.default):
            problems.append(
                f"parameter {param.name!r} defaults to {ours.default!r}, official {param.default!r}"
            )
    return problems


def _same_default(ours: Any, official: Any) -> bool:
    if isinstance(official, tuple) and not isinstance(ours, str):
        try:
            return tuple(ours) == official
        except TypeError:
            return False
    return bool(ours == official) and type(ours) is not bool or ours is official


def field_names(cls: type) -> set[str]:
    """The data fields of ``cls``: dataclass or msgspec fields, annotations, slots."""
    names: set[str] = set()
    if dataclasses.is_dataclass(cls):
        names.update(f.name for f in dataclasses.fields(cls))
    names.update(getattr(cls, "__struct_fields__", ()))
    for klass in cls.__mro__:
        names.update(getattr(klass, "__annotations__", {}))
        slots = getattr(klass, "__slots__", ())
        names.update((slots,) if isinstance(slots, str) else slots)
    return names


def check_class(ours: Any, official: OfficialClass, public: dict[str, Any]) -> dict[str, list[str]]:
    """Problems per member (``""`` for the class itself) of ``ours`` against ``official``."""
    found: dict[str, list[str]] = {}
    if not inspect.isclass(ours):
        return {"": [f"is {type(ours).__name__}, not a class"]}
    for base in official.bases:
        if base == "tuple" and not issubclass(ours, tuple):
            found.setdefault("", []).append("is not a tuple")
        other = public.get(base)
        if inspect.isclass(other) and not issubclass(ours, other):
            found.setdefault("", []).append(f"is not a subclass of {base}")
    fields = field_names(ours)
    for name in official.fields:
        if name not in fields and not hasattr(ours, name):
            found.setdefault(name, []).append("field is missing")
    for name in official.properties:
        if not hasattr(ours, name) and name not in fields:
            found.setdefault(name, []).append("property is missing")
    for name, method in official.methods.items():
        attr = inspect.getattr_static(ours, name, None) if name != "__init__" else None
        if name == "__init__":
            problems = check_callable(ours, method, bound=False)
        elif attr is None:
            problems = ["method is missing"]
        else:
            target = getattr(ours, name)
            is_static = isinstance(attr, staticmethod)
            is_class = isinstance(attr, classmethod)
            problems = []
            if method.first == "cls" and not is_class:
                problems.append("is not a classmethod")
            problems += check_callable(target, method, bound=not (is_static or is_class))
        if problems:
            found[name] = problems
    return found
