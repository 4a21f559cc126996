"""Every script in ``examples/`` runs as a user would run it, against a real local hub.

One hub (trustme TLS, demo skills) serves the whole module. Each script runs in a subprocess
with ``sys.executable``, started with :func:`anyio.run_process` so the hub keeps serving on
this test's event loop, and gets its identity the documented way: an identity file path
argument, a ``config.yaml`` in ``$XDG_CONFIG_HOME``, or ``THALOVANT_*`` variables. TLS is
verified against the test CA named by the CA bundle variables the SDK honours; no script
turns verification off.

Noise state (client key, hub pin, PSK cache) lands beside the identity or config file, or in
``$XDG_CONFIG_HOME/hivemind`` for environment identities, as it would for a user. A hub pins
one client key per access key, so every such folder gets its own registered client. The
config and environment clients are connected once in-process first, as an earlier run would
have done, so only the identity-file scripts pay the first contact (XXpsk2, Argon2id and the
refusal window, about 1.2 s); that keeps this module near 10 s.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
import yaml

from thalovant.carriers.tls import CA_BUNDLE_ENV
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub, write_identity_file
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Seconds one script may take (a cold first contact costs about 1.5 s on a quiet machine).
SCRIPT_TIMEOUT = 30.0
NODE_ID = "thalovant-examples-hub"

#: The local control plane (``/v1`` on the hub) arrives with the control-plane branch.


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module scope, so one hub on one event loop serves every test here."""
    return "asyncio"


@dataclass(frozen=True)
class Workspace:
    """A user's machine in miniature: a hub, identity files, a config file, environment."""

    hub: LocalHub
    root: Path
    identity_file: Path
    """Shared by the scripts that take an identity file path."""
    identities: Mapping[str, ThalovantIdentity]
    """Every registered client by name, to check that no secret is ever printed."""
    env: Mapping[str, str]
    """The base environment of every script."""


def _base_env(root: Path, ca_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THALOVANT_")}
    for name in CA_BUNDLE_ENV:  # the first one set wins, so all of them name the test CA
        env[name] = str(ca_file)
    env["XDG_CONFIG_HOME"] = str(root / "xdg")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _write_config(path: Path, profiles: Mapping[str, ThalovantIdentity], default: str) -> None:
    config = {
        "version": 1,
        "profile": default,
        "profiles": {
            name: {"identity": identity.as_dict(include_secrets=True)}
            for name, identity in profiles.items()
        },
    }
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)


async def first_contact(identity: ThalovantIdentity, folder: Path, tls: HubTLS) -> None:
    """Connect once with Noise state in ``folder``: pins the hub key, caches the PSK."""
    client = AsyncThalovantClient(identity, ssl_context=tls.client_context, noise_state_dir=folder)
    with anyio.fail_after(SCRIPT_TIMEOUT):
        async with client:
            pass


@pytest.fixture(scope="module")
async def workspace(
    anyio_backend: str, hub_tls: HubTLS, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Workspace]:
    root = tmp_path_factory.mktemp("examples")
    async with LocalHub(root / "hub", ssl_context=hub_tls.server_context, node_id=NODE_ID) as hub:
        identities = {
            name: hub.register_client(name) for name in ("files", "dev", "prod", "env-kiosk")
        }
        identity_file = write_identity_file(identities["files"], root / "app" / "_identity.json")
        config = root / "xdg" / "thalovant" / "config.yaml"
        _write_config(config, {"dev": identities["dev"], "prod": identities["prod"]}, "dev")
        warm = {  # the folder each loader picks (thalovant.keystore.resolve_noise_folder)
            "dev": config.parent / "hivemind",
            "prod": config.parent / "hivemind",
            "env-kiosk": root / "xdg" / "hivemind",
        }
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)  # loopback refusals are fast
            async with anyio.create_task_group() as tg:
                for name, folder in warm.items():
                    tg.start_soon(first_contact, identities[name], folder, hub_tls)
        yield Workspace(hub, root, identity_file, identities, _base_env(root, hub_tls.ca_file))


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


