"""The local control plane's single account: email, password hash, optional two-step sign-in.

Passwords are kept only as scrypt hashes (stdlib :func:`hashlib.scrypt`); a TOTP secret
(RFC 6238, :mod:`thalovant.hub.control.totp`) turns on two-step sign-in; recovery codes are
single-use and kept hashed too. ``thalovant hub`` takes the account from ``--account-email`` /
``--account-password`` / ``--account-totp-secret``; without them it uses a demo account whose
generated password lives in ``<state_dir>/demo-account.json`` (0600) and is printed at start.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.control.totp import verify_totp
from thalovant.hub.state.files import read_json_object, write_private_json
from thalovant.hub.state.text import clean_text

__all__ = [
    "DEMO_ACCOUNT_FILE",
    "DEMO_EMAIL",
    "MAX_EMAIL",
    "MAX_PASSWORD",
    "LocalAccount",
    "account_from_options",
    "demo_account",
    "fold_email",
    "hash_password",
    "password_text_ok",
    "check_password_hash",
]

#: Email of the demo account ``thalovant hub`` creates when given none.
DEMO_EMAIL = "demo@thalovant.local"
#: File (in the hub's state folder) holding the demo account's generated password.
DEMO_ACCOUNT_FILE = "demo-account.json"

#: Longest account email (RFC 5321 path limit) and password (characters).
MAX_EMAIL, MAX_PASSWORD = 320, 1024

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _utf8(text: str) -> bytes:
    # "surrogatepass": a lone surrogate that got this far hashes (and never matches)
    # instead of raising.
    return text.encode("utf-8", "surrogatepass")


def password_text_ok(password: str) -> bool:
    """True for a password this module can hash: at most :data:`MAX_PASSWORD` characters, no
    lone surrogates (anything else, spaces and control characters included, is the user's
    business)."""
    return len(password) <= MAX_PASSWORD and not any(0xD800 <= ord(ch) < 0xE000 for ch in password)


def fold_email(email: str) -> str:
    """The form two emails are compared in: stripped, NFKC-normalised, case-folded (so
    ``José@x``, ``JOSÉ@x`` and ``Jose\u0301@x`` are one address)."""
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    return unicodedata.normalize("NFKC", folded)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        _utf8(secret), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 * 1024 * 1024
    )


def hash_password(password: str) -> str:
    """``scrypt$<n>$<r>$<p>$<salt>$<hash>`` of ``password`` (about 50 ms)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def check_password_hash(stored: str, password: str) -> bool:
    """True when ``password`` matches a :func:`hash_password` value (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, _unb64(digest))
    except (ValueError, TypeError):
        return False


def _code_hash(code: str) -> str:
    return hashlib.sha256(_utf8("".join(code.split()).lower())).hexdigest()


class LocalAccount:
    """The one user of a local control plane. ``repr()`` shows only the email.

    Build it with :meth:`create` (hashes the password). :meth:`check_password` is blocking
    (scrypt); async callers run it in a worker thread.
    """

    def __init__(
        self,
        email: str,
        password_hash: str,
        *,
        totp_secret: str | None = None,
        recovery_code_hashes: Iterable[str] = (),
        display_name: str | None = None,
        user_id: str = "usr_local",
    ) -> None:
        email = clean_text(str(email), "the account email", max_len=MAX_EMAIL)
        if "@" not in email:
            raise ValueError("the account email must contain '@'")
        self.email = email
        self._folded_email = _utf8(fold_email(email))
        shown = display_name or email.partition("@")[0]
        self.display_name = clean_text(shown, "the account display name", max_len=MAX_EMAIL)
        self.user_id = user_id
        self._password_hash = password_hash
        self._totp_secret = totp_secret or None
        self._recovery = set(recovery_code_hashes)
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        email: str,
        password: str,
        *,
        totp_secret: str | None = None,
        recovery_codes: Iterable[str] = (),
        display_name: str | None = None,
    ) -> LocalAccount:
        """An account with ``password`` hashed; ``totp_secret`` (base32) enables two-step
        sign-in, each of ``recovery_codes`` may replace a TOTP code once."""
        if not password:
            raise ValueError("the account password must not be empty")
        if not password_text_ok(password):
            raise ValueError(
                f"the account password must be valid text of at most {MAX_PASSWORD} characters"
            )
        if totp_secret:
            verify_totp(totp_secret, "000000")  # raises ValueError for a malformed secret
        return cls(
            email,
            hash_password(password),
            totp_secret=totp_secret,
            recovery_code_hashes=[_code_hash(c) for c in recovery_codes if c.strip()],
            display_name=display_name,
        )

    def __repr__(self) -> str:
        return f"LocalAccount(email={self.email!r}, two_step={self.two_step})"

    @property
    def two_step(self) -> bool:
        """True when sign-in needs a TOTP or recovery code."""
        return self._totp_secret is not None

    def check_password(self, email: str, password: str) -> bool:
        """True for this account's email (compared as :func:`fold_email`, so non-ASCII
        addresses work) and password. Blocking."""
        same_email = hmac.compare_digest(_utf8(fold_email(email)), self._folded_email)
        matches = check_password_hash(self._password_hash, password)
        return same_email and matches

    def check_second_factor(self, otp_code: str | None, recovery_code: str | None) -> bool:
        """True for a valid TOTP code, or an unused recovery code (which is used up now)."""
        if self._totp_secret is None:
            return True
        if otp_code and verify_totp(self._totp_secret, otp_code):
            return True
        if recovery_code:
            wanted = _code_hash(recovery_code)
            with self._lock:
                if wanted in self._recovery:
                    self._recovery.discard(wanted)
                    return True
        return False

    def profile(self) -> dict[str, Any]:
        """``{id, email, display_name, role}`` as ``GET /v1/users/profile`` shows it."""
        return {
            "id": self.user_id,
            "email": self.email,
            "display_name": self.display_name,
            "role": "owner",
        }


def demo_account(state_dir: Path) -> tuple[LocalAccount, str]:
    """The demo account and its password, generated once into ``state_dir``."""
    path = state_dir / DEMO_ACCOUNT_FILE
    stored = read_json_object(path) or {}
    email, password = stored.get("email"), stored.get("password")
    if not (isinstance(email, str) and isinstance(password, str) and email and password):
        email, password = DEMO_EMAIL, secrets.token_urlsafe(12)
        write_private_json(path, {"email": email, "password": password})
    return LocalAccount.create(email, password), password


def account_from_options(
    state_dir: Path,
    email: str | None = None,
    password: str | None = None,
    totp_secret: str | None = None,
) -> tuple[LocalAccount, str | None]:
    """The account ``thalovant hub`` serves: from the options when given (the password is
    then not shown again), else :func:`demo_account` (its password is returned for printing).
    """
    if bool(email) != bool(password):
        raise ThalovantRuntimeError("give both --account-email and --account-password, or neither")
    try:
        if email and password:
            return LocalAccount.create(email, password, totp_secret=totp_secret), None
        if totp_secret:
            account, shown = demo_account(state_dir)
            return LocalAccount.create(account.email, shown, totp_secret=totp_secret), shown
        return demo_account(state_dir)
    except ValueError as exc:
        raise ThalovantRuntimeError(f"invalid local account: {exc}") from None
