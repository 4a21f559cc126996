"""The HTTPS polling carrier: schedule, requests, cookie, errors, cancellation and close.

Against the real local hub where it can show the behaviour, and against a small scripted
aiohttp server (real TLS, real sockets) where the hub never behaves that way: redirects,
401, a poll that hangs, bad bodies.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from aiohttp import web

from thalovant.carriers import CarrierOptions, open_carrier
from thalovant.carriers.base import CarrierClosed
from thalovant.carriers.https import SESSION_GONE_CODE, HTTPSCarrier, open_https
from thalovant.carriers.polling import (
    REPLICA_COOKIE,
    PollSchedule,
    PollSettings,
    ReplicaAffinity,
)
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantConnectionError, ThalovantHubRefusedError
from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

from .conftest import register

pytestmark = pytest.mark.anyio

UA = "ThalovantPythonSDK/test"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- the schedule (sans-I/O) --------------------------------------------------------------


def test_schedule_polls_at_once_then_backs_off_to_the_idle_bound() -> None:
    schedule = PollSchedule(PollSettings(fast_interval=0.01, idle_interval=1.0, growth=2.0))
    assert schedule.next_delay(0.0) == 0.0  # the first poll
    delays = []
    for _ in range(10):
        schedule.polled(0.0, 0)
        delays.append(schedule.next_delay(0.0))
    assert delays[:4] == pytest.approx([0.01, 0.02, 0.04, 0.08])
    assert delays == sorted(delays)
    assert delays[-1] == 1.0  # bounded


def test_schedule_after_a_send_polls_now_and_stays_quick_until_an_answer() -> None:
    settings = PollSettings(fast_interval=0.01, busy_interval=0.1, idle_interval=5.0, growth=2.0)
    schedule = PollSchedule(settings)
    schedule.next_delay(0.0)
    for _ in range(20):
        schedule.polled(0.0, 0)
    assert schedule.next_delay(0.0) == 5.0
    schedule.sent(1.0)
    assert schedule.awaiting
    assert schedule.next_delay(1.0) == 0.0
    for _ in range(20):
        schedule.polled(1.0, 0)
    assert schedule.next_delay(2.0) == 0.1  # awaiting an answer: at most busy_interval
    assert schedule.next_delay(1.0 + settings.reply_window + 1) == 5.0  # gave up waiting
    schedule.polled(3.0, 2)  # frames arrived: poll again at once, then idle back-off
    assert not schedule.awaiting
    assert schedule.next_delay(3.0) == 0.0
    schedule.polled(3.0, 0)
    assert schedule.next_delay(3.0) == 0.01


def test_a_send_during_a_poll_is_not_lost() -> None:
    schedule = PollSchedule()
    schedule.next_delay(0.0)
    schedule.sent(0.5)  # while the poll is in flight
    schedule.polled(0.6, 0)  # that poll came back empty
    assert schedule.next_delay(0.6) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fast_interval": 0},
        {"fast_interval": 2.0, "idle_interval": 1.0},
        {"busy_interval": 5.0, "idle_interval": 1.0},
        {"growth": 0.5},
        {"request_timeout": 0},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PollSettings(**kwargs)


# -- a scripted server --------------------------------------------------------------------


class Scripted:
    """An aiohttp server with TLS whose endpoints tests script; it records every request.

    ``/connect`` and ``/disconnect`` succeed unless a test scripts them otherwise.
    """

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        self.handlers: dict[tuple[str, str], Handler] = {
            ("POST", "/connect"): answer({"status": "Connected"}),
            ("POST", "/disconnect"): answer({"status": "Disconnected"}),
        }
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        self.cookies: list[str | None] = []
        self.url = ""

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.handlers[(method, path)] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        headers = {"User-Agent": request.headers.get("User-Agent", "")}
        self.requests.append((request.method, request.path, dict(request.query), form))
        self.requests[-1][2].update(headers)
        self.cookies.append(request.cookies.get(REPLICA_COOKIE))
        handler = self.handlers.get((request.method, request.path))
        if handler is None:
            return web.json_response({"error": "no such endpoint"}, status=404)
        return await handler(request)

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]


def answer(body: Any, status: int = 200, **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(text=text, status=status, headers=headers)

    return handler


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
async def start(hub_tls: HubTLS, scripted: Scripted) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def go() -> str:
        runner = web.AppRunner(scripted.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=hub_tls.server_context)
        await site.start()
        port = runner.addresses[0][1]
        scripted.url = f"https://127.0.0.1:{port}"
        return scripted.url

    yield go
    for runner in runners:
        await runner.cleanup()


async def carrier_for(url: str, hub_tls: HubTLS, **kwargs: Any) -> HTTPSCarrier:
    return await open_https(
        url,
        access_key="ak-secret-key",
        user_agent=UA,
        ssl_context=hub_tls.client_context,
        **kwargs,
    )


# -- against the scripted server ----------------------------------------------------------


async def test_every_request_carries_token_user_agent_and_cookie(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    async def connect(request: web.Request) -> web.Response:
        response = web.json_response({"status": "Connected"})
        response.set_cookie(REPLICA_COOKIE, "replica-7")
        return response

    scripted.on("POST", "/connect", connect)
    scripted.on("GET", "/get_messages", answer({"messages": ['{"msg_type":"hello"}']}))
    scripted.on("GET", "/get_binary_messages", answer({"b64_messages": []}))
    scripted.on("POST", "/send_message", answer({"status": "message sent"}))
    url = await start()
    affinity = ReplicaAffinity()
    carrier = await carrier_for(url + "/", hub_tls, affinity=affinity)
    with anyio.fail_after(5):
        assert await carrier.receive() == '{"msg_type":"hello"}'
        await carrier.send('{"msg_type":"shake"}')
        await carrier.send(b"\x00noise")
    await carrier.aclose()
    await carrier.aclose()  # idempotent
    assert affinity.value == "replica-7"
    token = base64.b64encode(f"{UA}:ak-secret-key".encode()).decode()
    for _, _, query, _ in scripted.requests:
        assert query == {"authorization": token, "User-Agent": UA}
    assert scripted.cookies[0] is None
    assert set(scripted.cookies[1:]) == {"replica-7"}
    sends = [form for _, path, _, form in scripted.requests if path == "/send_message"]
    assert sends == [
        {"message": '{"msg_type":"shake"}'},
        {"message": base64.b64encode(b"\x00noise").decode(), "binary": "1"},
    ]
    assert scripted.paths()[-1] == "/disconnect"
    # a second connection with the same affinity sends the cookie from the start
    again = await carrier_for(url, hub_tls, affinity=affinity)
    await again.aclose()
    assert scripted.cookies[-2:] == ["replica-7", "replica-7"]


async def test_a_send_never_waits_behind_a_hanging_poll(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    polling = anyio.Event()
    release = anyio.Event()

    async def hang(request: web.Request) -> web.Response:
        polling.set()
        await release.wait()
        return web.json_response({"messages": []})

    scripted.on("GET", "/get_messages", hang)
    scripted.on("POST", "/send_message", answer({"status": "message sent"}))
    carrier = await carrier_for(await start(), hub_tls)
    try:
        with anyio.fail_after(5):
            await polling.wait()
            await carrier.send("{}")  # completes while the poll is still held
        assert not release.is_set()
    finally:
        release.set()
        await carrier.aclose()


async def test_after_the_first_noise_message_only_binary_is_polled(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    noise = base64.b64encode(b"\x01\x02").decode()
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("GET", "/get_binary_messages", answer({"b64_messages": [noise]}))
    scripted.on("POST", "/send_message", answer({"status": "message sent"}))
    carrier = await carrier_for(await start(), hub_tls)
    try:
        with anyio.fail_after(5):
            await carrier.send(b"hello")
            assert await carrier.receive() == b"\x01\x02"
        first_binary = scripted.paths().index("/get_binary_messages")
        later = scripted.paths()[first_binary:]
        assert "/get_messages" not in later
    finally:
        await carrier.aclose()


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_admission(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS, status: int
) -> None:
    scripted.on("POST", "/connect", answer({"error": "Invalid authorization"}, status))
    url = await start()
    with anyio.fail_after(5), pytest.raises(ThalovantHubRefusedError, match=str(status)) as got:
        await carrier_for(url, hub_tls)
    assert "ak-secret-key" not in str(got.value)
    assert "authorization=" not in str(got.value)


async def test_refusal_during_polling_is_a_refusal_close(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    scripted.on("GET", "/get_messages", answer({"error": "Forbidden"}, 403))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5), pytest.raises(CarrierClosed) as got:
        await carrier.receive()
    assert (got.value.refused, got.value.code) == (True, 1008)
    with pytest.raises(CarrierClosed):
        await carrier.send("{}")  # the carrier stays closed
    await carrier.aclose()
    assert "/disconnect" not in scripted.paths()  # nothing to say goodbye to


@pytest.mark.parametrize(
    ("path", "handler", "text"),
    [
        ("/connect", answer("", 307, Location="https://elsewhere.example/connect"), "redirect"),
        ("/connect", answer({"status": "Connected"}, 301, Location="/x"), "redirect"),
        ("/connect", answer({"error": "Connection failed"}, 500), "500: Connection failed"),
        ("/connect", answer("<html>oops</html>"), "not a JSON object"),
        ("/connect", answer({"status": "Busy"}), "did not admit"),
    ],
)
async def test_admission_failures_are_typed(
    scripted: Scripted,
    start: Callable[[], Awaitable[str]],
    hub_tls: HubTLS,
    path: str,
    handler: Handler,
    text: str,
) -> None:
    scripted.on("POST", path, handler)
    url = await start()
    with anyio.fail_after(5), pytest.raises(ThalovantConnectionError, match=text) as got:
        await carrier_for(url, hub_tls)
    assert not isinstance(got.value, ThalovantHubRefusedError)
    assert scripted.paths() == [path]  # the redirect was not followed


@pytest.mark.parametrize(
    ("handler", "text"),
    [
        (answer("", 302, Location="/get_messages"), "redirect"),
        (answer({"messages": "not a list"}), "malformed"),
        (answer({"messages": [1, 2]}), "malformed"),
        (answer("[]"), "not a JSON object"),
        (answer({"error": "gone", "code": 1011}, 410), "410: gone \\(code 1011\\)"),
        (answer({"error": "Retrieving messages failed"}), "with an error: Retrieving"),
    ],
)
async def test_bad_poll_answers_close_the_carrier(
    scripted: Scripted,
    start: Callable[[], Awaitable[str]],
    hub_tls: HubTLS,
    handler: Handler,
    text: str,
) -> None:
    scripted.on("GET", "/get_messages", handler)
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5), pytest.raises(CarrierClosed, match=text) as got:
        await carrier.receive()
    assert not got.value.refused
    await carrier.aclose()


async def test_a_poll_for_a_session_the_hub_forgot_is_a_close_without_status(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    # HiveMind's HTTP plugin, after it ended the session (e.g. refused a re-keyed client)
    scripted.on("GET", "/get_messages", answer({"error": "Client is not connected"}))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5), pytest.raises(CarrierClosed, match="no longer has") as got:
        await carrier.receive()
    assert (got.value.code, got.value.refused) == (SESSION_GONE_CODE, False)
    await carrier.aclose()


async def test_a_send_to_a_session_the_hub_forgot_is_a_close_without_status(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("POST", "/send_message", answer({"error": "Client is not connected"}, 409))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5):
        with pytest.raises(CarrierClosed, match="HTTP 409: Client is not connected") as got:
            await carrier.send(b"noise")
        with pytest.raises(CarrierClosed):
            await carrier.receive()
    assert (got.value.code, got.value.refused) == (SESSION_GONE_CODE, False)
    assert "ak-secret-key" not in str(got.value)
    await carrier.aclose()


async def test_a_refused_send_closes_the_carrier(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("POST", "/send_message", answer({"error": "Message sending failed"}))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5):
        with pytest.raises(CarrierClosed, match="did not take a message: Message sending"):
            await carrier.send("{}")
        with pytest.raises(CarrierClosed):
            await carrier.receive()
    await carrier.aclose()


async def test_bad_base64_from_the_hub_closes_the_carrier(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("GET", "/get_binary_messages", answer({"b64_messages": ["%%%"]}))
    scripted.on("POST", "/send_message", answer({"status": "message sent"}))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5):
        await carrier.send(b"x")  # from now on the binary mailbox is polled
        with pytest.raises(CarrierClosed, match="not base64"):
            await carrier.receive()
    await carrier.aclose()


async def test_aclose_is_bounded_when_disconnect_hangs(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    async def hang(request: web.Request) -> web.Response:
        await anyio.sleep_forever()
        raise AssertionError

    scripted.on("POST", "/disconnect", hang)
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    carrier = await carrier_for(await start(), hub_tls, settings=PollSettings(request_timeout=0.3))
    started = anyio.current_time()
    with anyio.fail_after(5):
        await carrier.aclose()
    assert anyio.current_time() - started < 1.5


async def test_http_is_refused_off_loopback() -> None:
    for url in ("http://hub.example.com:5679", "hub.example.com:5679", "ftp://hub/x", "https://"):
        with pytest.raises(ThalovantConnectionError, match="https://"):
            await open_https(url, access_key="ak", user_agent=UA, ssl_context=None)


# -- against the real hub -----------------------------------------------------------------


async def test_receive_is_safe_to_cancel(hub: LocalHub, hub_tls: HubTLS) -> None:
    identity = register(hub)
    assert hub.https_url is not None
    carrier = await open_https(
        hub.https_url,
        access_key=identity.access_key,
        user_agent=UA,
        ssl_context=hub_tls.client_context,
    )
    got: list[str | bytes] = []
    try:
        with anyio.fail_after(5):
            while len(got) < 2:  # cancel receive() at once, again and again
                with anyio.move_on_after(0):
                    got.append(await carrier.receive())
    finally:
        await carrier.aclose()
    # nothing was lost to the cancellations: HELLO, then the offer
    assert [json.loads(frame)["msg_type"] for frame in got] == ["hello", "shake"]


async def test_open_carrier_picks_https_and_keeps_one_affinity(
    hub: LocalHub, hub_tls: HubTLS
) -> None:
    identity = register(hub)
    options = CarrierOptions(UA, 4.0, hub_tls.client_context)
    with anyio.fail_after(5):
        first = await open_carrier("https", identity, options=options)
        assert first.name == "https"
        cookie = options.replica.value
        assert cookie
        await first.aclose()
        second = await open_carrier("https", identity, options=options)
        await second.aclose()
    assert options.replica.value == cookie  # the hub kept the slot the client asked for


async def test_unknown_key_is_refused_by_the_hub(hub: LocalHub, hub_tls: HubTLS) -> None:
    assert hub.https_url is not None
    with anyio.fail_after(5), pytest.raises(ThalovantHubRefusedError, match="403"):
        await open_https(
            hub.https_url,
            access_key="nobody",
            user_agent=UA,
            ssl_context=hub_tls.client_context,
        )


async def test_plain_http_on_loopback_works_end_to_end(tmp_path: Path) -> None:
    async with LocalHub(tmp_path / "hub", node_id="plain-http-hub") as hub:
        identity = register(hub)
        assert identity.endpoint_for("https") == hub.https_url
        async with AsyncThalovantClient(
            identity, protocol="https", noise_state_dir=tmp_path / "noise"
        ) as client:
            with anyio.fail_after(10):
                assert "Hello" in (await client.ask("hello")).text


async def test_idle_carrier_polls_at_the_idle_bound(hub: LocalHub, hub_tls: HubTLS) -> None:
    server = hub.http_server
    assert server is not None
    settings = PollSettings(idle_interval=0.2)
    options = CarrierOptions(UA, 4.0, hub_tls.client_context, https_poll=settings)
    carrier = await open_carrier("https", register(hub), options=options)
    try:
        with anyio.fail_after(5):
            assert [await carrier.receive() for _ in range(2)]  # HELLO and the offer
        # Measuring a rate needs time to pass: ~0.7 s of back-off from 10 ms up to 0.2 s,
        # then one poll per 0.2 s (the official carrier: 20 requests per second).
        await anyio.sleep(1.0)
        before = server.requests
        await anyio.sleep(1.0)
        assert server.requests - before <= 7
    finally:
        await carrier.aclose()


async def test_a_hub_that_takes_batches_gets_the_frames_queued_meanwhile_in_one_post(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    posted: list[list[str]] = []
    release, first = anyio.Event(), anyio.Event()

    async def send_message(request: web.Request) -> web.Response:
        form = await request.post()
        posted.append([str(value) for value in form.getall("message")])
        first.set()
        assert form.get("binary") == "1"
        await release.wait()  # the first POST is held: the next frames queue behind it
        return web.json_response({"status": "message sent"})

    scripted.on("POST", "/connect", answer({"status": "Connected", "thalovant_batch": 4}))
    scripted.on("GET", "/get_binary_messages", answer({"b64_messages": []}))
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("POST", "/send_message", send_message)
    carrier = await carrier_for(await start(), hub_tls)
    frames = [bytes([index]) * 3 for index in range(7)]
    with anyio.fail_after(5):
        await carrier.send(frames[0])
        await first.wait()
        for frame in frames[1:]:
            await carrier.send(frame)  # queued: returns while the first POST is held
        release.set()
        await carrier.aclose()  # posts what is queued before saying goodbye
    encoded = [base64.b64encode(frame).decode() for frame in frames]
    assert posted == [encoded[:1], encoded[1:5], encoded[5:]]
    assert scripted.paths()[-1] == "/disconnect"


async def test_a_failed_batch_post_closes_the_carrier(
    scripted: Scripted, start: Callable[[], Awaitable[str]], hub_tls: HubTLS
) -> None:
    scripted.on("POST", "/connect", answer({"status": "Connected", "thalovant_batch": 64}))
    scripted.on("GET", "/get_messages", answer({"messages": []}))
    scripted.on("GET", "/get_binary_messages", answer({"b64_messages": []}))
    scripted.on("POST", "/send_message", answer({"error": "Forbidden"}, 403))
    carrier = await carrier_for(await start(), hub_tls)
    with anyio.fail_after(5):
        await carrier.send(b"noise")  # queued
        with pytest.raises(CarrierClosed) as got:
            await carrier.receive()
        with pytest.raises(CarrierClosed):
            await carrier.send(b"more")
    assert (got.value.refused, got.value.code) == (True, 1008)
    await carrier.aclose()
