"""How identity values show themselves: ``repr()`` text built from ``__rich_repr__``.

Every identity type lists its fields, secrets already redacted, in ``__rich_repr__``; the plain
``repr()`` is built from that same list, so the two can never disagree about what is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["RichRepr", "fields_repr"]


class RichRepr(Protocol):
    """Anything with a rich-style repr: ``(name, shown value)`` pairs."""

    def __rich_repr__(self) -> Iterable[tuple[str, Any]]:
        """The fields to show, secrets already redacted."""
        ...


def fields_repr(obj: RichRepr) -> str:
    """``name=value, ...`` from ``obj.__rich_repr__()``, each value through ``repr()``.

    Args:
        obj: The value to show.

    Returns:
        The inside of the parentheses of ``TypeName(...)``.
    """
    return ", ".join(f"{key}={value!r}" for key, value in obj.__rich_repr__())
