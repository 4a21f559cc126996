"""Native-app sign-in (OAuth 2.0 authorization code with PKCE S256, RFC 7636).

:func:`begin_native_sign_in` builds the dashboard's authorize URL
(``/authorize?client_id&redirect_uri&response_type=code&code_challenge
&code_challenge_method=S256&scope=<space-separated>&state``) with a fresh verifier and state;
:meth:`NativeSignIn.code_from` reads the code back from the redirect (checking that it is the
expected redirect and that ``state`` matches); the control plane's
``complete_native_sign_in(code, verifier, client_id, redirect_uri)`` trades it for a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from thalovant.errors import ThalovantAuthError, ThalovantRuntimeError

__all__ = [
    "DEFAULT_DASHBOARD_URL",
    "DEFAULT_NATIVE_SCOPES",
    "NativeSignIn",
    "begin_native_sign_in",
    "challenge_for",
    "is_thalovant_url",
    "new_verifier",
]

DEFAULT_DASHBOARD_URL = "https://dash.thalovant.com"
DEFAULT_NATIVE_SCOPES: tuple[str, ...] = ("hubs:read", "clients:read", "clients:write")
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_MAX_REDIRECT = 8192


def new_verifier() -> str:
    """A fresh PKCE code verifier: 64 random URL-safe characters.

    Returns:
        The verifier (keep it secret until the code is exchanged).
    """
    return secrets.token_urlsafe(48)


def challenge_for(verifier: str) -> str:
    """The S256 code challenge of ``verifier``: unpadded base64url of its SHA-256.

    Args:
        verifier: 43 to 128 characters of ``A-Z a-z 0-9 - . _ ~``.

    Returns:
        The challenge.

    Raises:
        ThalovantRuntimeError: ``verifier`` is not a valid RFC 7636 verifier.
    """
    if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
        raise ThalovantRuntimeError("a PKCE verifier is 43-128 characters of A-Z a-z 0-9 -._~")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_thalovant_url(url: str) -> bool:
    """Whether ``url`` is an ``https://`` URL of ``thalovant.com`` or one of its subdomains
    (no userinfo; a look-alike such as ``thalovant.com.evil.example`` is not).

    Args:
        url: The URL.

    Returns:
        True for a Thalovant URL.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
    except (AttributeError, TypeError, ValueError):  # not text, or not a URL
        return False
    if parts.scheme.lower() != "https" or "@" in parts.netloc:
        return False
    return host == "thalovant.com" or host.endswith(".thalovant.com")


def _same_target(redirect: str, expected: str) -> bool:
    got, want = urlsplit(redirect), urlsplit(expected)
    return (got.scheme.lower(), got.netloc.lower(), got.path or "/") == (
        want.scheme.lower(),
        want.netloc.lower(),
        want.path or "/",
    )


@dataclass(frozen=True)
class NativeSignIn:
    """One native sign-in in progress: open :attr:`authorization_url` in the browser, then
    give the redirect to :meth:`code_from`. ``repr()`` hides the verifier."""

    authorization_url: str
    state: str
    verifier: str = field(repr=False)
    redirect_uri: str

    def code_from(self, redirect: str) -> str | None:
        """The authorization code in ``redirect``.

        Args:
            redirect: The URL the dashboard redirected to.

        Returns:
            The code; None when ``redirect`` is not this sign-in's redirect URI or has no code.

        Raises:
            ThalovantAuthError: The redirect's ``state`` is not this sign-in's (a forged or
                stale redirect), or it reports an error (e.g. ``access_denied``).
        """
        if not isinstance(redirect, str) or len(redirect) > _MAX_REDIRECT:
            return None
        try:
            if not _same_target(redirect, self.redirect_uri):
                return None
            query = parse_qs(urlsplit(redirect).query, max_num_fields=32)
        except ValueError:
            return None
        state = (query.get("state") or [""])[0]
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            raise ThalovantAuthError("the sign-in redirect's state does not match this sign-in")
        error = (query.get("error") or [""])[0]
        if error:
            raise ThalovantAuthError(f"sign-in was not completed: {error[:80]}", code=error[:80])
        code = (query.get("code") or [""])[0]
        return code or None


def begin_native_sign_in(
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...] | list[str] | None = None,
    dashboard_url: str = DEFAULT_DASHBOARD_URL,
) -> NativeSignIn:
    """Start a native sign-in: a new verifier, a new state and the authorize URL.

    Args:
        client_id: The registered app's client id.
        redirect_uri: Where the dashboard sends the browser back (the app's URL scheme or a
            loopback URL).
        scopes: The scopes asked for (default :data:`DEFAULT_NATIVE_SCOPES`).
        dashboard_url: The dashboard: an ``https://`` URL (``http://`` only on loopback).

    Returns:
        The sign-in.

    Raises:
        ThalovantRuntimeError: A blank ``client_id`` or ``redirect_uri``, or a dashboard URL
            that is neither HTTPS nor loopback.
    """
    for name, value in (("client_id", client_id), ("redirect_uri", redirect_uri)):
        if not isinstance(value, str) or not value.strip():
            raise ThalovantRuntimeError(f"begin_native_sign_in: {name} must be a non-empty string")
    base = urlsplit(dashboard_url)
    loopback = (base.hostname or "") in ("localhost", "127.0.0.1", "::1")
    if base.scheme != "https" and not (base.scheme == "http" and loopback):
        raise ThalovantRuntimeError("begin_native_sign_in: the dashboard URL must be https://")
    wanted: Iterable[str] = DEFAULT_NATIVE_SCOPES if scopes is None else scopes
    verifier, state = new_verifier(), secrets.token_urlsafe(24)
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "code_challenge": challenge_for(verifier),
            "code_challenge_method": "S256",
            "scope": " ".join(str(s) for s in wanted),
            "state": state,
        }
    )
    url = f"{dashboard_url.rstrip('/')}/authorize?{query}"
    return NativeSignIn(url, state, verifier, redirect_uri)
