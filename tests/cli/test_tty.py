"""``thalovant chat`` on a real terminal (a pty): prompt, readline history, Ctrl-D exits."""

from __future__ import annotations

import os
import pty
import sys

import anyio
import pytest

from .conftest import CliHub

pytestmark = pytest.mark.anyio


async def test_chat_on_a_terminal(cli_hub: CliHub) -> None:
    master, slave = pty.openpty()
    seen = b""

    async def until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            chunk = await anyio.to_thread.run_sync(os.read, master, 4096, abandon_on_cancel=True)
            assert chunk, seen
            seen += chunk

    command = [sys.executable, "-m", "thalovant.cli", "-i", str(cli_hub.identity_file), "chat"]
    try:
        with anyio.fail_after(60):
            async with await anyio.open_process(
                command, stdin=slave, stdout=slave, stderr=slave, env=cli_hub.env
            ) as process:
                await until(b"you> ")
                os.write(master, b"hello\r")
                await until(b"hub> Hello! I am your local Thalovant hub.")
                seen = seen.split(b"hub> ", 1)[1]
                await until(b"you> ")
                os.write(master, b"\x04")  # Ctrl-D
                assert await process.wait() == 0
    finally:
        os.close(master)
        os.close(slave)
    history = cli_hub.tmp / "home" / ".state" / "thalovant" / "chat_history"
    assert "hello" in history.read_text().splitlines()
    assert oct(history.stat().st_mode & 0o777) == "0o600"


async def on_terminal(cli_hub: CliHub, *args: str, **env: str) -> tuple[int, str]:
    """Run the CLI with stdout on a pty; its exit code and everything it wrote."""
    master, slave = pty.openpty()
    out = b""

    def read_all() -> bytes:
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return got
            if not chunk:
                return got
            got += chunk

    command = [sys.executable, "-m", "thalovant.cli", "-i", str(cli_hub.identity_file), *args]
    try:
        with anyio.fail_after(60):
            process = await anyio.open_process(
                command, stdout=slave, stderr=slave, env={**cli_hub.env, **env}
            )
            os.close(slave)  # only the child holds the terminal now
            slave = -1
            async with process:
                out = await anyio.to_thread.run_sync(read_all, abandon_on_cancel=True)
                code = await process.wait()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return code, out.decode()


async def test_tables_only_on_a_terminal(cli_hub: CliHub) -> None:
    code, out = await on_terminal(cli_hub, "doctor")
    assert code == 0
    assert "\x1b[32mPASS\x1b[0m  identity" in out
    code, out = await on_terminal(cli_hub, "doctor", NO_COLOR="1")
    assert "\x1b[" not in out.replace("\r", "").split("PASS", 1)[1]
    code, out = await on_terminal(cli_hub, "intents", "--speakable")
    assert code == 0
    assert "Hello  (thalovant-demo.hello)" in out
    assert '"Hello." / "Hi."' in out
