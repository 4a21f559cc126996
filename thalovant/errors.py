"""The exception tree. Every error the SDK raises is a :class:`ThalovantError`.

::

    ThalovantError
    ├── ThalovantIdentityError                  identity / config / env problems
    ├── ThalovantConnectionError                cannot reach, open, authenticate or keep a link
    │   ├── ThalovantProtocolError              malformed frame, bad handshake, decrypt failure
    │   ├── ThalovantHubRefusedError            credentials refused (close code, 401/403, password)
    │   │   └── ThalovantClientKeyRejectedError the hub pinned another client key
    │   ├── ThalovantHubKeyChangedError         the hub's static key differs from the pin
    │   ├── ThalovantConnectTimeoutError        carrier, handshake or caller deadline (also a
    │   │                                       ThalovantTimeoutError)
    │   ├── ThalovantAdmissionFailedError       a new client was not admitted
    │   ├── ThalovantAdmissionTimeoutError      not admitted in time (also a ThalovantTimeoutError)
    │   └── ThalovantAPIUnreachableError        the control plane did not answer (also a
    │                                           ThalovantAPIError)
    ├── ThalovantTimeoutError                   a deadline passed (also the builtin TimeoutError)
    │   ├── ThalovantConnectTimeoutError        (see above)
    │   └── ThalovantAdmissionTimeoutError      (see above)
    ├── ThalovantRuntimeError                   hub-reported failure, misuse, overflow
    │   ├── ThalovantPolicyDeniedError          ``hive.policy.denied`` (quota: ThalovantQuota)
    │   └── ThalovantUnansweredError            no skill matched
    ├── ThalovantUnsupportedProtocolError       no usable endpoint/credentials for a protocol
    └── ThalovantAPIError                       control-plane failure
        ├── ThalovantAuthError                  401, 423, 403 "Insufficient scopes"
        ├── ThalovantPlanError                  402, 403 ``plan_limit``
        ├── ThalovantAlreadyLinkedError         409 ``home_assistant_already_linked``
        ├── ThalovantUnsupportedConnectionTypeError  unknown ``connection_type``
        ├── ThalovantDeviceLoginPending         device login not approved yet
        ├── ThalovantDeviceLoginExpired         device code expired
        ├── ThalovantDeviceLoginDenied          device login denied
        └── ThalovantAPIUnreachableError        (see above)

:class:`ThalovantQuota` is not an exception: it is the quota detail of a policy denial.

Every class above is public and is what a caller of the public API (``connect``, ``ask``,
``send_*``, ``listen``, the control plane) catches. The layers below keep internal signals
of their own, subclasses of these that never reach a caller as themselves: the carriers'
``CarrierClosed``, the link's ``LinkDown`` and refusal signal, the protocol's ``NoiseError``,
``NoiseDecryptError`` and ``MalformedMessageError`` (docs/architecture.md). They are exported
from no package face; the link and the client runtime turn each into its public class.

Messages are scrubbed on construction: URL queries (which carry the access key on the data
plane) and URL userinfo never reach ``str(error)`` (docs/protocol.md §8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from thalovant.redact import scrub_text

__all__ = [
    "ThalovantAPIError",
    "ThalovantAPIUnreachableError",
    "ThalovantAdmissionFailedError",
    "ThalovantAdmissionTimeoutError",
    "ThalovantAlreadyLinkedError",
    "ThalovantAuthError",
    "ThalovantClientKeyRejectedError",
    "ThalovantConnectTimeoutError",
    "ThalovantConnectionError",
    "ThalovantDeviceLoginDenied",
    "ThalovantDeviceLoginExpired",
    "ThalovantDeviceLoginPending",
    "ThalovantError",
    "ThalovantHubKeyChangedError",
    "ThalovantHubRefusedError",
    "ThalovantIdentityError",
    "ThalovantPlanError",
    "ThalovantPolicyDeniedError",
    "ThalovantProtocolError",
    "ThalovantQuota",
    "ThalovantRuntimeError",
    "ThalovantTimeoutError",
    "ThalovantUnansweredError",
    "ThalovantUnsupportedConnectionTypeError",
    "ThalovantUnsupportedProtocolError",
]

_MAX_SAFE_INT = 2**53 - 1


class ThalovantError(Exception):
    """Base class of every error raised by the SDK.

    Args:
        message: What happened; URL queries and userinfo are scrubbed from it.
        *args: Further exception arguments, kept as given.
    """

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(scrub_text(str(message)), *args)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ThalovantIdentityError(ThalovantError):
    """An identity, config file or environment is missing a field or is invalid."""


class ThalovantConnectionError(ThalovantError):
    """The hub could not be reached, the link could not be opened, or it was lost."""


class ThalovantProtocolError(ThalovantConnectionError):
    """The peer sent something the HiveMind v3 protocol does not allow; the link is dead."""


class ThalovantHubRefusedError(ThalovantConnectionError):
    """The hub refused this client's credentials (access key or password)."""


