"""A small OVOS skill stand-in for the agent-mode tests: runs in the peer venv.

Answers ``recognizer_loop:utterance`` on the OVOS bus with ``speak`` ("you said <text>, turn
<n>", n counting turns per session id as the bus sees it) and ``ovos.utterance.handled``, both
through ``Message.reply``. The speak's ``meta`` reports what the request looked like on the
bus (its ``source``, ``destination``, ``peer`` and session id), so the tests can check how
the hub stamped it. Prints ``ready`` once connected, and ``answered <session id>`` per turn.

Usage: python agent_responder.py HOST PORT
"""

import sys
import threading
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
        seen = {
            "source": message.context.get("source"),
            "destination": message.context.get("destination"),
            "peer": message.context.get("peer"),
            "session_id": session_id,
        }
        text = f"you said {utterances[0]}, turn {turns[session_id]}"
        data = {"utterance": text, "lang": message.data.get("lang"), "meta": {"seen": seen}}
        bus.emit(message.reply("speak", data))
        bus.emit(message.reply("ovos.utterance.handled", {}))
        print(f"answered {session_id}", flush=True)

    bus.on("recognizer_loop:utterance", on_utterance)
    bus.run_in_thread()
    if not bus.connected_event.wait(30):
        print("bus not reachable", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    threading.Event().wait()  # serve until the harness terminates this process


if __name__ == "__main__":
    main()
