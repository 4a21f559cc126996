"""Log records carry request_id, session_id and protocol; THALOVANT_LOG switches redacted
output on (a real client against a real local hub, and the variable in a fresh interpreter)."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.link import link
from thalovant.telemetry import LOG_ENV, configure_logging
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """``configure_logging("debug")`` into a buffer, undone after the test."""
    root = logging.getLogger("thalovant")
    level = root.level
    buffer = io.StringIO()
    handler = configure_logging("debug", stream=buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


async def test_records_carry_the_ask_and_connection_extras(
    log_output: io.StringIO,
    local_hub: LocalHub,
    hub_tls: HubTLS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)
    identity = local_hub.register_client("logs")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(logging.DEBUG)
    logging.getLogger("thalovant").addHandler(keep)
    try:
        client = AsyncThalovantClient(
            identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
        )
        with anyio.fail_after(20):
            async with client:
                await client.ask("Tell me a joke", request_id="rid-log-1", session_id="s-7")
    finally:
        logging.getLogger("thalovant").removeHandler(keep)

    mine = [r for r in records if getattr(r, "request_id", None) == "rid-log-1"]
    assert mine, "records logged while the ask ran name its request id"
    assert {(r.session_id, r.protocol) for r in mine} == {("s-7", "wss")}  # type: ignore[attr-defined]
    # The connection's task (dial, handshake, reads) logs with its protocol; the caller's
    # own task closing the client at the end has no scope.
    dialing = [r for r in records if "GET /?authorization" in r.getMessage()]
    assert dialing
    assert {r.protocol for r in dialing} == {"wss"}  # type: ignore[attr-defined]
    assert all(hasattr(r, "request_id") for r in records)

    text = log_output.getvalue()
    assert "request_id=rid-log-1" in text
    assert "protocol=wss" in text
    for secret in (identity.password, identity.access_key):
        assert secret not in text
    assert "authorization=<redacted>" in text


def test_thalovant_log_switches_redacted_output_on() -> None:
    code = (
        "import logging, thalovant\n"
        "log = logging.getLogger('thalovant.example')\n"
        "log.debug('dial wss://user:pw@hub.example/?authorization=c2VjcmV0 now')\n"
        "log.info('info line')\n"
        "log.info('the password is hunter2-secret')\n"
        "logging.getLogger('other').setLevel(logging.INFO)\n"
        "logging.getLogger('other').info('not ours')\n"
    )
    for level, expect_debug in (("debug", True), ("info", False)):
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={"PATH": "/usr/bin:/bin", LOG_ENV: level, "THALOVANT_PASSWORD": "hunter2-secret"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        err = done.stderr
        assert "INFO thalovant.example [protocol=None session_id=None request_id=None]" in err
        assert ("dial wss://" in err) is expect_debug
        assert "c2VjcmV0" not in err
        assert "user:pw" not in err
        assert "not ours" not in err
        assert "the password is <redacted>" in err  # the environment's secrets too
    quiet = subprocess.run(
        [sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert "info line" not in quiet.stderr


def test_configure_logging_rejects_unknown_levels() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("loud")
