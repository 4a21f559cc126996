"""The Home Assistant link end to end: a user asks the local hub "home ...", the hub's demo
relay sends ``thalovant.home.request`` to the linked client, whose ``answer_home_requests``
handler answers; the user hears the answer."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest

import thalovant
from tests.client.conftest import ClientFactory, register
from thalovant import HomeAnswer, HomeRequest, ThalovantClient, answer_home_requests
from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


async def test_async_handler_answers_through_the_hub(
    hub: LocalHub, make_client: ClientFactory
) -> None:
    seen: list[HomeRequest] = []

    async def handler(request: HomeRequest) -> HomeAnswer:
        seen.append(request)
        return HomeAnswer("The kitchen light is <emphasis>on</emphasis>.")

    home = make_client(register(hub, "home-assistant"))
    user = make_client(register(hub, "kiosk"))
    stop = answer_home_requests(home, handler)
    await home.connect()
    reply = await user.ask("home turn on the kitchen light", timeout=15)
    assert reply.text == "The kitchen light is on."
    assert [r.utterance for r in seen] == ["turn on the kitchen light"]
    assert seen[0].lang == "en-us"
    assert seen[0].request_id.startswith("home-")
    stop()  # the official unsubscribe is a plain callable
    hub.home_link.timeout = 1.0  # nobody answers now: the hub's bound, shortened
    reply = await user.ask("home turn it off", timeout=15)
    assert reply.text == "Home Assistant did not answer in time."
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("behaviour", "spoken"),
    [
        ("raise", "Home Assistant could not do that (failed_to_handle)."),
        ("slow", "Home Assistant could not do that (timeout)."),
        ("bad", "Home Assistant could not do that (unknown)."),
        ("text", "plain text works"),
    ],
)
async def test_the_sdk_always_answers(
    hub: LocalHub, make_client: ClientFactory, behaviour: str, spoken: str
) -> None:
    async def handler(request: HomeRequest) -> object:
        if behaviour == "raise":
            raise RuntimeError("broken integration")
        if behaviour == "slow":
            await anyio.sleep(30)
        if behaviour == "bad":
            return HomeAnswer("x", response_type="error", error_code="not-a-code")
        return "plain text works"

    home = make_client(register(hub, "home-assistant"))
    user = make_client(register(hub, "kiosk"))
    answer_home_requests(home, handler, timeout=0.5)  # type: ignore[arg-type]
    await home.connect()
    reply = await user.ask("home what is the temperature", timeout=15)
    assert reply.text == spoken


async def test_one_client_can_be_both_ends(hub: LocalHub, make_client: ClientFactory) -> None:
    client = make_client(register(hub, "kiosk"))
    answer_home_requests(client, lambda request: f"heard {request.utterance}")
    reply = await client.ask("home lock the door", timeout=15)
    assert reply.text == "heard lock the door"


async def test_blocking_client_answers(hub: LocalHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    threads: list[str] = []

    def handler(request: HomeRequest) -> HomeAnswer:
        threads.append(threading.current_thread().name)
        return HomeAnswer(f"ok: {request.utterance}", response_type="query_answer")

    home_identity = register(hub, "home-assistant")
    user = thalovant.AsyncThalovantClient(
        register(hub, "kiosk"), ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "u"
    )

    def run_home(ready: threading.Event, stop: threading.Event) -> None:
        with ThalovantClient(
            home_identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "h"
        ) as home:
            unsubscribe = answer_home_requests(home, handler)
            ready.set()
            stop.wait(30)
            unsubscribe()

    ready, stop = threading.Event(), threading.Event()
    runner = threading.Thread(target=run_home, args=(ready, stop))
    runner.start()
    try:
        with anyio.fail_after(20):
            while not ready.is_set():
                await anyio.to_thread.run_sync(ready.wait, 0.5)
        async with user:
            reply = await user.ask("home is the door locked", timeout=15)
        assert reply.text == "ok: is the door locked"
        assert threads == ["thalovant-home-handler"]
    finally:
        stop.set()
        await anyio.to_thread.run_sync(runner.join, 20)
