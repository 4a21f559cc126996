"""A conversation: several turns that share one session, so the hub remembers what was said.

``client.conversation()`` owns a stable ``session_id`` (and a default language) and sends it
with every turn. Another conversation is another session, with its own memory.

    python examples/conversation.py [path/to/_identity.json]
"""

import os
import sys

from thalovant import ThalovantClient


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> None:
    with ThalovantClient.from_identity_file(identity_path()) as client:
        with client.conversation(lang="en-us") as chat:
            print("session:", chat.session_id)
            print("you: my favourite colour is blue")
            print("hub:", chat.ask("my favourite colour is blue").text)
            print("you: what is my favourite colour")
            print("hub:", chat.ask("what is my favourite colour").text)

        # A new conversation starts a new session: the hub does not know the colour there.
        other = client.conversation()
        print("new session:", other.session_id)
        print("hub:", other.ask("what is my favourite colour").text)

        # To resume a conversation later (another process, say), keep its session id.
        resumed = client.conversation(session_id=chat.session_id)
        print("resumed:", resumed.ask("what is my favourite colour").text)


if __name__ == "__main__":
    main()
