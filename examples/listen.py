"""Send an utterance without waiting, and listen for the hub's events yourself.

``ask()`` sends and collects the reply for you. When your app owns response handling (a voice
UI, a display, a bridge to another system), send with ``send_utterance()`` and read events
with ``listen()``. Subscribe *before* sending so nothing is missed, and always give a
``timeout``: the listener ends quietly when it passes, or after ``max_events``.

    python examples/listen.py [path/to/_identity.json]
"""

import os
import sys
import uuid

from thalovant import EVENT_SPEAK, ThalovantClient


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> None:
    with ThalovantClient.from_identity_file(identity_path()) as client:
        # One answer: listen for the first `speak` event.
        listener = client.listen(EVENT_SPEAK, timeout=10, max_events=1)
        request_id = client.send_utterance("hello")  # returns at once with the request id
        print("sent:", request_id)
        for event in listener:
            print("speak:", event.text, f"(request {event.request_id})")

        # A longer answer: the story skill speaks three times. Choose the request id up front
        # so the listener only sees events of this request.
        story_id = f"story-{uuid.uuid4().hex[:8]}"
        with client.listen(EVENT_SPEAK, timeout=10, max_events=3, request_id=story_id) as story:
            client.send_utterance("tell me a story", request_id=story_id)
            for number, event in enumerate(story, 1):
                print(f"story {number}:", event.text)


if __name__ == "__main__":
    main()
