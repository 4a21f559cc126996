"""OpenTelemetry spans and metrics for connect, handshake, ask and control-plane calls.

Depends on ``opentelemetry-api`` only (``pip install 'thalovant[otel]'``); the application
brings the SDK and exporters. Nothing happens until it sets a tracer or meter provider:
without the API installed each hook is one module-level check, and with it installed but
unconfigured one identity check of the global providers (``benchmarks/bench_telemetry.py``).

Spans (all ``SpanKind.CLIENT``, tracer ``thalovant``):

- ``thalovant.connect``: one dial, carrier opening to the encrypted HELLO; its child
  ``thalovant.handshake`` covers the Noise handshake. Dials run in the client's connection
  task, so they are traces of their own, not children of the ask that caused them.
- ``thalovant.ask``: one ``ask``, from the call until its reply completed (or failed), a
  child of the caller's current span.
- ``thalovant.control <METHOD>``: one control-plane HTTP request.

Attributes: ``thalovant.protocol``, ``thalovant.pattern`` (``XXpsk2``/``KKpsk0``),
``thalovant.request_id``, ``thalovant.session_id``, ``thalovant.outcome`` (``ok``,
``timeout``, ``refused``, ``connection_error``, ``error``, ``cancelled``) and ``error.type``
(the exception class) on failures; control calls add ``http.request.method``,
``url.template`` (the path, ids replaced by ``{id}``) and ``http.response.status_code`` when
the API answered with an error. Error texts are
never recorded (they may name hosts or ids; secrets are never in them, but spans travel far).

The ask copies the current trace id (32 hex digits) into its request context's ``trace_id``
unless the caller set one, so a hub's skills and logs see the service's trace.

Metrics (meter ``thalovant``): ``thalovant.ask.duration`` (histogram, s; protocol, outcome),
``thalovant.ask.in_flight`` (up-down counter; protocol), ``thalovant.link.redials`` (counter;
protocol), ``thalovant.events.dropped`` (counter; subscription).
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

from thalovant.errors import (
    ThalovantAPIError,
    ThalovantConnectionError,
    ThalovantHubRefusedError,
    ThalovantPolicyDeniedError,
    ThalovantTimeoutError,
)
from thalovant.telemetry.logs import _SCOPE

_trace: Any
_metrics: Any
_context: Any
_globals: Any
try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the otel extra is not installed
    _trace = _metrics = _context = None
try:  # where the API keeps the global providers: two attribute reads instead of two calls
    from opentelemetry.metrics import _internal as _globals
except ImportError:  # pragma: no cover - the otel extra is not installed
    _globals = None
_PROVIDER_ENV = ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER")
#: The fast check reads the API's globals; it needs them, and no provider named by the
#: environment (``get_*_provider`` loads those on first use).
_FAST = (
    _trace is not None
    and hasattr(_trace, "_TRACER_PROVIDER")
    and hasattr(_globals, "_METER_PROVIDER")
    and not any(name in os.environ for name in _PROVIDER_ENV)
)

__all__ = [
    "INSTRUMENTATION_NAME",
    "ConnectionLike",
    "carry_context",
    "current_trace_id",
    "note_dropped_event",
    "note_redial",
    "outcome_of",
    "traced_ask",
    "traced_control_call",
    "traced_dial",
    "tracing_active",
    "url_template",
]

#: The tracer and meter name.
INSTRUMENTATION_NAME = "thalovant"

_R = TypeVar("_R")
_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])


class ConnectionLike(Protocol):
    """What the hooks read of a connection record (``thalovant.link.telemetry``)."""

    protocol: str
    pattern: str | None
    phase: str
    handshake_ms: float | None


class _Instruments(NamedTuple):
    tracer: Any
    ask_duration: Any
    in_flight: Any
    redials: Any
    dropped: Any


_OFF = (object(), object(), None)
_cache: tuple[object, object, _Instruments | None] = _OFF


def _quiet_providers() -> tuple[type, ...]:
    kinds: list[type] = [_trace.ProxyTracerProvider, _trace.NoOpTracerProvider]
    kinds.append(_metrics.NoOpMeterProvider)
    try:
        from opentelemetry.metrics._internal import _ProxyMeterProvider

        kinds.append(_ProxyMeterProvider)
    except ImportError:  # pragma: no cover - another opentelemetry-api layout
        pass
    return tuple(kinds)


def _active() -> _Instruments | None:
    """The instruments, or None when no provider is configured (the hot-path check)."""
    if _trace is None:
        return None
    if _FAST and _trace._TRACER_PROVIDER is None and _globals._METER_PROVIDER is None:
        return None
    tracers, meters = _trace.get_tracer_provider(), _metrics.get_meter_provider()
    cached = _cache
    if cached[0] is tracers and cached[1] is meters:
        return cached[2]
    return _refresh(tracers, meters)


def _refresh(tracers: Any, meters: Any) -> _Instruments | None:
    global _cache
    quiet = _quiet_providers()
    tracer = None if isinstance(tracers, quiet) else tracers.get_tracer(INSTRUMENTATION_NAME)
    found: _Instruments | None = None
    if isinstance(meters, quiet):
        if tracer is not None:
            found = _Instruments(tracer, None, None, None, None)
    else:
        meter = meters.get_meter(INSTRUMENTATION_NAME)
        found = _Instruments(
            tracer,
            meter.create_histogram(
                "thalovant.ask.duration", unit="s", description="Duration of asks"
            ),
            meter.create_up_down_counter(
                "thalovant.ask.in_flight", unit="{ask}", description="Asks awaiting their reply"
            ),
            meter.create_counter(
                "thalovant.link.redials", unit="{dial}", description="Redials after a drop"
            ),
            meter.create_counter(
                "thalovant.events.dropped",
                unit="{event}",
                description="Events a slow subscriber lost",
            ),
        )
    _cache = (tracers, meters, found)
    return found


def tracing_active() -> bool:
    """Whether a tracer or meter provider is configured (the hooks do something).

    Returns:
        True when spans or metrics are being recorded.
    """
    return _active() is not None


def current_trace_id() -> str | None:
    """The trace id of the current OpenTelemetry span.

    Returns:
        32 lower-case hex digits, or None without ``opentelemetry-api`` or a valid span.
    """
    if _trace is None:
        return None
    ctx = _trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def outcome_of(exc: BaseException | None) -> str:
    """The ``thalovant.outcome`` attribute of a call that raised ``exc``.

    Args:
        exc: What it raised, or None.

    Returns:
        ``ok``, ``timeout``, ``refused``, ``connection_error``, ``error`` or ``cancelled``.
    """
    if exc is None:
        return "ok"
    if isinstance(exc, ThalovantTimeoutError):
        return "timeout"
    if isinstance(exc, (ThalovantHubRefusedError, ThalovantPolicyDeniedError)):
        return "refused"
    if isinstance(exc, ThalovantConnectionError):
        return "connection_error"
    if isinstance(exc, Exception):
        return "error"
    return "cancelled"


def _end(
    span: Any, exc: BaseException | None, attrs: Mapping[str, Any], end_time: int | None = None
) -> None:
    if span is None:
        return
    span.set_attribute("thalovant.outcome", outcome_of(exc))
    for key, value in attrs.items():
        if value is not None:
            span.set_attribute(key, value)
    if exc is not None:
        span.set_attribute("error.type", type(exc).__name__)
        if isinstance(exc, Exception):
            span.set_status(_trace.Status(_trace.StatusCode.ERROR, type(exc).__name__))
    span.end(end_time=end_time)


# ----------------------------------------------------------------------------------- ask


def _with_trace_id(context: Mapping[str, Any] | None, span: Any) -> Mapping[str, Any] | None:
    if context is not None and context.get("trace_id"):
        return context
    trace_id = current_trace_id() if span is None else None
    if span is not None:
        ctx = span.get_span_context()
        trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
    if trace_id is None:
        return context
    return {**(context or {}), "trace_id": trace_id}


def traced_ask(
    connection: Callable[[Any], ConnectionLike],
    settle_request_id: Callable[[str | None, Mapping[str, Any] | None], str],
) -> Callable[[_F], _F]:
    """Decorate ``Asker.ask``: log scope, span, metrics and the trace id in the context.

    The request id is settled before the call (the caller's ``request_id=``, else the
    context's, else a new one), so the span and the log records name the id on the wire.

    Args:
        connection: Returns the asker's connection record.
        settle_request_id: The client's rule for the id a request is sent with, given the
            caller's ``request_id`` and ``context``.

    Returns:
        The decorator.
    """

    def decorate(ask: _F) -> _F:
        @functools.wraps(ask)
        async def observed(asker: Any, utterance: str, **kwargs: Any) -> Any:
            conn = connection(asker)
            rid = kwargs["request_id"]
            if rid is None:
                rid = kwargs["request_id"] = settle_request_id(None, kwargs["context"])
            token = _SCOPE.set((rid, kwargs["session_id"], conn.protocol))
            try:
                found = _active()
                if found is None:
                    return await ask(asker, utterance, **kwargs)
                return await _observed_ask(found, ask, conn, asker, utterance, rid, kwargs)
            finally:
                _SCOPE.reset(token)

        return observed  # type: ignore[return-value]

    return decorate


async def _observed_ask(
    found: _Instruments,
    ask: Callable[..., Awaitable[_R]],
    conn: ConnectionLike,
    asker: Any,
    utterance: str,
    rid: str,
    kwargs: dict[str, Any],
) -> _R:
    base = {"thalovant.protocol": conn.protocol}
    span = None
    if found.tracer is not None:
        span = found.tracer.start_span(
            "thalovant.ask",
            kind=_trace.SpanKind.CLIENT,
            attributes={**base, "thalovant.request_id": rid},
        )
    kwargs["context"] = _with_trace_id(kwargs["context"], span)
    if found.in_flight is not None:
        found.in_flight.add(1, base)
    started = time.perf_counter()
    failure: BaseException | None = None
    reply: Any = None
    try:
        if span is None:
            reply = result = await ask(asker, utterance, **kwargs)
        else:
            with _trace.use_span(span, record_exception=False, set_status_on_exception=False):
                reply = result = await ask(asker, utterance, **kwargs)
        return result
    except BaseException as exc:
        failure = exc
        raise
    finally:
        if found.in_flight is not None:
            found.in_flight.add(-1, base)
            found.ask_duration.record(
                time.perf_counter() - started, {**base, "thalovant.outcome": outcome_of(failure)}
            )
        session_id = getattr(reply, "session_id", None) or kwargs.get("session_id")
        attrs = {"thalovant.pattern": conn.pattern, "thalovant.session_id": session_id}
        _end(span, failure, attrs)


# ---------------------------------------------------------------------------------- dial


def traced_dial(dial: _F) -> _F:
    """Decorate ``dial(settings, telemetry, budget)``: connect and handshake spans, and the
    connection task's log scope (its protocol, then its connection session id).

    Args:
        dial: The dial coroutine function.

    Returns:
        The decorated function.
    """

    @functools.wraps(dial)
    async def observed(settings: Any, telemetry: ConnectionLike, *args: Any) -> Any:
        _SCOPE.set((None, None, telemetry.protocol))  # this task is the connection's
        found = _active()
        if found is None or found.tracer is None:
            link = await dial(settings, telemetry, *args)
        else:
            link = await _observed_dial(found.tracer, dial, settings, telemetry, args)
        _SCOPE.set((None, getattr(link, "session_id", None), telemetry.protocol))
        return link

    return observed  # type: ignore[return-value]


async def _observed_dial(
    tracer: Any, dial: Callable[..., Awaitable[_R]], settings: Any, conn: ConnectionLike, args: Any
) -> _R:
    span = tracer.start_span(
        "thalovant.connect",
        kind=_trace.SpanKind.CLIENT,
        attributes={"thalovant.protocol": conn.protocol},
    )
    failure: BaseException | None = None
    link: Any = None
    try:
        with _trace.use_span(span, record_exception=False, set_status_on_exception=False):
            link = result = await dial(settings, conn, *args)
        return result
    except BaseException as exc:
        failure = exc
        raise
    finally:
        now = time.time_ns()
        attrs: dict[str, Any] = {
            "thalovant.protocol": conn.protocol,
            "thalovant.pattern": conn.pattern,
        }
        if failure is None and conn.handshake_ms is not None:
            start = now - int(conn.handshake_ms * 1e6)
            _handshake_span(tracer, span, start, now, None, attrs)
        elif failure is not None and conn.phase == "handshake":
            start = getattr(span, "start_time", None) or now
            _handshake_span(tracer, span, start, now, failure, attrs)
        attrs["thalovant.session_id"] = getattr(link, "session_id", None)
        _end(span, failure, attrs, now)


def _handshake_span(
    tracer: Any,
    parent: Any,
    start: int,
    end: int,
    failure: BaseException | None,
    attrs: Mapping[str, Any],
) -> None:
    child = tracer.start_span(
        "thalovant.handshake",
        context=_trace.set_span_in_context(parent),
        kind=_trace.SpanKind.CLIENT,
        start_time=start,
    )
    _end(child, failure, attrs, end)


# ------------------------------------------------------------------------- control plane


_WORD = re.compile(r"^[a-z][a-z-]*$|^v\d+$")


def url_template(target: str) -> str:
    """The path of a control-plane URL with its ids replaced by ``{id}``: ids stay out of
    spans (a span is no place for resource or token ids) and the value has few variants.

    Args:
        target: A path (``/v1/clients/abc``) or an absolute URL.

    Returns:
        E.g. ``/v1/clients/{id}``.
    """
    path = target.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    parts = [p if not p or _WORD.match(p) else "{id}" for p in path.split("/")]
    return "/".join(parts)


def traced_control_call(call: _F) -> _F:
    """Decorate ``ControlHTTP._call(self, method, target, ...)`` with a span.

    Args:
        call: The request coroutine function.

    Returns:
        The decorated function.
    """

    @functools.wraps(call)
    async def observed(http: Any, method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        found = _active()
        if found is None or found.tracer is None:
            return await call(http, method, target, *args, **kwargs)
        span = found.tracer.start_span(
            f"thalovant.control {method}",
            kind=_trace.SpanKind.CLIENT,
            attributes={"http.request.method": method, "url.template": url_template(target)},
        )
        failure: BaseException | None = None
        try:
            with _trace.use_span(span, record_exception=False, set_status_on_exception=False):
                return await call(http, method, target, *args, **kwargs)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            status = failure.status_code if isinstance(failure, ThalovantAPIError) else None
            _end(span, failure, {"http.response.status_code": status})

    return observed  # type: ignore[return-value]


# ------------------------------------------------------------------------- thread hops


def carry_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, run in the caller's OpenTelemetry context: for the blocking facade, whose
    calls run on the client's own event loop thread (contextvars do not cross threads).

    Args:
        fn: The function the loop thread will call (its awaitable result is awaited).

    Returns:
        ``fn`` itself when no provider is configured, else a coroutine function that
        attaches the caller's context around it.
    """
    if _active() is None:
        return fn
    caller = _context.get_current()

    @functools.wraps(fn)
    async def in_callers_context(*args: Any, **kwargs: Any) -> Any:
        token = _context.attach(caller)
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result
        finally:
            _context.detach(token)

    return in_callers_context


# ------------------------------------------------------------------------------ counters


def note_redial(protocol: str) -> None:
    """Count one redial after a dropped link.

    Args:
        protocol: The link's protocol.
    """
    found = _active()
    if found is not None and found.redials is not None:
        found.redials.add(1, {"thalovant.protocol": protocol})


def note_dropped_event(subscription: str) -> None:
    """Count one event a slow subscriber lost.

    Args:
        subscription: What it listens to (an event name, ``hive:<kind>`` or ``bin``).
    """
    found = _active()
    if found is not None and found.dropped is not None:
        found.dropped.add(1, {"thalovant.subscription": subscription})
