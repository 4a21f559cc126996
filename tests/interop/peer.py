"""The independent HiveMind peer for interop tests: its venv, its certificates, its processes.

:func:`peer_venv` builds (once, cached by the hash of :data:`PINS`) a virtualenv holding
HiveMind-core 5.x with its WSS, HTTPS and MQTT plugins, the OVOS message bus,
hivemind-bus-client and the amqtt broker. :class:`PeerHub` starts, on free loopback ports and
with its own XDG folders, an amqtt broker (plain for the hub, TLS for clients), the OVOS bus,
the responder (``responder.py``) and ``hivemind-core listen``; registers clients; and stops
every process it started, by pid. Used by ``tests/interop`` and ``benchmarks/bench_interop.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thalovant.identity.model import ThalovantIdentity

__all__ = ["PINS", "PeerBuildError", "PeerClient", "PeerHub", "peer_venv"]

#: The peer: the newest HiveMind-core pre-releases that speak protocol v3 and run together.
PINS: tuple[str, ...] = (
    "hivemind-core==5.3.10a1",
    "hivemind-websocket-protocol==1.0.6a1",
    "hivemind-http-protocol==0.0.20a2",
    "hivemind-mqtt-protocol==0.2.5a2",
    "hivemind-bus-client==1.2.12a1",
    "ovos-messagebus==0.2.1a6",
    "amqtt==0.12.1",
)
#: Topic prefix of the hub's MQTT plugin; a client's prefix is ``<this>/<access key>``.
MQTT_TOPIC_PREFIX = "thalovant-interop"
#: Allowed message types of a normal client.
UTTERANCE = "recognizer_loop:utterance"
HERE = Path(__file__).resolve().parent
START_TIMEOUT = 60.0


class PeerBuildError(RuntimeError):
    """The peer venv could not be built (usually: no network on the first run)."""


class PeerStartError(RuntimeError):
    """A peer process did not come up; the message carries the tail of its log."""


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/thalovant-interop``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "thalovant-interop"


def peer_venv(root: Path | None = None) -> Path:
    """The peer venv's folder, built on first use and reused while the pins stay the same."""
    key = "\n".join((*PINS, f"{sys.version_info[0]}.{sys.version_info[1]}"))
    folder = (root or cache_root()) / hashlib.sha256(key.encode()).hexdigest()[:16]
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it right now
        if done.exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        steps = (
            [sys.executable, "-m", "venv", str(folder)],
            [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--pre", *PINS],
        )
        for step in steps:
            run = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
            if run.returncode != 0:
                tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
                raise PeerBuildError(
                    "could not build the HiveMind peer venv for the interop tests (the first "
                    f"run needs network access to PyPI): {' '.join(step[:4])} ... exited "
                    f"{run.returncode}:\n{tail}"
                )
        done.write_text("\n".join(PINS) + "\n")
    return folder


def free_port() -> int:
    """A free loopback TCP port (nothing listens on it when this returns)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class PeerClient:
    """A client registered with the peer hub."""

    name: str
    access_key: str
    password: str
    allow: tuple[str, ...]


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class PeerHub:
    """HiveMind-core with WSS, HTTPS and MQTT, an OVOS bus, a responder and a broker.

    ``tls_ca`` is a ``trustme.CA``; clients verify the hub (and the broker) against it.
    Use as a context manager; :meth:`stop` ends every process started, by pid.
    """

    venv: Path
    workdir: Path
    tls_ca: Any
    ca_file: Path
    ports: dict[str, int] = field(default_factory=dict)
    clients: list[PeerClient] = field(default_factory=list)
    _procs: list[_Proc] = field(default_factory=list)
    _taken: set[str] = field(default_factory=set)
    _xdg: dict[str, str] = field(default_factory=dict)

    # -------------------------------------------------------------------- lifecycle

    def __enter__(self) -> PeerHub:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def start(self) -> None:
        """Start broker, bus, responder and hub on free ports; wait until each serves."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in ("broker", "broker_tls", "bus", "wss", "https"):
            self.ports[name] = free_port()
        self._write_certificates()
        self._xdg = self._xdg_dirs("hub")
        self._write_configs()
        self._start_broker()
        self._start("bus", [str(self.venv / "bin" / "ovos-messagebus")], env=self._xdg, port="bus")
        self._start_responder()
        self.register(["mqtt-probe"], allow=())
        self.start_hub()

    def start_hub(self) -> None:
        """Start ``hivemind-core listen`` (again, after :meth:`stop_hub`) on the same ports."""
        self._start(
            "hub", [str(self.venv / "bin" / "hivemind-core"), "listen"], env=self._xdg, port="wss"
        )
        self._wait_port("hub", self.ports["https"])
        self._wait_mqtt_ready()

    def stop_hub(self) -> None:
        """Stop the hub process only (broker, bus and responder keep running)."""
        for proc in [p for p in self._procs if p.name == "hub"]:
            self._stop_proc(proc)
            self._procs.remove(proc)

    def kill_hub(self) -> None:
        """Kill the hub process (SIGKILL: no goodbye to any client); broker, bus and
        responder keep running. :meth:`start_hub` starts it again."""
        for proc in [p for p in self._procs if p.name == "hub"]:
            if proc.popen.poll() is None:
                proc.popen.kill()
            proc.popen.wait(timeout=10)
            self._procs.remove(proc)

    def rotate_hub_key(self) -> None:
        """Give the hub a new Noise static key: stop it, delete its key, start it again."""
        self.stop_hub()
        keys = list(Path(self._xdg["XDG_CONFIG_HOME"], "hivemind").glob("*_noise.key"))
        if not keys:
            raise PeerStartError("the hub has no *_noise.key to rotate")
        for key in keys:
            key.unlink()
        self.start_hub()

    def stop(self) -> None:
        """Terminate every process started (newest first), by pid; kill if it lingers."""
        while self._procs:
            self._stop_proc(self._procs.pop())

    @staticmethod
    def _stop_proc(proc: _Proc) -> None:
        if proc.popen.poll() is None:
            proc.popen.terminate()
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=10)

    # ------------------------------------------------------------------------ clients

    def register(self, names: Sequence[str], *, allow: Sequence[str] = (UTTERANCE,)) -> None:
        """Register clients (one access key each) in the hub's database, in one process."""
        made = [
            PeerClient(
                name=name,
                access_key=f"ak-{name}-{secrets.token_hex(4)}",
                password=secrets.token_urlsafe(24),
                allow=tuple(allow),
            )
            for name in names
        ]
        payload = [
            {"name": c.name, "access_key": c.access_key, "password": c.password, "allow": c.allow}
            for c in made
        ]
        run = subprocess.run(
            [self.python, str(HERE / "register.py")],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            env={**os.environ, **self._xdg},
            timeout=120,
            check=False,
        )
        if run.returncode != 0:
            raise PeerStartError(f"registering clients failed:\n{run.stdout}{run.stderr}")
        self.clients.extend(made)

    def take(self, *, allow: Sequence[str] = (UTTERANCE,)) -> PeerClient:
        """An unused registered client with exactly ``allow`` (one per client program)."""
        for client in self.clients:
            if client.allow == tuple(allow) and client.access_key not in self._taken:
                self._taken.add(client.access_key)
                return client
        raise PeerStartError(f"no unused peer client allowed {list(allow)}: register more")

    def identity(self, client: PeerClient, *, password: str | None = None) -> ThalovantIdentity:
        """The Thalovant identity of ``client`` for all three carriers of this hub."""
        https = f"https://127.0.0.1:{self.ports['https']}"
        wss = f"wss://127.0.0.1:{self.ports['wss']}"
        return ThalovantIdentity.from_mapping(
            {
                "access_key": client.access_key,
                "password": password if password is not None else client.password,
                "site_id": client.name,
                "default_master": https,
                "default_port": self.ports["https"],
                "data_plane_endpoints": {"wss": wss, "https": https},
                "protocols": {"wss": True, "http": True, "mqtt": True},
                "mqtt": {
                    "endpoint": f"mqtts://127.0.0.1:{self.ports['broker_tls']}",
                    "username": client.access_key,
                    "password": client.password,
                    "topic_prefix": f"{MQTT_TOPIC_PREFIX}/{client.access_key}",
                    "tls": True,
                },
            }
        )

    def logs(self) -> str:
        """The tail of every process log (for failure messages)."""
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in self._procs)

    # ------------------------------------------------------------------------ set-up

    def _xdg_dirs(self, owner: str) -> dict[str, str]:
        dirs = {}
        for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
            path = self.workdir / owner / kind.lower()
            path.mkdir(parents=True, exist_ok=True)
            dirs[f"XDG_{kind}_HOME"] = str(path)
        return dirs

    def _write_certificates(self) -> None:
        cert = self.tls_ca.issue_cert("127.0.0.1", "localhost")
        certs = self.workdir / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        (certs / "hivemind.crt").write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
        (certs / "hivemind.key").write_bytes(cert.private_key_pem.bytes())
        os.chmod(certs / "hivemind.key", 0o600)

    def _write_configs(self) -> None:
        config = Path(self._xdg["XDG_CONFIG_HOME"])
        certs = str(self.workdir / "certs")
        tls = {"ssl": True, "cert_dir": certs, "cert_name": "hivemind"}
        server = {
            "network_protocol": {
                "hivemind-websocket-plugin": {
                    "host": "127.0.0.1",
                    "port": self.ports["wss"],
                    **tls,
                },
                "hivemind-http-plugin": {"host": "127.0.0.1", "port": self.ports["https"], **tls},
                "hivemind-mqtt-plugin": {
                    "broker_host": "127.0.0.1",
                    "broker_port": self.ports["broker"],
                    "topic_prefix": MQTT_TOPIC_PREFIX,
                    "qos": 1,
                },
            },
            "agent_protocol": {
                "module": "hivemind-ovos-agent-plugin",
                "hivemind-ovos-agent-plugin": {"host": "127.0.0.1", "port": self.ports["bus"]},
            },
            "presence": {"enabled": False, "zeroconf": False, "upnp": False},
        }
        (config / "hivemind-core").mkdir(parents=True, exist_ok=True)
        (config / "hivemind-core" / "server.json").write_text(json.dumps(server, indent=2))
        mycroft = {
            "websocket": {"host": "127.0.0.1", "port": self.ports["bus"], "route": "/core"},
        }
        (config / "mycroft").mkdir(parents=True, exist_ok=True)
        (config / "mycroft" / "mycroft.conf").write_text(json.dumps(mycroft, indent=2))
        certs_dir = self.workdir / "certs"
        (self.workdir / "broker.yaml").write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.ports['broker']}\n"
            "  tls:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.ports['broker_tls']}\n"
            "    ssl: true\n"
            f"    certfile: {certs_dir / 'hivemind.crt'}\n"
            f"    keyfile: {certs_dir / 'hivemind.key'}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )

    def _start_broker(self) -> None:
        self._start(
            "broker",
            [str(self.venv / "bin" / "amqtt"), "-c", str(self.workdir / "broker.yaml")],
            env=self._xdg_dirs("broker"),
            port="broker",
        )
        self._wait_port("broker", self.ports["broker_tls"])

    def _start_responder(self) -> None:
        proc = self._start(
            "responder",
            [self.python, str(HERE / "responder.py"), "127.0.0.1", str(self.ports["bus"])],
            env=self._xdg_dirs("responder"),
        )
        deadline = time.monotonic() + START_TIMEOUT
        while "ready" not in proc.log.read_text(errors="replace"):
            self._step(proc, deadline)

    def _start(
        self, name: str, argv: list[str], *, env: dict[str, str], port: str | None = None
    ) -> _Proc:
        log = self.workdir / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 - the child owns it; closed below
        try:
            popen = subprocess.Popen(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                cwd=self.workdir,
            )
        finally:
            handle.close()
        proc = _Proc(name, popen, log)
        self._procs.append(proc)
        if port is not None:
            self._wait_port(name, self.ports[port])
        return proc

    def _proc(self, name: str) -> _Proc:
        return next(p for p in reversed(self._procs) if p.name == name)

    def _step(self, proc: _Proc, deadline: float) -> None:
        """Wait a short slice on ``proc``'s exit; raise if it exited or time is up."""
        if time.monotonic() > deadline:
            raise PeerStartError(f"{proc.name} did not come up in time:\n{proc.tail()}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = proc.popen.wait(timeout=0.05)
            raise PeerStartError(f"{proc.name} exited with {code}:\n{proc.tail()}")

    def _wait_port(self, name: str, port: int) -> None:
        proc = self._proc(name)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            self._step(proc, deadline)

    def _wait_mqtt_ready(self) -> None:
        """Wait until the hub's MQTT plugin answers a HELLO (its subscription is live)."""
        probe = next(c for c in self.clients if c.name == "mqtt-probe")
        script = (
            "import sys, paho.mqtt.client as m, threading\n"
            "port, topic = int(sys.argv[1]), sys.argv[2]\n"
            "got = threading.Event()\n"
            "c = m.Client(m.CallbackAPIVersion.VERSION2)\n"
            "c.on_connect = lambda c, u, f, rc, p: c.subscribe(topic + '/out', 1)\n"
            "c.on_subscribe = lambda *a: c.publish(topic + '/in', "
            '\'{"msg_type": "hello", "payload": {}}\', 1)\n'
            "c.on_message = lambda *a: got.set()\n"
            "c.connect('127.0.0.1', port)\n"
            "c.loop_start()\n"
            "ok = got.wait(30)\n"
            "c.publish(topic + '/status', 'offline', 1).wait_for_publish(5)\n"
            "c.loop_stop()\n"
            "sys.exit(0 if ok else 1)\n"
        )
        run = subprocess.run(
            [
                self.python,
                "-c",
                script,
                str(self.ports["broker"]),
                f"{MQTT_TOPIC_PREFIX}/{probe.access_key}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if run.returncode != 0:
            raise PeerStartError(
                f"the hub's MQTT plugin never answered:\n{run.stderr}\n{self.logs()}"
            )


@contextlib.contextmanager
def running_peer(workdir: Path, tls_ca: Any, ca_file: Path) -> Iterator[PeerHub]:
    """Build (or reuse) the venv and run a :class:`PeerHub` in ``workdir``."""
    with PeerHub(peer_venv(), workdir, tls_ca, ca_file) as hub:
        yield hub
