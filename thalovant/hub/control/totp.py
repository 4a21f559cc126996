"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), stdlib only.

The local control plane's optional two-step sign-in: HMAC-SHA1, 30-second steps, 6 digits,
base32 secrets (what authenticator apps scan), one step of clock drift accepted each way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time

__all__ = ["TOTP_DIGITS", "TOTP_STEP", "new_totp_secret", "totp_code", "verify_totp"]

#: Seconds per code.
TOTP_STEP = 30
#: Digits per code.
TOTP_DIGITS = 6


def new_totp_secret() -> str:
    """A fresh 160-bit secret in base32 (no padding), as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    text = "".join(secret.split()).upper()
    text += "=" * (-len(text) % 8)
    try:
        key = base64.b32decode(text)
    except (binascii.Error, ValueError):
        raise ValueError("a TOTP secret must be base32 text") from None
    if not key:
        raise ValueError("a TOTP secret must not be empty")
    return key


def _hotp(key: bytes, counter: int) -> str:
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_code(secret: str, at: float | None = None) -> str:
    """The code for ``secret`` at Unix time ``at`` (now by default)."""
    now = time.time() if at is None else at
    return _hotp(_key(secret), int(now // TOTP_STEP))


def verify_totp(secret: str, code: str, at: float | None = None, *, drift: int = 1) -> bool:
    """True when ``code`` is the code of the current step, or of ``drift`` steps around it."""
    given = "".join(str(code).split())
    if len(given) != TOTP_DIGITS or not (given.isascii() and given.isdigit()):
        return False
    key = _key(secret)
    step = int((time.time() if at is None else at) // TOTP_STEP)
    matches = [hmac.compare_digest(_hotp(key, step + d), given) for d in range(-drift, drift + 1)]
    return any(matches)
