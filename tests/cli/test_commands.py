"""Every everyday command as a subprocess against a local hub: text and --json, success and
failure, with its exit code and message."""

from __future__ import annotations

import anyio
import pytest

from thalovant.protocol.envelope import bus_message

from .conftest import CliHub, free_port, write_identity

pytestmark = pytest.mark.anyio

HELLO = "Hello! I am your local Thalovant hub."


async def test_ask_text_and_json(cli_hub: CliHub) -> None:
    done = await cli_hub.run("ask", "hello")
    assert (done.code, done.out.strip()) == (0, HELLO), done.err
    done = await cli_hub.run("ask", "hello", "--json", "--session-id", "s-1", "--lang", "en-us")
    assert done.code == 0, done.err
    doc = done.json()
    assert doc["text"] == HELLO
    assert doc["ok"] is True
    assert doc["request_id"].startswith("thalovant-request-")


async def test_ask_stream_prints_speech_as_json_lines(cli_hub: CliHub) -> None:
    done = await cli_hub.run("--json", "ask", "tell me a story", "--stream")
    assert done.code == 0, done.err
    lines = [__import__("json").loads(line) for line in done.out.splitlines()]
    speech = [line["text"] for line in lines if "event" in line]
    assert len(speech) >= 2
    assert lines[-1]["reply"]["text"] == " ".join(speech)
    text = await cli_hub.run("ask", "tell me a story", "--stream")
    assert text.code == 0
    assert text.out.splitlines() == speech


async def test_ask_failures(cli_hub: CliHub) -> None:
    wrong = write_identity(cli_hub.tmp / "wrong.json", cli_hub.identity, password="not-it-at-all")
    done = await cli_hub.run("-i", str(wrong), "ask", "hello")
    assert done.code == 1
    assert done.err.startswith("thalovant: "), done.err
    assert "password" in done.err, done.err
    assert "not-it-at-all" not in done.err
    down = await cli_hub.run("ask", "hello", "--port", str(free_port()))
    assert down.code == 1, down.err
    assert down.err.startswith("thalovant: "), down.err
    only_wss = write_identity(cli_hub.tmp / "wss.json", cli_hub.identity)
    unsupported = await cli_hub.run("-i", str(only_wss), "--protocol", "nope", "ask", "x")
    assert unsupported.code == 2  # argparse: not a choice
    no_mqtt = cli_hub.tmp / "nomqtt.json"
    write_identity(no_mqtt, cli_hub.identity, mqtt=None)
    unsupported = await cli_hub.run("-i", str(no_mqtt), "--protocol", "mqtt", "ask", "hello")
    assert unsupported.code == 1
    assert "Unsupported protocol mqtt" in unsupported.err
    unanswered = await cli_hub.run("ask", "qwertyuiop zxcv", "--timeout", "20")
    assert unanswered.code == 1
    assert unanswered.err.startswith("thalovant: ")


async def test_ask_over_each_protocol(cli_hub: CliHub) -> None:
    for protocol in ("https", "mqtt"):
        done = await cli_hub.run("--protocol", protocol, "ask", "hello")
        assert (done.code, done.out.strip()) == (0, HELLO), (protocol, done.err)


async def test_utter_and_emit(cli_hub: CliHub) -> None:
    done = await cli_hub.run("utter", "hello")
    assert (done.code, done.out.strip()) == (0, "sent"), done.err
    doc = (await cli_hub.run("utter", "hello", "--json")).json()
    assert doc["sent"] is True
    assert doc["request_id"]
    done = await cli_hub.run("emit", "thalovant.cli.test", "--data", '{"a": 1}')
    assert (done.code, done.out.strip()) == (0, "sent"), done.err
    doc = (await cli_hub.run("emit", "thalovant.cli.test", "--json")).json()
    assert doc == {"sent": True, "type": "thalovant.cli.test"}


async def test_emit_invalid_json_is_a_usage_error(cli_hub: CliHub) -> None:
    done = await cli_hub.run("emit", "x.y", "--data", "{not json")
    assert done.code == 2
    assert done.err.startswith("thalovant: --data is not valid JSON")
    done = await cli_hub.run("emit", "x.y", "--context", "[1, 2]")
    assert done.code == 2
    assert done.err.startswith("thalovant: --context must be a JSON object")


async def test_listen_prints_events_until_max_events(cli_hub: CliHub) -> None:
    result: dict[str, object] = {}

    async def listen() -> None:
        result["done"] = await cli_hub.run(
            "listen", "thalovant.cli.pushed", "--max-events", "2", "--timeout", "60", "--json"
        )

    async with anyio.create_task_group() as tg:
        tg.start_soon(listen)
        await cli_hub.hub.wait_for_connections(1)
        with anyio.fail_after(60):
            n = 0
            while "done" not in result:  # pushed until the listener has had its two events
                for session in cli_hub.hub.sessions:
                    if session.ready:
                        n += 1
                        msg = bus_message(
                            "thalovant.cli.pushed", {"n": n, "utterance": f"n{n}"}, {}
                        )
                        await session.send_message(msg)
                await anyio.sleep(0.2)
    done = result["done"]
    assert done.code == 0, done.err  # type: ignore[attr-defined]
    lines = done.out.splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2
    assert all('"name": "thalovant.cli.pushed"' in line for line in lines)


async def test_listen_timeout_ends_quietly_and_hub_down_fails(cli_hub: CliHub) -> None:
    done = await cli_hub.run("listen", "nothing.comes", "--timeout", "1")
    assert (done.code, done.out) == (0, ""), done.err
    down = await cli_hub.run("listen", "speak", "--port", str(free_port()), "--timeout", "5")
    assert down.code == 1
    assert down.err.startswith("thalovant: ")


