"""Start the workers' test app under real uvicorn or gunicorn (a subprocess) and stop it.

:class:`Service` runs ``uvicorn --workers N`` or ``gunicorn -k uvicorn_worker.UvicornWorker``
(optionally ``--preload``) on a free loopback port, with the test CA named by the CA bundle
variables the SDK honours. Workers report through marker files (see ``workers_app``); every
wait is bounded, and :meth:`Service.stop` sends SIGTERM, then kills the process group.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from thalovant.carriers.tls import CA_BUNDLE_ENV

HERE = Path(__file__).resolve().parent
#: Seconds for every worker to connect, ask once and report (first contact included).
START_TIMEOUT = 60.0
#: Seconds a SIGTERM'd server has to exit before it is killed.
STOP_TIMEOUT = 20.0


def free_port() -> int:
    """A loopback TCP port free at the time of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """One run of the test app: ``server`` is ``"uvicorn"`` or ``"gunicorn"``."""

    def __init__(
        self,
        server: str,
        identity_file: Path,
        ca_file: Path,
        markers: Path,
        *,
        workers: int = 2,
        preload: bool = False,
        app: str = "workers_app:app",
        app_dir: Path = HERE,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.markers = markers
        self.workers = workers
        markers.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("THALOVANT_", "WORKERS_"))}
        env.update({name: str(ca_file) for name in CA_BUNDLE_ENV})
        env.update(
            WORKERS_IDENTITY=str(identity_file),
            WORKERS_MARKERS=str(markers),
            PYTHONUNBUFFERED="1",
        )
        if preload:
            env["WORKERS_PRELOAD"] = "1"
        env.update(extra_env or {})
        bind = f"127.0.0.1:{self.port}"
        if server == "uvicorn":
            argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), app]
            argv += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
            argv += ["--no-access-log", "--timeout-graceful-shutdown", "10"]
        else:
            argv = [sys.executable, "-m", "gunicorn", "--chdir", str(app_dir), app]
            argv += ["-k", "uvicorn_worker.UvicornWorker", "-w", str(workers), "-b", bind]
            argv += ["--graceful-timeout", "10", "--timeout", "60"]
            argv += ["--preload"] if preload else []
        self.log = markers / "server.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def records(self) -> list[dict[str, Any]]:
        """The marker of every worker that reported so far."""
        return [json.loads(p.read_text()) for p in sorted(self.markers.glob("*.json"))]

    async def wait_for_workers(
        self, count: int | None = None, within: float = START_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Poll the marker folder until ``count`` workers reported (bounded).

        Raises:
            AssertionError: Not within ``within`` seconds, or the server exited first.
        """
        want = self.workers if count is None else count
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.records()
            if len(found) >= want:
                return found
            if self.proc.poll() is not None:
                break
            await anyio.sleep(0.05)  # polling a folder until ready, within the bound
        raise AssertionError(f"{len(self.records())}/{want} workers reported:\n{self.output()}")

    def output(self) -> str:
        """What the server printed so far."""
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    async def stop(self, within: float = STOP_TIMEOUT) -> int:
        """SIGTERM the server and wait; kill the process group if it does not exit in time.

        Returns:
            The exit code (negative for a signal).
        """
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await anyio.to_thread.run_sync(self.proc.wait, within)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                await anyio.to_thread.run_sync(self.proc.wait, 5)
                raise AssertionError(f"the server did not exit within {within} s") from None
        self._log_file.close()
        return self.proc.returncode
