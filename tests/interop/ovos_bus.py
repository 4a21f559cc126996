"""A real OVOS messagebus (``ovos-messagebus`` from the peer venv) with a small responder.

:class:`OvosBus` starts, on a free loopback port and with its own XDG folders, the bus and
``agent_responder.py``; it stops both by pid. The agent-mode tests point the local hub at it
(``LocalHub(ovos_bus=bus.url)``). No HiveMind-core runs on this bus: only our hub relays.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

from .peer import HERE, START_TIMEOUT, PeerStartError, free_port

__all__ = ["OvosBus"]


class OvosBus:
    """``ovos-messagebus`` and the agent responder; a context manager."""

    def __init__(self, venv: Path, workdir: Path) -> None:
        self.venv = venv
        self.workdir = workdir
        self.port = free_port()
        self._procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    @property
    def url(self) -> str:
        """The bus URL for ``LocalHub(ovos_bus=...)``."""
        return f"ws://127.0.0.1:{self.port}/core"

    def __enter__(self) -> OvosBus:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the bus, wait for its port, start the responder, wait for ``ready``."""
        env = self._env()
        self._start_bus(env)
        python = str(self.venv / "bin" / "python")
        argv = [python, str(HERE / "agent_responder.py"), "127.0.0.1", str(self.port)]
        responder = self._start("responder", argv, env)
        deadline = time.monotonic() + START_TIMEOUT
        while "ready" not in self.log("responder"):
            self._step(responder, deadline)

    def restart_bus(self) -> None:
        """Stop the bus process (its clients see the link drop) and start it on the same port."""
        for proc in [p for p in self._procs if p[0] == "bus"]:
            self._stop(proc[1])
            self._procs.remove(proc)
        self._start_bus(self._env())

    def _env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
            path = self.workdir / "xdg" / kind.lower()
            path.mkdir(parents=True, exist_ok=True)
            env[f"XDG_{kind}_HOME"] = str(path)
        conf = Path(env["XDG_CONFIG_HOME"], "mycroft")
        conf.mkdir(parents=True, exist_ok=True)
        websocket = {"host": "127.0.0.1", "port": self.port, "route": "/core"}
        (conf / "mycroft.conf").write_text(json.dumps({"websocket": websocket}))
        return env

    def _start_bus(self, env: dict[str, str]) -> None:
        bus = self._start("bus", [str(self.venv / "bin" / "ovos-messagebus")], env)
        deadline = time.monotonic() + START_TIMEOUT
        address = ("127.0.0.1", self.port)
        while True:
            with contextlib.suppress(OSError), socket.create_connection(address, 1):
                break
            self._step(bus, deadline)

    def log(self, name: str) -> str:
        """The whole log of process ``name``."""
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Terminate every process started (newest first), by pid; kill if it lingers."""
        while self._procs:
            self._stop(self._procs.pop()[1])

    @staticmethod
    def _stop(popen: subprocess.Popen[bytes]) -> None:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=10)

    def _start(
        self, name: str, argv: list[str], env: dict[str, str]
    ) -> tuple[str, subprocess.Popen[bytes], Path]:
        log = self.workdir / f"{name}.log"
        with open(log, "ab") as handle:
            popen = subprocess.Popen(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                cwd=self.workdir,
            )
        proc = (name, popen, log)
        self._procs.append(proc)
        return proc

    def _step(self, proc: tuple[str, subprocess.Popen[bytes], Path], deadline: float) -> None:
        name, popen, _ = proc
        if time.monotonic() > deadline:
            raise PeerStartError(f"{name} did not come up in time:\n{self.log(name)[-3000:]}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = popen.wait(timeout=0.05)
            raise PeerStartError(f"{name} exited with {code}:\n{self.log(name)[-3000:]}")