async def test_chat_keeps_one_session(cli_hub: CliHub) -> None:
    lines = "my favourite colour is blue\n\nqwertyuiop zxcv\nwhat is my favourite colour\n"
    done = await cli_hub.run("chat", "--timeout", "20", stdin=lines)
    assert done.code == 0, done.err
    replies = done.out.splitlines()
    assert len(replies) == 2
    assert "blue" in replies[1]
    assert done.err.count("thalovant: ") == 1  # the unmatched turn; the chat went on
    json_done = await cli_hub.run("chat", "--json", stdin="hello\n")
    assert json_done.json()["text"] == HELLO


async def test_health(cli_hub: CliHub) -> None:
    done = await cli_hub.run("health")
    assert done.code == 0, done.err
    assert done.out.splitlines()[0] == "ok"
    doc = (await cli_hub.run("health", "--json")).json()
    assert doc["connected"] is True
    assert doc["handshake_complete"] is True
    down = await cli_hub.run("health", "--port", str(free_port()), "--timeout", "5")
    assert down.code == 1
    assert down.out.splitlines()[0] == "failed"
    assert "last_error: " in down.out


async def test_intents(cli_hub: CliHub) -> None:
    done = await cli_hub.run("intents")
    assert done.code == 0, done.err
    rows = [line.split("\t") for line in done.out.splitlines()]
    assert ["thalovant-demo.hello", "thalovant-demo.hello.intent", "hello"] in rows
    spoken = await cli_hub.run("intents", "--speakable", "--lang", "en-us", "--lang", "en-gb")
    assert "thalovant-demo.hello\tthalovant-demo.hello.intent\tHello." in spoken.out
    doc = (await cli_hub.run("intents", "--json")).json()
    assert doc["source"] == "live"
    assert doc["notes"] == ["listed from intent-manifest"]
    titles = {s["id"]: s["title"] for s in doc["skills"]}
    assert titles["thalovant-demo.joke"] == "Joke"  # the shared prefix left out
    cached = (await cli_hub.run("intents", "--json", "--cache")).json()
    assert cached["source"] == "live"
    again = (await cli_hub.run("intents", "--json", "--cache")).json()
    assert again["source"] == "cache"
    assert again["skills"] == cached["skills"]
    cache_dir = cli_hub.tmp / "home" / ".cache" / "thalovant" / "inventory"
    assert [oct(p.stat().st_mode & 0o777) for p in cache_dir.iterdir()] == ["0o600"]


async def test_intents_denied(cli_hub: CliHub) -> None:
    restricted = cli_hub.hub.register_client("quiet", allowed_types=["recognizer_loop:utterance"])
    path = write_identity(cli_hub.tmp / "quiet.json", restricted)
    done = await cli_hub.run("-i", str(path), "intents")
    assert done.code == 1
    assert done.err.startswith("thalovant: Hub policy denied"), done.err


async def test_global_options_and_version(cli_hub: CliHub) -> None:
    done = await cli_hub.run("--version")
    assert done.code == 0
    assert done.out.startswith("thalovant ")
    usage = await cli_hub.run("ask")
    assert usage.code == 2
    verbose = await cli_hub.run("-v", "ask", "hello")
    assert verbose.code == 0
    assert "DEBUG" in verbose.err
    assert cli_hub.identity.password not in verbose.err
    assert cli_hub.identity.access_key not in verbose.err
    https = cli_hub.hub.https_url
    assert https is not None
    over_host = await cli_hub.run("--host", https, "--protocol", "https", "ask", "hello")
    assert over_host.out.strip() == HELLO, over_host.err


async def test_ctrl_c_exits_130(cli_hub: CliHub) -> None:
    import signal
    import sys

    command = [sys.executable, "-m", "thalovant.cli", "-i", str(cli_hub.identity_file)]
    async with await anyio.open_process([*command, "listen", "speak"], env=cli_hub.env) as proc:
        with anyio.fail_after(60):
            await cli_hub.hub.wait_for_connections(1)
            proc.send_signal(signal.SIGINT)
            code = await proc.wait()
        assert proc.stderr is not None
        err = (await proc.stderr.receive(65536)).decode() if code != 130 else ""
    assert code == 130, err


async def test_identity_from_the_environment(cli_hub: CliHub) -> None:
    from .conftest import run_cli

    env = dict(cli_hub.env)
    identity = cli_hub.identity
    env.update(
        THALOVANT_ACCESS_KEY=identity.access_key,
        THALOVANT_PASSWORD=identity.password,
        THALOVANT_SITE_ID=identity.site_id,
        THALOVANT_DEFAULT_MASTER=cli_hub.hub.wss_url,
    )
    done = await run_cli(["ask", "hello"], env)
    assert (done.code, done.out.strip()) == (0, HELLO), done.err
    verbose = await run_cli(["-v", "health"], env)
    assert verbose.code == 0
    assert identity.password not in verbose.err


async def test_config_profile(cli_hub: CliHub) -> None:
    import yaml

    good = cli_hub.identity.as_dict(include_secrets=True)
    bad = {**good, "password": "not-this-one-either"}
    config = cli_hub.tmp / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"version": 1, "profiles": {"prod": {"identity": good}, "bad": {"identity": bad}}}
        )
    )
    config.chmod(0o600)
    from .conftest import run_cli

    done = await run_cli(
        ["--config", str(config), "--profile", "prod", "ask", "hello"], cli_hub.env
    )
    assert (done.code, done.out.strip()) == (0, HELLO), done.err
    done = await run_cli(["ask", "hello", "--config", str(config), "--profile", "bad"], cli_hub.env)
    assert done.code == 1
