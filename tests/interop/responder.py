"""OVOS agent stand-in for the interop hub: runs in the peer venv, not in the test process.

Answers ``recognizer_loop:utterance`` on the OVOS bus with ``speak`` ("you said <text>, turn
<n>" where n counts turns per session id) and then ``ovos.utterance.handled``, both through
``Message.reply`` so the hub routes them back to the asking client. It listens to that one
name only: ovos-bus-client 2.x also routes ``ovos.utterance.handle`` to the same handler, and
listening to both would answer twice. Prints ``ready`` once connected to the bus.

Usage: python responder.py HOST PORT
"""

import sys
from collections import Counter

from ovos_bus_client import Message, MessageBusClient

turns: Counter = Counter()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    bus = MessageBusClient(host=host, port=port, route="/core")

    def on_utterance(message: Message) -> None:
        utterances = message.data.get("utterances") or [""]
        session = message.context.get("session") or {}
        session_id = session.get("session_id", "default")
        turns[session_id] += 1
        text = f"you said {utterances[0]}, turn {turns[session_id]}"
        bus.emit(message.reply("speak", {"utterance": text, "lang": message.data.get("lang")}))
        bus.emit(message.reply("ovos.utterance.handled", {}))
        print(f"answered {message.msg_type} in {session_id}", flush=True)

    bus.on("recognizer_loop:utterance", on_utterance)
    bus.run_in_thread()
    if not bus.connected_event.wait(30):
        print("bus not reachable", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    # Serve until the harness terminates this process (SIGTERM).
    import threading

    threading.Event().wait()


if __name__ == "__main__":
    main()
