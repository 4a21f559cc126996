"""How a connection attempt or a link ends: refusal vs drop (docs/protocol.md §2.6), and the
public error a caller sees.

A close with one of :data:`REFUSAL_CLOSE_CODES` during the handshake, or right after it
before any frame decrypted, is a credential refusal; right after ``XXpsk2`` it means the hub
pinned another client key. Anything else is a drop. Layer-internal exceptions (the carriers'
``CarrierClosed``, the protocol's Noise and malformed-message errors, the link's ``LinkDown``)
never reach a caller as themselves: :func:`public_error` maps each to its public class.
"""

from __future__ import annotations

from thalovant.carriers.base import CarrierClosed
from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantError,
    ThalovantHubRefusedError,
)
from thalovant.link.settings import LinkSettings
from thalovant.protocol.noise import PATTERN_XX

__all__ = [
    "REFUSAL_CLOSE_CODES",
    "AttemptRefused",
    "after_handshake_refusal",
    "handshake_refusal",
    "public_error",
]

#: WebSocket close codes that mean "credentials refused" around the handshake.
REFUSAL_CLOSE_CODES = frozenset({1000, 1005, 1008})

_PUBLIC_MODULE = ThalovantError.__module__


class AttemptRefused(Exception):
    """Internal to the link: one handshake attempt was refused; ``retry`` says whether an
    ``XXpsk2`` attempt may follow. Never leaves :func:`~thalovant.link.dialer.dial`.

    Args:
        error: The refusal to raise if no retry follows.
        retry: Whether the dial may try once more with ``XXpsk2``.
    """

    def __init__(self, error: ThalovantHubRefusedError, retry: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry = retry


def public_error(exc: ThalovantError) -> ThalovantError:
    """The error a caller may see for ``exc``.

    Args:
        exc: Any SDK error, public or layer-internal.

    Returns:
        ``exc`` itself when its class is one of :mod:`thalovant.errors`; else a new error of
        its nearest public base class with the same text, caused by ``exc``.
    """
    kind = type(exc)
    if kind.__module__ == _PUBLIC_MODULE:
        return exc
    public = next(
        cls
        for cls in kind.__mro__
        if cls.__module__ == _PUBLIC_MODULE and issubclass(cls, ThalovantError)
    )
    converted = public(str(exc))
    converted.__cause__ = exc
    return converted


def handshake_refusal(
    exc: CarrierClosed | ThalovantHubRefusedError,
) -> ThalovantHubRefusedError | None:
    """The refusal an end during the handshake means, if it means one.

    Args:
        exc: The carrier's close, or a refusal the handshake or carrier raised.

    Returns:
        The refusal to report, or None when ``exc`` is a drop.
    """
    if isinstance(exc, ThalovantHubRefusedError):
        return exc
    if exc.refused or exc.code in REFUSAL_CLOSE_CODES:
        return ThalovantHubRefusedError(
            f"the hub refused the credentials during the handshake ({exc})"
        )
    return None


def after_handshake_refusal(
    pattern: str, settings: LinkSettings, exc: CarrierClosed
) -> ThalovantHubRefusedError:
    """The refusal a refusal close right after a completed handshake means.

    Args:
        pattern: The Noise pattern of the handshake.
        settings: The link's settings (the key folders, for the error's hints).
        exc: The carrier's close.

    Returns:
        :class:`ThalovantClientKeyRejectedError` after ``XXpsk2`` (the hub pinned another
        client key), else :class:`ThalovantHubRefusedError`.
    """
    if pattern == PATTERN_XX:
        folder = str(settings.key_store.folder)
        return ThalovantClientKeyRejectedError(
            f"the hub closed the link ({exc.code}) right after the XXpsk2 handshake: it has "
            f"pinned a different client key for this access key. This program's key is in "
            f"{folder}; use the folder holding the original key (noise_state_dir=), or have "
            "the hub forget the old key",
            key_folder=folder,
            other_key_folder=(
                str(settings.legacy_store.folder) if settings.legacy_store is not None else None
            ),
        )
    return ThalovantHubRefusedError(
        f"the hub closed the link ({exc.code}) right after the handshake: credentials refused"
    )
