"""The documentation site builds with ``mkdocs build --strict`` and no warnings (what
``nox -s docs`` runs), so CI, which runs only the test suite, checks it on every run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner, not ours
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    reference = (tmp_path / "reference" / "client" / "index.html").read_text(encoding="utf-8")
    assert "AsyncThalovantClient" in reference
    assert "ask_stream" in reference  # mkdocstrings rendered the members
    for guide in (ROOT / "docs" / "guides").glob("*.md"):
        assert (tmp_path / "guides" / guide.stem / "index.html").is_file()