async def run_script(
    ws: Workspace, script: str, *args: str, env: Mapping[str, str] | None = None
) -> Run:
    """Run ``examples/<script>`` with ``args``; fail the test if it does not end in time."""
    with anyio.fail_after(SCRIPT_TIMEOUT):
        done = await anyio.run_process(
            [sys.executable, str(EXAMPLES / script), *args],
            env={**ws.env, **(env or {})},
            cwd=ws.root,
            check=False,
        )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


async def run_ok(
    ws: Workspace, script: str, *args: str, env: Mapping[str, str] | None = None
) -> str:
    """Run a script that must succeed quietly and print no secret; return its stdout."""
    run = await run_script(ws, script, *args, env=env)
    assert run.returncode == 0, f"{script} exited {run.returncode}\n{run.stdout}\n{run.stderr}"
    assert run.stderr == "", run.stderr  # no warnings, no log noise
    for identity in ws.identities.values():
        assert identity.password not in run.stdout
        assert identity.access_key not in run.stdout
    return run.stdout


def line(out: str, prefix: str) -> str:
    """The rest of the first output line starting with ``prefix``."""
    for text in out.splitlines():
        if text.startswith(prefix):
            return text[len(prefix) :].strip()
    raise AssertionError(f"no line starting with {prefix!r} in:\n{out}")


# ------------------------------------------------------------------------------- loaders


async def test_identity_file(workspace: Workspace) -> None:
    out = await run_ok(workspace, "identity_file.py", str(workspace.identity_file))
    assert line(out, "joke:") in DEMO_JOKES
    assert line(out, "site id:") == "files"
    assert '"password": "<redacted>"' in line(out, "identity:")
    assert "protocol=wss" in line(out, "client:")


async def test_identity_file_from_environment_variable(workspace: Workspace) -> None:
    env = {"THALOVANT_IDENTITY_FILE": str(workspace.identity_file)}
    out = await run_ok(workspace, "identity_file.py", env=env)
    assert line(out, "joke:") in DEMO_JOKES


async def test_missing_identity_file_is_a_clear_error(workspace: Workspace) -> None:
    run = await run_script(workspace, "identity_file.py", str(workspace.root / "nope.json"))
    assert run.returncode == 1
    assert "ThalovantIdentityError" in run.stderr
    assert "nope.json" in run.stderr


async def test_config_default_profile(workspace: Workspace) -> None:
    out = await run_ok(workspace, "config_profile.py")
    assert line(out, "config file:") == str(workspace.root / "xdg" / "thalovant" / "config.yaml")
    assert line(out, "site id:") == "dev"
    assert line(out, "hello:") == "Hello! I am your local Thalovant hub."


async def test_config_named_profile(workspace: Workspace) -> None:
    out = await run_ok(workspace, "config_profile.py", "prod")
    assert line(out, "profile:") == "prod"
    assert line(out, "site id:") == "prod"


async def test_env(workspace: Workspace) -> None:
    identity = workspace.identities["env-kiosk"]
    env = {
        "THALOVANT_ACCESS_KEY": identity.access_key,
        "THALOVANT_PASSWORD": identity.password,
        "THALOVANT_SITE_ID": identity.site_id,
        "THALOVANT_DEFAULT_MASTER": workspace.hub.wss_url,
    }
    out = await run_ok(workspace, "env.py", env=env)
    assert line(out, "site id:") == "env-kiosk"
    assert line(out, "protocol:") == "wss"
    assert re.fullmatch(r"It is \d\d:\d\d\.", line(out, "time:"))


# ----------------------------------------------------------------------------- the flows


async def test_protocols(workspace: Workspace) -> None:
    out = await run_ok(workspace, "protocols.py", str(workspace.identity_file))
    identity = workspace.identities["files"]
    assert line(out, "enabled:") == ", ".join(identity.enabled_protocols())
    assert line(out, "default:") == identity.select_protocol()
    for protocol in identity.enabled_protocols():  # wss today; https and mqtt join later
        assert line(out, f"{protocol}:") == "ok: Hello! I am your local Thalovant hub."


