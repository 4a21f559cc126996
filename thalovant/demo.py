"""``thalovant demo``: the quickstart, offline, against a local hub started in-process.

It starts a :class:`~thalovant.hub.LocalHub` and its ``/v1`` control plane on free loopback
ports (fresh temporary state, a throwaway development CA from :mod:`thalovant.hub.servers.tls`, no
test extras needed), then does what a new user does, printing each step with its timing:

1. control plane: list public hubs, sign in, read the profile, create a client identity,
   wait for its admission;
2. data plane, over every protocol the new identity offers: connect, ask for a joke, a
   two-turn conversation that remembers a colour (one session id, a base context), the
   carrier and status answers, a ``send_utterance`` answered through ``listen``, an action
   and a code. The hub's fallback skill is on, as in ``thalovant hub``.

Exit status 0 when every step worked, 1 with ``thalovant: <reason>`` otherwise.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO, TypeVar

from thalovant.errors import ThalovantError, ThalovantRuntimeError

__all__ = ["JOKE_QUESTION", "run_demo"]

T = TypeVar("T")

#: The first question of the quickstart.
JOKE_QUESTION = "Tell me a short clean joke."
_WIDTH = 52


class _Steps:
    """Numbered, timed step lines."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self.started = time.perf_counter()

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def run(
        self, title: str, action: Callable[[], Awaitable[T]], describe: Callable[[T], str]
    ) -> T:
        self.count += 1
        began = time.perf_counter()
        try:
            value = await action()
            shown = describe(value)
        except BaseException as exc:
            self.say(f"{self.count:>3}. {title:<{_WIDTH}} FAILED: {exc}")
            raise
        ms = (time.perf_counter() - began) * 1000
        self.say(f"{self.count:>3}. {title:<{_WIDTH}} {ms:>6.0f} ms  {shown}")
        return value

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise ThalovantRuntimeError(f"demo check failed: {what}")


def _quote(text: str, size: int = 90) -> str:
    return repr(text if len(text) <= size else text[: size - 1] + "…")


async def run_demo(out: TextIO = sys.stdout) -> None:
    """Run the whole quickstart; raises a :class:`~thalovant.errors.ThalovantError` on the
    first step that fails."""
    with tempfile.TemporaryDirectory(prefix="thalovant-demo-") as tmp:
        await _run(Path(tmp), _Steps(out))


async def _run(folder: Path, steps: _Steps) -> None:
    from thalovant.control.client import AsyncThalovantControlPlane
    from thalovant.hub import LocalHub
    from thalovant.hub.control.account import DEMO_EMAIL, LocalAccount
    from thalovant.hub.servers.tls import dev_certificates

    state = folder / "hub"
    certs = dev_certificates(state, ("127.0.0.1", "localhost"))
    server_tls, client_tls = certs.server_context(), certs.client_context()
    password = secrets.token_urlsafe(12)
    account = LocalAccount.create(DEMO_EMAIL, password)
    steps.say("Thalovant demo: the quickstart against a local hub (offline, loopback only)")
    async with LocalHub(state, ssl_context=server_tls, control_account=account) as hub:
        api_url = hub.api_url  # the hub's HTTPS server also serves /v1
        _expect(api_url is not None, "the hub serves the control plane")
        async with AsyncThalovantControlPlane(str(api_url), ssl_context=client_tls) as api:
            steps.say(f"  hub           {hub.wss_url}  (node {hub.node_id})")
            steps.say(f"  control plane {api_url}/v1")
            steps.say(f"  account       {DEMO_EMAIL}")
            steps.say(f"  ready in {steps.elapsed * 1000:.0f} ms")
            steps.say()
            steps.say("Control plane")
            page = await steps.run(
                "list public hubs",
                lambda: api.list_public_hubs(limit=12),
                lambda p: ", ".join(f"{h['title']} ({h['id']})" for h in p["data"]) or "none",
            )
            _expect(bool(page["data"]), "the control plane lists the local hub")
            hub_card = page["data"][0]
            await steps.run(
                f"sign in as {DEMO_EMAIL}",
                lambda: api.login(DEMO_EMAIL, password),
                lambda t: f"token {t.get('token_id')} ({' '.join(t.get('scopes', []))})",
            )
            await steps.run("read the profile", api.get_profile, lambda p: f"{p['display_name']}")
            result = await steps.run(
                "create a client identity",
                lambda: api.create_client_identity(hub_card["id"], name="demo kiosk"),
                lambda r: (
                    f"client {r.client_id}, site {r.identity.site_id}, "
                    f"protocols {', '.join(r.identity.enabled_protocols())}"
                ),
            )
            await steps.run(
                "wait for admission",
                lambda: api.wait_for_admission(result, timeout=30),
                lambda op: (op.status or "?") if op is not None else "admitted",
            )
            identity = result.identity
            protocols = [p for p in identity.enabled_protocols() if identity.endpoint_for(p)]
            _expect(bool(protocols), "the new identity offers a protocol")
            for protocol in protocols:
                steps.say()
                steps.say(f"Data plane over {protocol} ({identity.endpoint_for(protocol)})")
                await _data_plane(steps, identity, protocol, client_tls, folder / "noise")
            steps.say()
            steps.say(
                f"Done: {steps.count} steps over {', '.join(protocols)} in {steps.elapsed:.1f} s."
            )


