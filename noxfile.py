"""Developer sessions: ``nox -s lint typecheck tests`` (and ``bench``, ``chaos``, ``soak``)."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

SOURCES = ["thalovant", "tests", "benchmarks", "examples", "noxfile.py"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "thalovant")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (no interop)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "not interop", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Micro-benchmarks and end-to-end figures; prints a table."""
    session.install("-e", ".[test]")
    # bench_fastapi: uvicorn as deployed (uvicorn[standard]: uvloop, httptools); wrk (Debian)
    # is used as the load generator when installed.
    session.install("uvloop", "httptools")
    for script in sorted(p for p in __import__("pathlib").Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script))


@nox.session
def examples(session: nox.Session) -> None:
    """Run every script in examples/ against a local hub (tests/examples)."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/examples", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with --strict (tests/docs/test_site.py runs the same)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def interop(session: nox.Session) -> None:
    """Interop with HiveMind-core 5.x and hivemind-bus-client (builds the peer venv once)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-m", "interop", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """The chaos suite at full scale: hostile input, silent sockets, floods, load."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/chaos", *session.posargs, env={"THALOVANT_CHAOS_SCALE": "full"})


@nox.session
def soak(session: nox.Session) -> None:
    """The agent soak (tests/agent/test_soak.py) with many more fault rounds per carrier."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests/agent/test_soak.py",
        "-s",
        "-p",
        "no:randomly",
        "-o",
        "timeout=1800",
        *session.posargs,
        env={"THALOVANT_CHAOS_SCALE": "full"},
    )
