"""What the local control plane's password-less sign-ins keep: pending device logins (by
hashed device code and by user code) and native-app authorization codes (hashed), bounded
and short-lived (:mod:`thalovant.hub.control.device` serves them)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from thalovant.hub.control.problems import ApiProblem

__all__ = ["DeviceLogins", "Grant"]

_KEEP = 256
_USER_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels, no look-alikes


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Grant:
    """One pending sign-in: what it may do, until when, and its state."""

    scopes: tuple[str, ...]
    expires: float
    client_name: str | None = None
    client_id: str | None = None
    user_code: str = ""
    state: str = "pending"  # pending | approved | denied | used
    binding: dict[str, str] = field(default_factory=dict)


class DeviceLogins:
    """Pending device logins (by hashed device code and by user code) and native codes."""

    def __init__(self) -> None:
        self._devices: OrderedDict[str, Grant] = OrderedDict()
        self._users: dict[str, str] = {}
        self._codes: OrderedDict[str, Grant] = OrderedDict()
        self._lock = threading.Lock()

    def begin(self, grant: Grant) -> tuple[str, str]:
        device_code = secrets.token_urlsafe(32)
        user = "".join(secrets.choice(_USER_ALPHABET) for _ in range(8))
        grant.user_code = f"{user[:4]}-{user[4:]}"
        with self._lock:
            self._devices[_digest(device_code)] = grant
            self._users[grant.user_code] = _digest(device_code)
            while len(self._devices) > _KEEP:
                _, old = self._devices.popitem(last=False)
                self._users.pop(old.user_code, None)
        return device_code, grant.user_code

    def by_user_code(self, user_code: str) -> Grant:
        with self._lock:
            digest = self._users.get(user_code.strip().upper())
            grant = self._devices.get(digest) if digest else None
        if grant is None or grant.expires <= time.time() or grant.state == "used":
            raise ApiProblem(404, "device_code_not_found", "No pending device sign-in")
        return grant

    def by_device_code(self, device_code: str) -> Grant | None:
        with self._lock:
            return self._devices.get(_digest(device_code))

    def mint_code(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[_digest(code)] = grant
            while len(self._codes) > _KEEP:
                self._codes.popitem(last=False)
        return code

    def redeem_code(self, code: str) -> Grant | None:
        with self._lock:
            return self._codes.pop(_digest(code), None)
