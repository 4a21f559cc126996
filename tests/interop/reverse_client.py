"""hivemind-bus-client (an independent HiveMind v3 client) against our local hub.

Runs in the peer venv. Connects over WSS (``HiveMessageBusClient``) or HTTPS
(``HiveMindHTTPClient``) with TLS verified against the CA file, completes the handshake,
sends one utterance and waits for the hub's ``speak``. Prints one line ``RESULT <json>``:
``{"handshake": true, "speak": "<text>", "noise": <bool>}``; exits 1 on failure.

Usage: python reverse_client.py wss|https URL PORT ACCESS_KEY PASSWORD CA_FILE UTTERANCE
"""

import json
import os
import sys
import threading

from hivemind_bus_client.identity import NodeIdentity
from hivemind_bus_client.message import HiveMessage, HiveMessageType
from ovos_bus_client.message import Message


def main() -> None:
    carrier, url, port, key, password, ca_file, utterance = sys.argv[1:8]
    os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = ca_file  # websocket-client (WSS)
    os.environ["REQUESTS_CA_BUNDLE"] = ca_file  # requests (HTTPS)
    options = dict(
        key=key,
        password=password,
        host=url,
        port=int(port),
        self_signed=False,  # verify our hub's certificate against the test CA
        useragent="hivemind-bus-client-interop",
        identity=NodeIdentity(app_name="interop"),
    )
    if carrier == "wss":
        from hivemind_bus_client.client import HiveMessageBusClient

        client = HiveMessageBusClient(**options)
    else:
        from hivemind_bus_client.http_client import HiveMindHTTPClient

        client = HiveMindHTTPClient(**options)
    spoken = []
    heard = threading.Event()

    def on_speak(message: Message) -> None:
        spoken.append(message.data.get("utterance", ""))
        heard.set()

    client.on_mycroft("speak", on_speak)
    client.connect(site_id="reverse-interop", handshake_max_retries=2)
    handshake = client.handshake_event.is_set()
    message = Message("recognizer_loop:utterance", {"utterances": [utterance], "lang": "en-us"})
    client.emit(HiveMessage(HiveMessageType.BUS, message))
    ok = heard.wait(30)
    result = {
        "handshake": handshake,
        "noise": client.noise_transport is not None,
        "speak": spoken[0] if spoken else None,
    }
    print("RESULT " + json.dumps(result), flush=True)
    try:
        client.close() if carrier == "wss" else client.shutdown()
    finally:
        os._exit(0 if ok else 1)  # the client's worker threads are not daemons


if __name__ == "__main__":
    main()
