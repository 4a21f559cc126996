"""``thalovant doctor`` and ``doctor()``: each failure names its check and the fix."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path
from typing import Any

import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.sync.client import ThalovantClient
from thalovant.testing import HubTLS

from .conftest import CliHub, cli_env, free_port, run_cli, write_identity

pytestmark = pytest.mark.anyio

ORDER = ["identity", "endpoint", "dns", "tcp", "tls", "carrier", "handshake", "round_trip"]


async def test_doctor_passes_text_and_json(cli_hub: CliHub) -> None:
    done = await cli_hub.run("doctor")
    assert done.code == 0, done.out + done.err
    lines = done.out.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ORDER
    assert all(line.startswith("PASS") for line in lines[:-1])
    assert lines[-1] == "all checks passed"
    assert "first contact (XXpsk2)" in done.out  # a fresh key folder
    doc = (await cli_hub.run("doctor", "--json")).json()
    assert doc["ok"] is True
    assert doc["failed"] is None
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["handshake"]["facts"]["pattern"] == "KKpsk0"  # pinned by the first run
    assert checks["handshake"]["facts"]["pinned"] is True
    assert checks["tls"]["facts"]["ca_bundle"].startswith("$SSL_CERT_FILE=")
    assert checks["tls"]["facts"]["days_left"] > 0
    assert doc["identity"]["password"] == "<redacted>"
    assert cli_hub.identity.password not in done.out


def failed(doc: dict[str, Any], name: str) -> dict[str, Any]:
    assert doc["ok"] is False
    assert doc["failed"] == name, doc
    check = next(c for c in doc["checks"] if c["name"] == name)
    later = [c for c in doc["checks"] if ORDER.index(c["name"]) > ORDER.index(name)]
    assert all(c["skipped"] for c in later)
    return check


async def test_untrusted_certificate(cli_hub: CliHub) -> None:
    env = dict(cli_hub.env)
    env["SSL_CERT_FILE"] = ssl.get_default_verify_paths().openssl_cafile or "/etc/ssl/cert.pem"
    done = await run_cli(["-i", str(cli_hub.identity_file), "doctor", "--json"], env)
    assert done.code == 1
    check = failed(done.json(), "tls")
    assert "not trusted" in check["detail"]
    assert "SSL_CERT_FILE" in check["hint"]
    assert "trustme" in check["facts"]["issuer"]
    text = await run_cli(["-i", str(cli_hub.identity_file), "doctor"], env)
    assert "FAIL  tls" in text.out
    assert "fix: give the hub's CA certificate" in text.out
    assert text.out.splitlines()[-1] == "failed: tls"


async def test_expired_certificate(hub_tls: HubTLS, tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = hub_tls.ca.issue_cert(
        "127.0.0.1",
        not_before=now - datetime.timedelta(days=30),
        not_after=now - datetime.timedelta(days=2),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    async with LocalHub(tmp_path / "hub", ssl_context=context) as hub:
        path = write_identity(tmp_path / "me.json", hub.register_client("kiosk"))
        done = await run_cli(
            ["-i", str(path), "doctor", "--json"], cli_env(tmp_path, hub_tls.ca_file)
        )
    assert done.code == 1
    check = failed(done.json(), "tls")
    assert check["detail"].startswith("certificate expired on ")
    assert "renew the hub's TLS certificate" in check["hint"]
    assert check["facts"]["days_left"] < 0


async def test_wrong_port(cli_hub: CliHub) -> None:
    done = await cli_hub.run("doctor", "--json", "--port", str(free_port()))
    assert done.code == 1
    check = failed(done.json(), "tcp")
    assert "is the hub running" in check["hint"]


async def test_wrong_password(cli_hub: CliHub) -> None:
    wrong = write_identity(
        cli_hub.tmp / "wrong.json", cli_hub.identity, password="wrong-password-1"
    )
    done = await cli_hub.run("-i", str(wrong), "doctor", "--json")
    assert done.code == 1
    check = failed(done.json(), "handshake")
    assert "check the password" in check["hint"]
    assert "wrong-password-1" not in done.out


async def test_unknown_access_key_and_unsupported_protocol(cli_hub: CliHub) -> None:
    stranger = write_identity(cli_hub.tmp / "who.json", cli_hub.identity, access_key="nobody-here")
    done = await cli_hub.run("-i", str(stranger), "doctor", "--json")
    assert done.code == 1
    check = failed(done.json(), "carrier")  # HTTP 403 at the WebSocket upgrade
    assert "access_key" in check["hint"]
    no_mqtt = write_identity(cli_hub.tmp / "nomqtt.json", cli_hub.identity, mqtt=None)
    done = await cli_hub.run("-i", str(no_mqtt), "--protocol", "mqtt", "doctor", "--json")
    assert done.code == 1
    check = failed(done.json(), "endpoint")
    assert "wss" in check["hint"]


async def test_doctor_api_async_and_sync(cli_hub: CliHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    client = AsyncThalovantClient(
        cli_hub.identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
    )
    try:
        report = await client.doctor(round_trip=False)
        assert report.ok, report.format()
        assert client.is_connected  # the doctor connected it
        assert report.check("round_trip").skipped  # type: ignore[union-attr]
        again = await client.doctor()
        assert again.check("round_trip").detail.endswith(
            repr("Hello! I am your local Thalovant hub.")
        )  # type: ignore[union-attr]
        assert again.as_dict()["ok"] is True
    finally:
        await client.close()
    import anyio

    def blocking() -> bool:
        with ThalovantClient(
            cli_hub.identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
        ) as sync_client:
            return sync_client.doctor().ok

    assert await anyio.to_thread.run_sync(blocking)


async def test_doctor_names_a_broken_identity(cli_hub: CliHub) -> None:
    broken = cli_hub.tmp / "broken.json"
    broken.write_text('{"access_key": "a", "password": "", "site_id": "s", "default_master": "x"}')
    broken.chmod(0o600)
    done = await cli_hub.run("-i", str(broken), "doctor", "--json")
    assert done.code == 1
    check = failed(done.json(), "identity")
    assert "password" in check["detail"]
    assert check["hint"]


@pytest.mark.parametrize("protocol", ["https", "mqtt"])
async def test_doctor_over_other_carriers(cli_hub: CliHub, protocol: str) -> None:
    done = await cli_hub.run("--protocol", protocol, "doctor", "--json")
    assert done.code == 0, done.out + done.err
    checks = {c["name"]: c for c in done.json()["checks"]}
    assert checks["endpoint"]["detail"].endswith(f"({protocol})")
    assert checks["tls"]["facts"]["days_left"] > 0  # the embedded broker serves TLS too


async def test_doctor_on_a_plain_ws_hub(tmp_path: Path) -> None:
    async with LocalHub(tmp_path / "hub", https_port=None, mqtt_broker=None) as hub:
        path = write_identity(tmp_path / "me.json", hub.register_client("kiosk"))
        done = await run_cli(["-i", str(path), "doctor", "--json"], cli_env(tmp_path, None))
    assert done.code == 0, done.out + done.err
    tls = next(c for c in done.json()["checks"] if c["name"] == "tls")
    assert tls["detail"].startswith("not used (ws://")


async def test_unknown_host_fails_dns(cli_hub: CliHub) -> None:
    done = await cli_hub.run("doctor", "--json", "--host", "wss://no-such-host.invalid:5679")
    assert done.code == 1
    check = failed(done.json(), "dns")
    assert "no-such-host.invalid" in check["detail"]
    assert "default_master" in check["hint"]


async def test_hub_key_changed_and_client_key_rejected(cli_hub: CliHub) -> None:
    first = await cli_hub.run("doctor", "--no-round-trip")
    assert first.code == 0, first.out
    other = cli_hub.tmp / "elsewhere"
    other.mkdir()
    copy = write_identity(other / "kiosk.json", cli_hub.identity)  # its own key folder
    rejected = await run_cli(["-i", str(copy), "doctor", "--json"], cli_hub.env)
    check = failed(rejected.json(), "handshake")
    assert "pinned another client key" in check["hint"]
    cli_hub.hub.set_static_key()  # the hub's Noise key changes
    changed = await cli_hub.run("doctor", "--json")
    check = failed(changed.json(), "handshake")
    assert "remove that pin" in check["hint"]
    assert check["facts"]["key_folder"].endswith("hivemind")
