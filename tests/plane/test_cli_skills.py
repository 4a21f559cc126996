"""``thalovant skills`` end to end: the CLI as a subprocess against the local control plane
over real HTTPS, and the hub's answers changing with it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import ThalovantUnansweredError
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.testing import HubTLS

from .conftest import JOKE, JOKE_SKILL

pytestmark = pytest.mark.anyio

SCRIPT = Path(sys.executable).with_name("thalovant")


class Cli:
    """Runs ``thalovant skills ...`` with the control plane's URL, a token and the test CA."""

    def __init__(self, control: LocalControlPlane, token: str, tls: HubTLS) -> None:
        self.env = {
            **os.environ,
            "THALOVANT_API_URL": control.api_url,
            "THALOVANT_API_TOKEN": token,
            "SSL_CERT_FILE": str(tls.ca_file),
        }

    async def __call__(
        self,
        *args: str,
        token: bool = True,
        env_url: bool = True,
        before: tuple[str, ...] = (),
    ) -> tuple[int, str, str]:
        env = dict(self.env)
        if not token:
            env.pop("THALOVANT_API_TOKEN")
        if not env_url:
            env.pop("THALOVANT_API_URL")
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [str(SCRIPT), *before, "skills", *args], env=env, check=False
            )
        return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_remove_and_add_the_joke_skill_over_the_cli(
    control: LocalControlPlane,
    api: AsyncThalovantControlPlane,
    asker: AsyncThalovantClient,
    hub_tls: HubTLS,
) -> None:
    assert api.access_token is not None
    cli = Cli(control, api.access_token, hub_tls)
    assert (await asker.ask(JOKE)).text in DEMO_JOKES

    code, out, err = await cli("list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert JOKE_SKILL in {s["skill"] for s in listed["data"]}

    code, out, err = await cli("remove", JOKE_SKILL, "--wait", "--timeout", "30")
    assert (code, out.strip()) == (0, f"Removed {JOKE_SKILL}."), err
    assert err == ""  # progress is shown on a terminal only
    with pytest.raises(ThalovantUnansweredError):
        await asker.ask(JOKE)

    code, out, err = await cli("add", JOKE_SKILL, "--version", "1.0.0", "--wait")
    assert (code, out.strip()) == (0, f"Installed {JOKE_SKILL} 1.0.0."), err
    assert (await asker.ask(JOKE)).text in DEMO_JOKES

    code, out, _ = await cli("list")
    header, *rows = out.splitlines()
    assert header.split() == ["SKILL", "VERSION", "STATE", "LATEST"]
    assert any(r.split()[:3] == [JOKE_SKILL, "1.0.0", "installed"] for r in rows)

    code, out, err = await cli("update", JOKE_SKILL, "--hub", "local-hub", "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "requested"  # no --wait: accepted, not yet live


async def test_cli_failures(
    control: LocalControlPlane, api: AsyncThalovantControlPlane, hub_tls: HubTLS
) -> None:
    assert api.access_token is not None
    cli = Cli(control, api.access_token, hub_tls)
    code, out, err = await cli("add", "no-such-skill", "--wait")
    assert (code, out) == (1, "")
    assert err.startswith("thalovant: Thalovant API request failed with HTTP 404")
    assert "skill_not_found" in err
    code, _, err = await cli("list", token=False)
    assert code == 1
    assert err.startswith("thalovant: Missing Thalovant API access token")
    code, _, err = await cli("list", "--hub", "hub_nope")
    assert (code, err.count("\n")) == (1, 1)
    code, _, err = await cli("add")  # no skill named
    assert code == 2
    assert "usage:" in err
    code, _, err = await cli("list", "--timeout", "-1")
    assert code == 2
    # the flags instead of the environment
    flags = ("--api-url", control.api_url, "--token", api.access_token, "--ca-file")
    code, out, err = await cli(
        "list", *flags, str(hub_tls.ca_file), "--json", token=False, env_url=False
    )
    assert code == 0, err
    assert json.loads(out)["hub_id"]
    # the global options, before the command name
    code, out, err = await cli("list", before=("--json", "--timeout", "20"))
    assert code == 0, err
    assert json.loads(out)["hub_id"]
    # a retried 503 is not news on stderr
    control.faults.add(503, method="GET", path="/skills")
    code, out, err = await cli("list", "--hub", "local-hub")
    assert (code, err) == (0, "")
    assert control.faults.hits == 1


async def test_wait_shows_progress_on_a_terminal(
    control: LocalControlPlane, api: AsyncThalovantControlPlane, hub_tls: HubTLS
) -> None:
    import pty

    assert api.access_token is not None
    cli = Cli(control, api.access_token, hub_tls)
    control.state.skills.step_seconds = 0.3
    leader, follower = pty.openpty()
    try:
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [str(SCRIPT), "skills", "remove", JOKE_SKILL, "--wait"],
                env=cli.env,
                stderr=follower,
                check=False,
            )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert done.returncode == 0
    text = shown.decode()
    assert f"\r{JOKE_SKILL}: requested" in text
    assert f"\r{JOKE_SKILL}: ready" in text
