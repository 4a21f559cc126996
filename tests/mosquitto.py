"""A real mosquitto broker for tests: password file, ACL file, TLS listener, free ports.

How a client registered on the hub becomes a mosquitto account: the hub calls its
``mqtt_provisioner`` (:meth:`Mosquitto.add_client`), which adds the user with
``mosquitto_passwd``, appends the client's ACL (write ``<prefix>/in`` and ``<prefix>/status``,
read ``<prefix>/out``) and sends mosquitto SIGHUP. mosquitto logs "Reloading config." and
reloads in the same pass of its single-threaded loop, so once that line is read any later
CONNECT sees the new account. This is how an operator would wire a real broker by hand; a
deployment would use mosquitto's dynamic-security plugin instead.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

from thalovant.testing import HubTLS

__all__ = ["Mosquitto", "mosquitto_available"]

_TIMEOUT = 10.0


def mosquitto_available() -> bool:
    """mosquitto and mosquitto_passwd are installed."""
    return bool(shutil.which("mosquitto") and shutil.which("mosquitto_passwd"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mosquitto:
    """mosquitto on loopback: plain ``hub_port`` for the hub, TLS ``client_port`` for clients."""

    def __init__(self, folder: Path, tls: HubTLS) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.hub_user, self.hub_password = "hub", secrets.token_urlsafe(16)
        self.hub_port, self.client_port = _free_port(), _free_port()
        cert = tls.ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(folder / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
        self._passwd = folder / "passwd"
        self._acl = folder / "acl"
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._seen = threading.Condition(self._lock)
        self._passwd_add(self.hub_user, self.hub_password, create=True)
        self._acl.write_text(f"user {self.hub_user}\ntopic readwrite #\n")
        (folder / "mosquitto.conf").write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    *([f"user {getpass.getuser()}"] if os.geteuid() == 0 else []),
                    "allow_anonymous false",
                    f"password_file {self._passwd}",
                    f"acl_file {self._acl}",
                    "persistence false",
                    "log_dest stderr",  # unbuffered, unlike a piped stdout
                    "log_type all",
                    f"listener {self.hub_port} 127.0.0.1",
                    f"listener {self.client_port} 127.0.0.1",
                    f"cafile {tls.ca_file}",
                    f"certfile {folder / 'cert.pem'}",
                    f"keyfile {folder / 'key.pem'}",
                    "",
                ]
            )
        )
        self._process: subprocess.Popen[str] | None = None

    @property
    def hub_url(self) -> str:
        """The hub's broker URL with its account in the userinfo."""
        return f"mqtt://{self.hub_user}:{self.hub_password}@127.0.0.1:{self.hub_port}"

    @property
    def client_url(self) -> str:
        """What clients connect to."""
        return f"mqtts://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        """Start mosquitto and wait until it says it is running."""
        self._process = subprocess.Popen(
            ["mosquitto", "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self._process,), daemon=True).start()
        try:
            self._wait_for(" running", 0)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop mosquitto (by pid) and wait for it."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()

    def add_client(self, username: str, password: str, topic_prefix: str) -> None:
        """Provision one client account and reload mosquitto (the hub's provisioner)."""
        self._passwd_add(username, password)
        with self._acl.open("a") as acl:
            acl.write(
                f"user {username}\ntopic write {topic_prefix}/in\n"
                f"topic write {topic_prefix}/status\ntopic read {topic_prefix}/out\n"
            )
        with self._lock:
            start = len(self._lines)
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGHUP)
        self._wait_for("Reloading config", start)

    def _passwd_add(self, username: str, password: str, create: bool = False) -> None:
        args = ["mosquitto_passwd", "-b", str(self._passwd), username, password]
        if create:
            args.insert(1, "-c")
        subprocess.run(args, check=True, capture_output=True, timeout=_TIMEOUT)

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with self._seen:
                self._lines.append(line)
                self._seen.notify_all()

    def _wait_for(self, text: str, start: int) -> None:
        with self._seen:
            found = self._seen.wait_for(
                lambda: any(text in line for line in self._lines[start:]), _TIMEOUT
            )
        if not found:
            raise RuntimeError(f"mosquitto did not log {text!r}: {''.join(self._lines)[-2000:]}")