async def _data_plane(
    steps: _Steps, identity: object, protocol: str, tls: object, noise_dir: Path
) -> None:
    import ssl

    from thalovant.client.client import AsyncThalovantClient
    from thalovant.identity.model import ThalovantIdentity

    assert isinstance(identity, ThalovantIdentity)
    assert isinstance(tls, ssl.SSLContext)
    client = AsyncThalovantClient(
        identity, protocol=protocol, ssl_context=tls, noise_state_dir=noise_dir
    )
    try:
        await steps.run(
            "connect",
            client.connect_with_info,
            lambda info: (
                f"Noise {info.pattern or '?'}, handshake {info.handshake_ms or 0:.0f} ms, "
                f"session {client.session_id}"
            ),
        )
        await steps.run(
            f"ask {JOKE_QUESTION!r}", lambda: client.ask(JOKE_QUESTION), lambda r: _quote(r.text)
        )
        talk = client.conversation(context={"metadata": {"demo": "colour"}})
        steps.say(f"     conversation session {talk.session_id}, context {talk.context}")
        await steps.run(
            "turn 1: 'Remember that my favorite color is blue.'",
            lambda: talk.ask("Remember that my favorite color is blue."),
            lambda r: f"{_quote(r.text)} [request {r.request_id}]",
        )
        second = await steps.run(
            "turn 2: 'What color did I mention?'",
            lambda: talk.ask("What color did I mention?"),
            lambda r: f"{_quote(r.text)} [session {r.session_id}]",
        )
        _expect("blue" in second.text.lower(), "the conversation remembers the colour")
        await steps.run(
            f"ask 'Reply over {protocol}.'",
            lambda: client.ask(f"Reply over {protocol}."),
            lambda r: _quote(r.text),
        )
        await steps.run(
            "ask 'Say the current status.'",
            lambda: client.ask("Say the current status."),
            lambda r: _quote(r.text, 200),
        )
        await _fire_and_listen(
            steps,
            client,
            "send_utterance('hello') + listen",
            lambda rid: client.send_utterance("hello", request_id=rid),
        )
        await _fire_and_listen(
            steps,
            client,
            'send_action(\'/choose{"id":"42"}\')',
            lambda rid: client.send_action('/choose{"id":"42"}', title="Coffee", request_id=rid),
        )
        await _fire_and_listen(
            steps,
            client,
            "send_code('4006381333931', kind='barcode')",
            lambda rid: client.send_code("4006381333931", kind="barcode", request_id=rid),
        )
    finally:
        await client.close()


async def _fire_and_listen(
    steps: _Steps, client: object, title: str, send: Callable[[str], Awaitable[str]]
) -> None:
    from thalovant.client.client import AsyncThalovantClient

    assert isinstance(client, AsyncThalovantClient)
    request_id = f"thalovant-demo-{uuid.uuid4().hex}"

    async def action() -> str:
        async with client.listen("speak", request_id=request_id, timeout=10, max_events=1) as heard:
            await send(request_id)
            async for event in heard:
                return event.text or ""
        raise ThalovantRuntimeError(f"no speak event answered {title}")

    await steps.run(title, action, _quote)


def main(out: TextIO = sys.stdout) -> int:
    """Run the demo; the exit status of ``thalovant demo``."""
    import anyio

    try:
        anyio.run(run_demo, out)
    except ThalovantError as exc:
        print(f"thalovant: demo failed: {exc}", file=sys.stderr)
        return 1
    return 0
