"""Structured, redacted logging for the ``thalovant`` loggers.

Every record of a ``thalovant.*`` logger carries three extras, ``request_id``,
``session_id`` and ``protocol`` (``None`` when unknown), taken from the :func:`log_scope`
active in the task that logs: an ask sets its request and session ids, a connection's task
its protocol and connection session id. They are added by a log record factory installed
once on import, so they reach any handler or formatter (``%(request_id)s`` works).

``THALOVANT_LOG=debug|info|warning|error`` (read once, when ``thalovant`` is imported) attaches
a stderr handler to the ``thalovant`` logger at that level; unset, empty or ``off`` leaves
logging to the application. Its output passes through :class:`RedactingFormatter`, so URL
queries, userinfo and ``authorization=`` values never reach it; the SDK also never puts
secrets in its messages (:mod:`thalovant.redact`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterable
from typing import IO, Any, NamedTuple

from thalovant.redact import REDACTED, scrub_text

__all__ = [
    "LOG_ENV",
    "LOG_FORMAT",
    "SECRET_ENV",
    "LogScope",
    "RedactingFormatter",
    "configure_logging",
    "configure_from_env",
    "current_log_scope",
    "log_scope",
    "reset_log_scope",
]

#: The environment variable that switches log output on.
LOG_ENV = "THALOVANT_LOG"
#: The format of the ``THALOVANT_LOG`` handler.
LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [protocol=%(protocol)s session_id=%(session_id)s "
    "request_id=%(request_id)s] %(message)s"
)
#: Environment variables whose values are redacted from the log output.
SECRET_ENV = (
    "THALOVANT_ACCESS_KEY",
    "THALOVANT_PASSWORD",
    "THALOVANT_API_TOKEN",
    "THALOVANT_ACCOUNT_PASSWORD",
    "THALOVANT_MQTT_PASSWORD",
)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS["error"] = logging.ERROR
_EXTRAS = ("request_id", "session_id", "protocol")


class LogScope(NamedTuple):
    """What the records logged in one task are about."""

    request_id: str | None = None
    session_id: str | None = None
    protocol: str | None = None


#: ``(request_id, session_id, protocol)``: a plain tuple, cheaper to make than a LogScope.
_Scope = tuple[str | None, str | None, str | None]
_EMPTY: _Scope = (None, None, None)
_SCOPE: contextvars.ContextVar[_Scope] = contextvars.ContextVar(
    "thalovant_log_scope", default=_EMPTY
)


def log_scope(
    *, request_id: str | None = None, session_id: str | None = None, protocol: str | None = None
) -> contextvars.Token[_Scope]:
    """Set the extras of the records this task (and the tasks it starts) logs from now on.

    Fields left ``None`` keep their current value.

    Args:
        request_id: The request being served.
        session_id: Its session id (or the connection's).
        protocol: ``wss``, ``https`` or ``mqtt``.

    Returns:
        A token for ``contextvars.ContextVar.reset`` (:func:`reset_log_scope`).
    """
    now = _SCOPE.get()
    return _SCOPE.set(
        (
            request_id if request_id is not None else now[0],
            session_id if session_id is not None else now[1],
            protocol if protocol is not None else now[2],
        )
    )


def reset_log_scope(token: contextvars.Token[_Scope]) -> None:
    """Restore the scope that was current before :func:`log_scope` returned ``token``."""
    _SCOPE.reset(token)


def current_log_scope() -> LogScope:
    """The scope of the current task."""
    return LogScope(*_SCOPE.get())


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "thalovant_extras", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.startswith("thalovant"):
            scope = _SCOPE.get()
            record.request_id, record.session_id, record.protocol = scope
        return record

    factory.thalovant_extras = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments, traceback) is scrubbed of URL
    queries, URL userinfo and ``authorization=`` values (:func:`thalovant.redact.scrub_text`)
    and of the known ``secrets``, and that tolerates records without the three extras.

    Args:
        fmt: The format string.
        secrets: Values replaced wherever they appear (shorter than 4 characters: ignored).
    """

    def __init__(self, fmt: str = LOG_FORMAT, secrets: Iterable[str | None] = ()) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` and scrub the text.

        Args:
            record: The record.

        Returns:
            The redacted line(s).
        """
        for name in _EXTRAS:
            if not hasattr(record, name):
                setattr(record, name, None)
        text = scrub_text(super().format(record))
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


_HANDLER_FLAG = "thalovant_log_handler"


def configure_logging(
    level: str | int = "info",
    *,
    stream: IO[str] | None = None,
    secrets: Iterable[str | None] = (),
) -> logging.Handler:
    """Send the ``thalovant`` loggers' records at ``level`` and above to ``stream``, redacted.

    Replaces the handler of an earlier call, so calling it again changes the level.

    Args:
        level: ``debug``, ``info``, ``warning``, ``error`` or a :mod:`logging` level.
        stream: Where to write (default ``sys.stderr``).
        secrets: Values to redact besides URL credentials; the secrets of the ``THALOVANT_*``
            environment (:data:`SECRET_ENV`) are always added.

    Returns:
        The handler attached to the ``thalovant`` logger.

    Raises:
        ValueError: ``level`` is not one of the names above.
    """
    if isinstance(level, str):
        if level.strip().lower() not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
        level = _LEVELS[level.strip().lower()]
    root = logging.getLogger("thalovant")
    for old in [h for h in root.handlers if getattr(h, _HANDLER_FLAG, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    known = [*secrets, *(os.environ.get(name) for name in SECRET_ENV)]
    handler.setFormatter(RedactingFormatter(LOG_FORMAT, known))
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def configure_from_env() -> logging.Handler | None:
    """Apply ``THALOVANT_LOG`` (see the module docstring); unknown values are ignored.

    Returns:
        The handler, if output was switched on.
    """
    value = os.environ.get(LOG_ENV, "").strip().lower()
    if value in _LEVELS:
        return configure_logging(value)
    return None


_install_record_factory()
