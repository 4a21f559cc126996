"""The command line without a hub: usage errors (exit 2), a missing identity (exit 1), help."""

from __future__ import annotations

from pathlib import Path

from .conftest import cli_env, run_cli_sync

COMMANDS = ["ask", "chat", "utter", "listen", "emit", "health", "doctor", "intents"]


def test_help_lists_every_command(tmp_path: Path) -> None:
    done = run_cli_sync(["--help"], cli_env(tmp_path, None))
    assert done.code == 0
    for command in [*COMMANDS, "identity", "demo", "hub"]:
        assert command in done.out


def test_missing_identity_fails_with_a_message(tmp_path: Path) -> None:
    env = cli_env(tmp_path, None)
    for command in (["ask", "hi"], ["health"], ["intents"]):
        done = run_cli_sync(command, env)
        assert done.code == 1, command
        assert done.err.startswith("thalovant: "), done.err
        assert "Traceback" not in done.err
    doctor = run_cli_sync(["doctor"], env)
    assert doctor.code == 1
    assert doctor.out.splitlines()[0].startswith("FAIL  identity")
    assert "THALOVANT_ACCESS_KEY" in doctor.out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    env = cli_env(tmp_path, None)
    ident = tmp_path / "me.json"
    ident.write_text(
        '{"access_key": "a", "password": "p", "site_id": "s", "default_master": "wss://h:1"}'
    )
    ident.chmod(0o600)
    cases = [
        ["ask"],
        ["--protocol", "carrier-pigeon", "health"],
        ["-i", str(ident), "--port", "0", "health"],
        ["-i", str(ident), "ask", "hi", "--timeout", "-1"],
        ["-i", str(ident), "listen", "speak", "--max-events", "0"],
        ["-i", str(ident), "emit", "x", "--data", "[]"],
    ]
    for args in cases:
        done = run_cli_sync(args, env)
        assert done.code == 2, (args, done.err)
        assert "Traceback" not in done.err
