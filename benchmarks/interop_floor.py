"""The peer's own floor, measured inside the peer venv (run by bench_interop.py).

Prints one JSON object of latency samples in milliseconds, from sending an utterance to the
first ``speak``:

* ``bus``: straight on the OVOS bus (responder only, no hub) - the agent's floor;
* ``hm-wss`` / ``hm-https``: hivemind-bus-client through the hub - the hub's own floor.

Usage: python interop_floor.py BUS_PORT WSS_PORT HTTPS_PORT CA_FILE SAMPLES KEY1 PW1 KEY2 PW2
"""

import json
import os
import sys
import threading
import time

from hivemind_bus_client.identity import NodeIdentity
from hivemind_bus_client.message import HiveMessage, HiveMessageType
from ovos_bus_client import Message, MessageBusClient


def timed(send, speak_event: threading.Event, samples: int) -> list[float]:
    out = []
    for n in range(samples):
        speak_event.clear()
        start = time.perf_counter()
        send(f"floor {n}")
        if not speak_event.wait(20):
            raise SystemExit("no speak")
        out.append((time.perf_counter() - start) * 1000)
    return out


def utterance(text: str) -> Message:
    return Message("recognizer_loop:utterance", {"utterances": [text], "lang": "en-us"})


def main() -> None:
    bus_port, wss_port, https_port, ca_file, samples = sys.argv[1:6]
    creds = sys.argv[6:10]
    samples_n = int(samples)
    os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = ca_file
    os.environ["REQUESTS_CA_BUNDLE"] = ca_file
    result = {}

    heard = threading.Event()
    bus = MessageBusClient(host="127.0.0.1", port=int(bus_port), route="/core")
    bus.on("speak", lambda m: heard.set())
    bus.run_in_thread()
    bus.connected_event.wait(10)
    result["bus"] = timed(lambda t: bus.emit(utterance(t)), heard, samples_n)
    bus.close()

    from hivemind_bus_client.client import HiveMessageBusClient
    from hivemind_bus_client.http_client import HiveMindHTTPClient

    for name, cls, scheme, port, (key, password) in (
        ("hm-wss", HiveMessageBusClient, "wss", wss_port, creds[0:2]),
        ("hm-https", HiveMindHTTPClient, "https", https_port, creds[2:4]),
    ):
        heard = threading.Event()
        client = cls(
            key=key,
            password=password,
            host=f"{scheme}://127.0.0.1",
            port=int(port),
            self_signed=False,
            identity=NodeIdentity(app_name=f"floor-{scheme}"),
        )
        client.on_mycroft("speak", lambda m, ev=heard: ev.set())
        client.connect(site_id="floor", handshake_max_retries=2)
        send = lambda t, c=client: c.emit(HiveMessage(HiveMessageType.BUS, utterance(t)))  # noqa: E731
        result[name] = timed(send, heard, samples_n)
    print("RESULT " + json.dumps(result), flush=True)
    os._exit(0)  # the clients' worker threads are not daemons


if __name__ == "__main__":
    main()
