"""The console script's plumbing."""

from __future__ import annotations

import json
import os
import stat
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
