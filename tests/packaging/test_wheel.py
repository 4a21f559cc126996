"""The release artefacts: sdist and wheel build (``python -m build``), pass ``twine check``,
carry the metadata a user pins by, and the wheel installed in a fresh venv runs
``thalovant demo`` with nothing from this checkout on the path.

The build runs without isolation (hatchling comes with the ``test`` extra), so only the
fresh venv's ``pip install`` of the wheel's dependencies needs the package index (its cache
makes later runs quick). The whole module takes about 20-60 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import thalovant

ROOT = Path(__file__).resolve().parents[2]


def _run(*command: str | Path, cwd: Path, timeout: float = 300) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env = {k: v for k, v in env.items() if not k.startswith("THALOVANT_")}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    return out


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    version = thalovant.__version__
    wheel = dist / f"thalovant-{version}-py3-none-any.whl"
    sdist = dist / f"thalovant-{version}.tar.gz"
    assert wheel.is_file()
    assert sdist.is_file()
    out = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=dist)
    assert out.count("PASSED") == 2

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(f"thalovant-{version}.dist-info/METADATA").decode()
    assert "thalovant/py.typed" in names
    assert f"thalovant-{version}.dist-info/licenses/LICENSE" in names
    assert f"Version: {version}" in meta  # one place: thalovant/_version.py
    assert "License-Expression: MIT" in meta
    for label in ("Homepage", "Documentation", "Source", "Issues", "Changelog"):
        assert f"Project-URL: {label}, https://" in meta
    assert "Classifier: Typing :: Typed" in meta
    assert "Provides-Extra: otel" in meta
    assert "Requires-Dist: opentelemetry-api" in meta
    assert not any(name.startswith(("tests/", "docs/")) for name in names)
    with tarfile.open(sdist) as archive:
        top = {name.split("/")[1] for name in archive.getnames() if name.count("/")}
    assert {"thalovant", "tests", "docs", "LICENSE", "CHANGELOG.md", "pyproject.toml"} <= top
    assert not top & {".venv", ".grimp_cache", ".nox", "site", "dist"}


def test_the_wheel_runs_the_demo_from_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("thalovant-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    _run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        wheel,
        cwd=tmp_path,
    )
    where = _run(
        bin_dir / "python", "-c", "import thalovant; print(thalovant.__file__)", cwd=tmp_path
    )
    assert Path(where.strip()).is_relative_to(env_dir)
    out = _run(bin_dir / "thalovant", "demo", cwd=tmp_path, timeout=120)
    assert "joke" in out.lower()
