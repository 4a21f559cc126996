"""Bearer tokens issued by the local control plane: stored hashed, with expiry and revocation.

A token is ``tvpat_<43 url-safe chars>``; only its SHA-256 is kept, so the store never holds a
usable secret. Tokens live in memory: restarting the hub signs everybody out.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_TOKEN_TTL",
    "EXTRA_SCOPES",
    "KNOWN_SCOPES",
    "IssuedToken",
    "TokenStore",
    "iso_time",
]

#: The client and hub-reading scopes (what free-plan tokens may have upstream); holding all
#: of them is a "full-scope" token (it may revoke other tokens).
ALL_SCOPES: tuple[str, ...] = ("hubs:read", "clients:read", "clients:write")
#: The scopes of the wider control plane (paid-plan scopes upstream).
EXTRA_SCOPES: tuple[str, ...] = (
    "hubs:write",
    "hubs:inspect",
    "memory:read",
    "memory:write",
    "analytics:read",
)
#: Every scope a local token can carry; a sign-in without ``scope`` gets them all.
KNOWN_SCOPES: tuple[str, ...] = ALL_SCOPES + EXTRA_SCOPES
#: Seconds a token stays valid.
DEFAULT_TOKEN_TTL = 12 * 3600.0


def iso_time(at: float) -> str:
    """Unix time → ``2025-01-01T12:00:00Z``."""
    stamp = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")


def _digest(token: str) -> str:
    # "surrogatepass": any str hashes (a header decoded with surrogateescape included).
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """What the store knows about one token (never the token itself)."""

    token_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float

    def answer(self, token: str) -> dict[str, object]:
        """The ``POST /v1/auth/token`` answer for this token."""
        return {
            "access_token": token,
            "token_type": "bearer",
            "token_id": self.token_id,
            "scopes": list(self.scopes),
            "expires_at": iso_time(self.expires_at),
            "expires_in": int(self.expires_at - self.issued_at),
        }


class TokenStore:
    """Issue, check and revoke tokens. Thread-safe; ``clock`` is wall-clock seconds."""

    def __init__(
        self, ttl: float = DEFAULT_TOKEN_TTL, *, clock: Callable[[], float] = time.time
    ) -> None:
        if ttl <= 0:
            raise ValueError("token ttl must be positive")
        self._ttl = float(ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._by_digest: dict[str, IssuedToken] = {}

    def issue(self, scopes: Iterable[str] = ALL_SCOPES) -> tuple[str, IssuedToken]:
        """A new token and its record."""
        token = f"tvpat_{secrets.token_urlsafe(32)}"
        now = self._clock()
        record = IssuedToken(f"tok_{secrets.token_hex(8)}", tuple(scopes), now, now + self._ttl)
        with self._lock:
            self._purge(now)
            self._by_digest[_digest(token)] = record
        return token, record

    def check(self, token: str) -> tuple[IssuedToken | None, str]:
        """``(record, "")`` for a live token, else ``(None, reason)`` with reason
        ``invalid_token`` or ``token_expired``."""
        digest = _digest(token)
        with self._lock:
            found = self._by_digest.get(digest)  # a digest of a 256-bit secret: no timing leak
            if found is None:
                return None, "invalid_token"
            if found.expires_at <= self._clock():
                del self._by_digest[digest]
                return None, "token_expired"
            return found, ""

    def revoke(self, token_id: str) -> bool:
        """Revoke the token with this id; ``False`` when there is none."""
        with self._lock:
            for digest, record in list(self._by_digest.items()):
                if record.token_id == token_id:
                    del self._by_digest[digest]
                    return True
        return False

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_digest)

    def _purge(self, now: float) -> None:
        for digest, record in list(self._by_digest.items()):
            if record.expires_at <= now:
                del self._by_digest[digest]
