"""Every ``python`` code block of the guides (docs/guides/*.md) runs, as a user would run it,
against a real local hub with its control plane.

The convention, for guide authors:

- a block fenced with `` ```python `` is a complete script: it runs in a fresh interpreter
  (``sys.executable``), in a folder holding ``_identity.json``, with ``$XDG_CONFIG_HOME``
  holding a ``config.yaml`` whose default profile is ``dev``, ``THALOVANT_*`` variables of
  an environment identity, ``THALOVANT_API_URL``/``THALOVANT_EMAIL``/
  ``THALOVANT_ACCOUNT_PASSWORD`` of the local control plane, and the test CA named by the CA
  bundle variables. It must exit 0, write nothing to stderr and print no secret;
- a block whose first line is ``# test_<name>.py`` is a pytest module: it is saved under
  that name and run with ``python -m pytest`` (the ``thalovant`` fixtures come from the
  installed plugin);
- a fragment that cannot run alone is fenced with `` ```py ``: it must still compile.

The hub pins one client key per access key, so each identity's Noise folder is warmed once
in-process first (as an earlier run would have); the scripts then pay only ``KKpsk0``.
"""

from __future__ import annotations

import os
import re
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
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"
#: Seconds one block may take (a pytest block starts its own hubs).
BLOCK_TIMEOUT = 60.0
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_ACCOUNT_PASSWORD = "docs-guide-pass-123"


@dataclass(frozen=True)
class Block:
    """One fenced code block of a guide."""

    guide: str
    line: int
    language: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.guide}:{self.line}"

    @property
    def test_module(self) -> str | None:
        first = self.code.split("\n", 1)[0].strip()
        found = re.fullmatch(r"#\s*(test_\w+\.py)", first)
        return found.group(1) if found else None


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the line each starts on."""
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.name, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
        for m in _FENCE.finditer(text)
    ]


def python_blocks(language: str) -> list[Block]:
    return [b for p in sorted(GUIDES.glob("*.md")) for b in blocks(p) if b.language == language]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module scope, so one hub on one event loop serves every block."""
    return "asyncio"


@dataclass(frozen=True)
class Workspace:
    root: Path
    cwd: Path
    env: Mapping[str, str]
    secrets: tuple[str, ...]


async def _first_contact(identity: ThalovantIdentity, folder: Path, tls: HubTLS) -> None:
    client = AsyncThalovantClient(identity, ssl_context=tls.client_context, noise_state_dir=folder)
    with anyio.fail_after(BLOCK_TIMEOUT):
        async with client:
            pass


@pytest.fixture(scope="module")
async def workspace(
    anyio_backend: str, hub_tls: HubTLS, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Workspace]:
    root = tmp_path_factory.mktemp("guides")
    account = LocalAccount.create("docs@example.com", _ACCOUNT_PASSWORD)
    async with (
        LocalHub(root / "hub", ssl_context=hub_tls.server_context) as hub,
        LocalControlPlane(hub, account, ssl_context=hub_tls.server_context) as control,
    ):
        ids = {name: hub.register_client(name) for name in ("docs", "dev", "docs-env")}
        cwd = root / "work"
        write_identity_file(ids["docs"], cwd / "_identity.json")
        config = root / "xdg" / "thalovant" / "config.yaml"
        config.parent.mkdir(mode=0o700, parents=True)
        profile = {"identity": ids["dev"].as_dict(include_secrets=True)}
        config.write_text(
            yaml.safe_dump({"version": 1, "profile": "dev", "profiles": {"dev": profile}})
        )
        config.chmod(0o600)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_first_contact, ids["docs"], cwd / "hivemind", hub_tls)
                tg.start_soon(_first_contact, ids["dev"], config.parent / "hivemind", hub_tls)
                tg.start_soon(_first_contact, ids["docs-env"], root / "xdg" / "hivemind", hub_tls)
        env = {k: v for k, v in os.environ.items() if not k.startswith("THALOVANT_")}
        env.update({name: str(hub_tls.ca_file) for name in CA_BUNDLE_ENV})
        env.update(
            {
                "XDG_CONFIG_HOME": str(root / "xdg"),
                "PYTHONUNBUFFERED": "1",
                "THALOVANT_API_URL": control.api_url,
                "THALOVANT_EMAIL": account.email,
                "THALOVANT_ACCOUNT_PASSWORD": _ACCOUNT_PASSWORD,
                "THALOVANT_ACCESS_KEY": ids["docs-env"].access_key,
                "THALOVANT_PASSWORD": ids["docs-env"].password,
                "THALOVANT_SITE_ID": ids["docs-env"].site_id,
                "THALOVANT_DEFAULT_MASTER": hub.wss_url,
            }
        )
        secrets = tuple(s for i in ids.values() for s in (i.password, i.access_key))
        yield Workspace(root, cwd, env, (*secrets, _ACCOUNT_PASSWORD))


@pytest.mark.parametrize("block", python_blocks("python"), ids=lambda b: b.label)
async def test_guide_block_runs(workspace: Workspace, block: Block) -> None:
    module = block.test_module
    script = workspace.cwd / (module or f"guide_{block.guide[:-3]}_{block.line}.py")
    script.write_text(block.code, encoding="utf-8")
    command = [sys.executable, str(script)]
    if module is not None:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)]
    with anyio.fail_after(BLOCK_TIMEOUT):
        done = await anyio.run_process(command, env=workspace.env, cwd=workspace.cwd, check=False)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, f"{block.label} exited {done.returncode}\n{out}\n{err}"
    assert err == "", err  # no warnings, no log noise
    assert out.strip(), f"{block.label} printed nothing"
    for secret in workspace.secrets:
        assert secret not in out


def test_guide_fragments_compile() -> None:
    for block in python_blocks("py"):  # fragments: not run, but valid Python
        compile(block.code, block.label, "exec")
    assert python_blocks("python")


def test_every_guide_has_code_that_runs_or_says_why() -> None:
    guides = sorted(GUIDES.glob("*.md"))
    assert len(guides) >= 12
    runnable = {b.guide for b in python_blocks("python")}
    prose_only = {"cli.md", "migrating.md"}  # shell commands, pointers; nothing to run
    assert {p.name for p in guides} - runnable == prose_only