class ThalovantClientKeyRejectedError(ThalovantHubRefusedError):
    """The hub has pinned a different client static key for this access key.

    Args:
        message: What happened.
        key_folder: The folder holding this program's client key.
        other_key_folder: Another folder that may hold the original key, if one is known.
    """

    def __init__(
        self,
        message: str = "",
        *args: object,
        key_folder: str | None = None,
        other_key_folder: str | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.key_folder = key_folder
        self.other_key_folder = other_key_folder


class ThalovantHubKeyChangedError(ThalovantConnectionError):
    """The hub's static key differs from the pinned one. Pins are never replaced silently.

    Args:
        message: What happened.
        pinned_key: The pinned 32-byte public key, if known.
        presented_key: The 32-byte public key the hub presented, if known.
    """

    def __init__(
        self,
        message: str = "",
        *,
        pinned_key: bytes | None = None,
        presented_key: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.pinned_key = pinned_key
        self.presented_key = presented_key


class ThalovantTimeoutError(ThalovantError, TimeoutError):
    """Something did not happen within its deadline."""


class ThalovantConnectTimeoutError(ThalovantConnectionError, ThalovantTimeoutError):
    """The link was not ready in time (carrier open, handshake, or the caller's deadline)."""


class ThalovantRuntimeError(ThalovantError):
    """The hub reported a failure, or the SDK was used in a way it does not support."""


class ThalovantUnsupportedProtocolError(ThalovantError):
    """The identity or hub offers no usable endpoint or credentials for the protocol."""


class ThalovantQuota:
    """Quota details of an ``intent_quota_exceeded`` policy denial (counts clamped to
    0..2**53-1; anything unusable becomes None).

    Args:
        period: The quota period (e.g. ``"day"``).
        limit: The quota.
        used: How much of it is used.
        reset_after: Seconds until it resets.
    """

    __slots__ = ("limit", "period", "reset_after", "used")

    def __init__(
        self,
        period: str | None = None,
        limit: int | None = None,
        used: int | None = None,
        reset_after: int | None = None,
    ) -> None:
        self.period = period
        self.limit = _clamp_count(limit)
        self.used = _clamp_count(used)
        self.reset_after = _clamp_count(reset_after)

    def __repr__(self) -> str:
        return (
            f"ThalovantQuota(period={self.period!r}, limit={self.limit!r}, "
            f"used={self.used!r}, reset_after={self.reset_after!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThalovantQuota):
            return NotImplemented
        return (self.period, self.limit, self.used, self.reset_after) == (
            other.period,
            other.limit,
            other.used,
            other.reset_after,
        )

    def __hash__(self) -> int:
        return hash((self.period, self.limit, self.used, self.reset_after))


def _clamp_count(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int):
        return None
    return max(0, min(value, _MAX_SAFE_INT))


class ThalovantPolicyDeniedError(ThalovantRuntimeError):
    """The hub's policy refused a message (``hive.policy.denied``, docs/protocol.md §3.5).

    Args:
        denied_type: The refused message type.
        code: The hub's reason code (e.g. ``acl_disallowed_type``, ``intent_quota_exceeded``).
        reason: The hub's reason text.
        allowed: The message types the hub allows this client.
        quota: The quota details of a quota denial.
        message: What happened (default: built from the fields above).
    """

    #: The hub's reason codes (``code``).
    ACL_DISALLOWED_TYPE = "acl_disallowed_type"
    INTENT_QUOTA_EXCEEDED = "intent_quota_exceeded"
    BACKEND_UNAVAILABLE = "backend_unavailable"

    def __init__(
        self,
        denied_type: str = "",
        *,
        code: str = "",
        reason: str = "",
        allowed: Sequence[str] = (),
        quota: ThalovantQuota | None = None,
        message: str | None = None,
    ) -> None:
        if message is None:
            message = f"Hub policy denied {denied_type or 'message'}"
            if code:
                message += f" ({code})"
            if reason:
                message += f": {reason[:200]}"
        super().__init__(message)
        self.denied_type = denied_type
        self.code = code
        self.reason = reason
        self.allowed = tuple(allowed)
        self.quota = quota

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ThalovantPolicyDeniedError:
        """Build the error from a ``hive.policy.denied`` event.

        Args:
            data: The event's ``data``.

        Returns:
            The error, its message naming the denied type, code and reason.
        """
        denied_type = _opt_str(data.get("denied_type") or data.get("msg_type")) or ""
        code = _opt_str(data.get("code")) or ""
        reason = _opt_str(data.get("reason") or data.get("error")) or ""
        nested = data.get("data") if isinstance(data.get("data"), Mapping) else data
        assert isinstance(nested, Mapping)
        raw_allowed = nested.get("allowed", data.get("allowed"))
        allowed = (
            tuple(str(a) for a in raw_allowed) if isinstance(raw_allowed, (list, tuple)) else ()
        )
        quota = None
        if code == "intent_quota_exceeded" or "period" in nested:
            quota = ThalovantQuota(
                period=_opt_str(nested.get("period")),
                limit=_clamp_count(nested.get("limit")),
                used=_clamp_count(nested.get("used")),
                reset_after=_clamp_count(nested.get("reset_after")),
            )
        return cls(denied_type, code=code, reason=reason, allowed=allowed, quota=quota)

    @classmethod
    def from_event(cls, event: Any) -> ThalovantPolicyDeniedError:
        """Build the error from a ``hive.policy.denied`` event (a ``ThalovantEvent``, or a
        raw bus message mapping).

        Args:
            event: The event.

        Returns:
            The error, its message naming the denied type, code and reason.

        Raises:
            ThalovantRuntimeError: ``event`` has no ``data`` mapping.
        """
        data = event.get("data") if isinstance(event, Mapping) else getattr(event, "data", None)
        if not isinstance(data, Mapping):
            raise ThalovantRuntimeError("a policy denial event needs a data mapping")
        return cls.from_data(data)


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


class ThalovantUnansweredError(ThalovantRuntimeError):
    """No skill on the hub matched the utterance.

    Args:
        said: The utterance that was not understood.
        message: What happened (default: names ``said``).
    """

    def __init__(self, said: str = "", *, message: str | None = None) -> None:
        if message is None:
            message = f"no skill matched {said!r}" if said else "no skill matched"
        super().__init__(message)
        self.said = said


class ThalovantAPIError(ThalovantError):
    """A control-plane request failed (docs/protocol.md §7).

    Args:
        message: What happened.
        status_code: The HTTP status.
        code: The problem's machine-readable code.
        detail: The problem's detail text.
        problem: The whole problem document.
        retry_after_seconds: How long to wait before retrying, when the API says.
    """

    def __init__(
        self,
        message: str = "",
        *args: object,
        status_code: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        problem: Mapping[str, Any] | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.problem = dict(problem) if problem is not None else None
        self.retry_after_seconds = retry_after_seconds


class ThalovantAuthError(ThalovantAPIError):
    """The control plane refused the token (401, 423, or 403 ``Insufficient scopes``)."""


class ThalovantPlanError(ThalovantAPIError):
    """The workspace's plan does not allow this (402, or 403 ``plan_limit``)."""


class ThalovantAlreadyLinkedError(ThalovantAPIError):
    """The hub already has a Home Assistant connection (409).

    Args:
        message: What happened.
        client_id: The client that holds the connection.
        **kw: The :class:`ThalovantAPIError` fields.
    """

    def __init__(
        self, message: str = "", *args: object, client_id: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, *args, **kw)
        self.client_id = client_id


class ThalovantUnsupportedConnectionTypeError(ThalovantAPIError):
    """The control plane does not support the requested ``connection_type``."""


class ThalovantDeviceLoginPending(ThalovantAPIError):
    """The device login is not approved yet; poll again after ``interval`` seconds.

    Args:
        message: What happened.
        interval: Seconds to wait before the next poll.
        **kw: The :class:`ThalovantAPIError` fields.
    """

    def __init__(self, message: str = "", *args: object, interval: float = 5.0, **kw: Any) -> None:
        super().__init__(message, *args, **kw)
        self.interval = interval


class ThalovantDeviceLoginExpired(ThalovantAPIError):
    """The device code expired before it was approved."""


class ThalovantDeviceLoginDenied(ThalovantAPIError):
    """The user denied the device login."""


class ThalovantAPIUnreachableError(ThalovantAPIError, ThalovantConnectionError):
    """The control plane did not answer (DNS, TCP, TLS, proxy, timeout)."""


class ThalovantAdmissionFailedError(ThalovantConnectionError):
    """A newly created client was not admitted by its hub.

    Args:
        message: What happened.
        error_code: The admission's error code.
        status_code: The HTTP status.
        code: The problem's machine-readable code.
        detail: The problem's detail text.
        problem: The whole problem document.
    """

    def __init__(
        self,
        message: str = "",
        *args: object,
        error_code: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        detail: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.error_code = error_code
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.problem = dict(problem) if problem is not None else None


class ThalovantAdmissionTimeoutError(ThalovantConnectionError, ThalovantTimeoutError):
    """A newly created client was not admitted before the deadline."""
