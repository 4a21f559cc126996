"""The console script's plumbing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from thalovant.cli import main


def test_identity_command_redacts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "_identity.json"
    path.write_text(
        json.dumps(
            {
                "access_key": "AK-very-secret",
                "password": "PW-very-secret",
                "site_id": "kiosk",
                "default_master": "wss://hub.example.com",
            }
        )
    )
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    assert main(["-i", str(path), "identity"]) == 0
    out = capsys.readouterr().out
    assert "kiosk" in out
    assert "AK-very-secret" not in out
    assert "PW-very-secret" not in out


def test_identity_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", str(tmp_path / "missing.json"), "identity"]) == 1
    assert capsys.readouterr().err.startswith("thalovant: ")


def test_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    """`thalovant identity | head -c 1`: the reader going away ends the command quietly."""
    path = tmp_path / "_identity.json"
    path.write_text(
        json.dumps(
            {
                "access_key": "a",
                "password": "p",
                "site_id": "s" * 200_000,
                "default_master": "wss://hub.example.com",
            }
        )
    )
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write raises BrokenPipeError
    done = subprocess.run(
        [sys.executable, "-m", "thalovant.cli", "-i", str(path), "identity"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    os.close(write_end)
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert done.returncode == 0