async def test_conversation(workspace: Workspace) -> None:
    out = await run_ok(workspace, "conversation.py", str(workspace.identity_file))
    replies = [text.removeprefix("hub: ") for text in out.splitlines() if text.startswith("hub:")]
    assert replies == [
        "Got it: your favourite colour is blue.",
        "Your favourite colour is blue.",
        "I don't know yet. Tell me: my favourite colour is ...",
    ]
    assert line(out, "resumed:") == "Your favourite colour is blue."
    assert line(out, "session:") != line(out, "new session:")


async def test_context(workspace: Workspace) -> None:
    out = await run_ok(workspace, "context.py", str(workspace.identity_file))
    assert "looks like a secret" in line(out, "refused:")
    assert "do-not-send" not in out
    sent = re.search(r"\(sent (checkout-[0-9a-f]{8})\)", out)
    assert sent is not None
    assert line(out, "request id:").startswith(sent.group(1) + " ")
    assert line(out, "session id:") == "checkout-session"
    assert line(out, "echoed user:") == "user-123 locale: en-GB"
    assert line(out, "generated request id:").startswith("thalovant-request-")


async def test_listen(workspace: Workspace) -> None:
    out = await run_ok(workspace, "listen.py", str(workspace.identity_file))
    request_id = line(out, "sent:")
    assert line(out, "speak:") == f"Hello! I am your local Thalovant hub. (request {request_id})"
    assert line(out, "story 1:").startswith("Once upon a time")
    assert line(out, "story 3:").endswith("The end.")


async def test_actions_and_codes(workspace: Workspace) -> None:
    out = await run_ok(workspace, "actions_and_codes.py", str(workspace.identity_file))
    assert line(out, "menu:") == "Choose a drink"
    replies = [text.removeprefix("hub: ") for text in out.splitlines() if text.startswith("hub:")]
    assert replies[:3] == [
        "Which drink would you like? Coffee, tea or water?",
        "You chose Coffee.",
        "You chose Tea.",
    ]
    assert replies[3].startswith("Got barcode device serial: SN-001-XYZ (request ")


async def test_async_usage(workspace: Workspace) -> None:
    out = await run_ok(workspace, "async_usage.py", str(workspace.identity_file))
    assert line(out, "joke:") in DEMO_JOKES
    assert line(out, "'hello' ->") == "Hello! I am your local Thalovant hub."
    assert line(out, "'tell me a joke' ->") in DEMO_JOKES
    assert line(out, "memory:") == "Your favourite colour is green."
    assert line(out, "speak:") == "Hello! I am your local Thalovant hub."


# -------------------------------------------------------------------------- control plane


async def test_quickstart(workspace: Workspace, hub_tls: HubTLS) -> None:
    account = LocalAccount.create("dev@example.com", "quickstart-pass-123")
    async with LocalControlPlane(
        workspace.hub, account, ssl_context=hub_tls.server_context
    ) as control:
        saved = workspace.root / "quickstart" / "_identity.json"
        saved.parent.mkdir()
        env = {
            "THALOVANT_API_URL": control.api_url,
            "THALOVANT_EMAIL": account.email,
            "THALOVANT_ACCOUNT_PASSWORD": "quickstart-pass-123",
        }
        out = await run_ok(workspace, "01_quickstart.py", str(saved), env=env)
    assert line(out, "joke:") in DEMO_JOKES
    assert "quickstart-pass-123" not in out
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    identity = ThalovantIdentity.from_file(saved)
    assert identity.password not in out
    # The saved identity is the one the other examples take.
    again = await run_ok(workspace, "identity_file.py", str(saved))
    assert line(again, "joke:") in DEMO_JOKES


#: Examples that need a server and are run by a test module of their own.
RUN_ELSEWHERE = {"fastapi_app.py": "tests/fastapi/conftest.py"}


def test_every_example_is_run_here() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    for name, module in RUN_ELSEWHERE.items():
        assert name.removesuffix(".py") in (EXAMPLES.parent / module).read_text(encoding="utf-8")
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))
    assert scripts, "no examples found"
    missing = [name for name in scripts if f'"{name}"' not in source]
    assert missing == []
    listed = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert [name for name in scripts if f"`{name}`" not in listed] == []
