"""Observability: OpenTelemetry spans and metrics, and structured, redacted logging.

- :mod:`thalovant.telemetry.otel`: spans for connect, handshake, ask and control-plane calls,
  and the ask latency, asks in flight, redials and dropped events metrics. Active only when
  ``opentelemetry-api`` is installed (``pip install 'thalovant[otel]'``) *and* the
  application configured a tracer or meter provider; otherwise each hook costs one check.
- :mod:`thalovant.telemetry.logs`: ``request_id``, ``session_id`` and ``protocol`` on every
  ``thalovant.*`` log record, and ``THALOVANT_LOG=debug|info`` output with secrets redacted.

The package sits low in the layers (docs/architecture.md): the link, the client and the
control plane call into it; it imports only the errors and the redaction helpers.
"""

from __future__ import annotations

from thalovant.telemetry.logs import (
    LOG_ENV,
    LogScope,
    RedactingFormatter,
    configure_logging,
    log_scope,
)
from thalovant.telemetry.otel import (
    INSTRUMENTATION_NAME,
    current_trace_id,
    tracing_active,
)

__all__ = [
    "INSTRUMENTATION_NAME",
    "LOG_ENV",
    "LogScope",
    "RedactingFormatter",
    "configure_logging",
    "current_trace_id",
    "log_scope",
    "tracing_active",
]
