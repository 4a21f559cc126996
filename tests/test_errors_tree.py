"""The exception tree drawn in ``thalovant.errors``' docstring is complete and true."""

from __future__ import annotations

import re

import thalovant.errors as errors


def public_classes() -> dict[str, type]:
    return {
        name: value
        for name, value in ((n, getattr(errors, n)) for n in errors.__all__)
        if isinstance(value, type) and issubclass(value, BaseException)
    }


ROOT = re.compile(r"^\s*(ThalovantError)\s*$")
BRANCH = re.compile(r"[├└]── (Thalovant\w+)")


def drawn_nodes() -> list[tuple[int, str]]:
    """``(column, class name)`` of every node of the drawing, top to bottom."""
    nodes = []
    for line in (errors.__doc__ or "").splitlines():
        found = ROOT.match(line) or BRANCH.search(line)
        if found is not None:
            nodes.append((found.start(1), found.group(1)))
    return nodes


def test_every_public_exception_is_in_the_tree() -> None:
    assert {name for _, name in drawn_nodes()} == set(public_classes())


def test_every_drawn_parent_is_a_base_class() -> None:
    stack: list[tuple[int, str]] = []
    for column, name in drawn_nodes():
        while stack and stack[-1][0] >= column:
            stack.pop()
        if stack:
            parent = stack[-1][1]
            assert issubclass(getattr(errors, name), getattr(errors, parent)), (name, parent)
        stack.append((column, name))
