"""Parse the official SDK's interface listing (``shared/spec/official-api.md``).

The listing is one ``text`` block: ``class Name(bases)`` with indented members (``[async ]
name(params) -> return``, ``.name (property)``, ``fields: a, b``), ``NAME = value``
constants and ``def name(params) -> return`` functions. Signatures are parsed with :mod:`ast`
after replacing unprintable defaults (``<factory>``, ``<built-in function monotonic>``) with
a marker, so a default is compared only where it is observable (a literal).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
#: Where CI (and every worktree) finds the listing: ``../shared/spec`` from the repo root.
LISTING = REPO.parent / "shared" / "spec" / "official-api.md"

#: A default the listing cannot show as a literal.
UNOBSERVABLE = object()
_OPAQUE = re.compile(r"<[^<>]*>")
_OPAQUE_MARK = "'<unobservable default>'"


@dataclass(frozen=True)
class Param:
    """One official parameter."""

    name: str
    kind: str  # "positional", "keyword", "var_positional", "var_keyword"
    has_default: bool
    default: Any = None  # the literal, or UNOBSERVABLE


@dataclass(frozen=True)
class Callable_:
    """One official function or method."""

    name: str
    is_async: bool
    params: tuple[Param, ...]
    first: str | None  # "self", "cls" or None (a function or a static method)
    returns: str = ""  # the return annotation as written


@dataclass
class OfficialClass:
    name: str
    bases: tuple[str, ...]
    methods: dict[str, Callable_] = field(default_factory=dict)
    properties: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


@dataclass
class Listing:
    classes: dict[str, OfficialClass] = field(default_factory=dict)
    functions: dict[str, Callable_] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.classes, *self.functions, *self.constants]


def _parse_signature(line: str) -> Callable_:
    is_async = line.startswith("async ")
    text = line.removeprefix("async ")
    name = text.split("(", 1)[0]
    source = "def " + _OPAQUE.sub(_OPAQUE_MARK, text) + ": pass"
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef), line
    args = node.args
    params: list[Param] = []
    positional = [*args.posonlyargs, *args.args]
    first: str | None = None
    if positional and positional[0].arg in ("self", "cls"):
        first = positional[0].arg
        positional = positional[1:]
    defaults: list[ast.expr | None] = [None] * (
        len(args.posonlyargs) + len(args.args) - len(args.defaults)
    ) + list(args.defaults)
    defaults = defaults[len(defaults) - len(positional) :]
    for arg, default in zip(positional, defaults, strict=True):
        params.append(_param(arg.arg, "positional", default))
    if args.vararg is not None:
        params.append(Param(args.vararg.arg, "var_positional", False))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(_param(arg.arg, "keyword", kw_default))
    if args.kwarg is not None:
        params.append(Param(args.kwarg.arg, "var_keyword", False))
    returns = ""
    if node.returns is not None:
        value = node.returns
        returns = value.value if isinstance(value, ast.Constant) else ast.unparse(value)
    return Callable_(name, is_async, tuple(params), first, str(returns).strip("'\""))


def _param(name: str, kind: str, default: ast.expr | None) -> Param:
    if default is None:
        return Param(name, kind, False)
    try:
        value = ast.literal_eval(default)
    except ValueError:
        value = UNOBSERVABLE
    if value == _OPAQUE_MARK.strip("'"):
        value = UNOBSERVABLE
    return Param(name, kind, True, value)


def parse(text: str) -> Listing:
    """Parse the listing's ``text`` block."""
    block = text.split("```text", 1)[1].split("```", 1)[0]
    listing = Listing()
    current: OfficialClass | None = None
    for raw in block.splitlines():
        if not raw.strip():
            continue
        if raw.startswith("  "):
            assert current is not None, raw
            _member(current, raw.strip())
            continue
        current = None
        if raw.startswith("class "):
            match = re.fullmatch(r"class (\w+)\((.*)\)", raw)
            assert match, raw
            bases = tuple(b.strip() for b in match.group(2).split(",") if b.strip())
            current = OfficialClass(match.group(1), bases)
            listing.classes[current.name] = current
        elif raw.startswith("def "):
            fn = _parse_signature(raw.removeprefix("def "))
            listing.functions[fn.name] = fn
        elif " = " in raw:
            name, value = raw.split(" = ", 1)
            listing.constants[name] = ast.literal_eval(value)
    return listing


def _member(cls: OfficialClass, line: str) -> None:
    if line.startswith("fields: "):
        cls.fields.extend(n.strip() for n in line.removeprefix("fields: ").split(","))
    elif line.endswith(" (property)"):
        cls.properties.append(line.removeprefix(".").removesuffix(" (property)"))
    else:
        method = _parse_signature(line)
        cls.methods[method.name] = method


def load() -> Listing:
    """The listing from ``../shared/spec/official-api.md``."""
    return parse(LISTING.read_text(encoding="utf-8"))
