"""Actions and codes: exact input that must not be turned into prose.

- ``send_action``: a button or menu choice, e.g. a choice the hub offered in a reply's
  ``display_items``. Either a name and a small payload dict (``"/choose", payload={...}``)
  or the payload string the hub sent (``'/choose{"id":"42"}'``).
- ``send_code``: a scan, serial number or typed code, passed through verbatim.

Both return the request id at once; listen for the answer (subscribe before sending).

    python examples/actions_and_codes.py [path/to/_identity.json]
"""

import os
import sys

from thalovant import EVENT_SPEAK, ThalovantClient


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> None:
    with ThalovantClient.from_identity_file(identity_path()) as client:
        with client.conversation(session_id="drinks-session") as chat:
            offer = chat.ask("show me choices")
            print("hub:", offer.text)
            choices = []
            for item in offer.display_items:  # render the kinds you know, skip the rest
                if item.kind == "choices":
                    print("menu:", item.title)
                    choices = item.data.get("choices", [])
                    for choice in choices:
                        print("  -", choice["title"], choice["payload"])

            # The user taps the first choice: send back the payload the hub gave us.
            listener = chat.listen(EVENT_SPEAK, timeout=10, max_events=1)
            chat.send_action(choices[0]["payload"], title=choices[0]["title"])
            for event in listener:
                print("hub:", event.text)

            # The documented form: an action name plus a small payload dict.
            listener = chat.listen(EVENT_SPEAK, timeout=10, max_events=1)
            chat.send_action("/choose", payload={"id": "43", "label": "Tea"}, title="Tea")
            for event in listener:
                print("hub:", event.text)

        # A scanned serial number, with what kind of code it is and a label.
        listener = client.listen(EVENT_SPEAK, timeout=10, max_events=1)
        request_id = client.send_code(
            "SN-001-XYZ", kind="barcode", label="device serial", session_id="maintenance-session"
        )
        for event in listener:
            print("hub:", event.text, f"(request {request_id})")


if __name__ == "__main__":
    main()
