"""``thalovant health``, ``doctor``, ``ask`` and ``intents`` as subprocesses against
HiveMind-core 5.x (the interop peer), over WSS, HTTPS and MQTT."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import cli_env, run_cli_sync, write_identity
from thalovant.testing import HubTLS

from .peer import PeerHub

pytestmark = pytest.mark.interop


@pytest.fixture(params=["wss", "https", "mqtt"])
def cli_protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_health_doctor_ask(
    peer: PeerHub, hub_tls: HubTLS, tmp_path: Path, cli_protocol: str
) -> None:
    env = cli_env(tmp_path, hub_tls.ca_file)
    path = write_identity(tmp_path / "peer.identity.json", peer.identity(peer.take()))
    base = ["-i", str(path), "--protocol", cli_protocol]
    health = run_cli_sync([*base, "health"], env)
    assert health.code == 0, health.out + health.err
    assert health.out.splitlines()[0] == "ok"
    doctor = run_cli_sync([*base, "doctor", "--json", "--timeout", "20"], env)
    assert doctor.code == 0, doctor.out + doctor.err
    report = doctor.json()
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["handshake"]["facts"]["pattern"] == "KKpsk0"  # health pinned the hub key
    assert checks["round_trip"]["facts"]["reply"] == "you said hello, turn 1"
    ask = run_cli_sync([*base, "ask", "hello there", "--timeout", "20"], env)
    assert (ask.code, ask.out.strip()) == (0, "you said hello there, turn 1"), ask.err
    as_json = run_cli_sync([*base, "--json", "ask", "again", "--timeout", "20"], env)
    assert as_json.json()["text"] == "you said again, turn 1"


def test_failures_against_hivemind(peer: PeerHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    env = cli_env(tmp_path, hub_tls.ca_file)
    bad = write_identity(
        tmp_path / "bad.json", peer.identity(peer.take(), password="not-the-password-at-all")
    )
    doctor = run_cli_sync(["-i", str(bad), "doctor", "--json"], env)
    assert doctor.code == 1
    report = doctor.json()
    assert report["failed"] == "handshake", report
    failed = next(c for c in report["checks"] if c["name"] == "handshake")
    assert "check the password" in failed["hint"]
    ask = run_cli_sync(["-i", str(bad), "ask", "hello"], env)
    assert ask.code == 1
    assert ask.err.startswith("thalovant: ")
    # HiveMind-core forwards intent queries to the OVOS bus only when the client may send
    # them; this client may send utterances only, so the hub denies every inventory query.
    good = write_identity(tmp_path / "good.json", peer.identity(peer.take()))
    intents = run_cli_sync(["-i", str(good), "intents", "--timeout", "10"], env)
    assert intents.code == 1
    assert intents.err.startswith("thalovant: Hub policy denied"), intents.err
