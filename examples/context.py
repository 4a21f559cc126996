"""Request context, session ids and request ids.

- ``session_id`` groups the requests of one conversation or workflow (reuse it);
- ``request_id`` traces one request (a fresh one per send; generated when not given);
- ``context`` carries product metadata (who, where, which channel) without changing the words.

Keep context small and generic. Tokens, passwords and keys never belong in it: the helpers
refuse such keys with ThalovantRuntimeError.

    python examples/context.py [path/to/_identity.json]
"""

import os
import sys
import uuid

from thalovant import (
    ThalovantClient,
    ThalovantRuntimeError,
    build_client_context,
    build_location,
    request_context,
)


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> None:
    context = build_client_context(
        user_id="user-123",
        user_name="Ada",
        source="checkout-page",
        platform="web",
        locale="en-GB",
        metadata={"cart_items": 3},
    )
    # Per-request hints: the speech-to-text language and where the user is.
    context = request_context(
        context, stt_lang="en-gb", location=build_location("Lisbon", country_code="pt")
    )
    print("context:", context)

    try:
        build_client_context(user_id="user-123", metadata={"api_token": "do-not-send"})
    except ThalovantRuntimeError as exc:
        print("refused:", exc)

    request_id = f"checkout-{uuid.uuid4().hex[:8]}"
    with ThalovantClient.from_identity_file(identity_path()) as client:
        reply = client.ask(
            "what time is it",
            context=context,
            session_id="checkout-session",
            request_id=request_id,
        )
        print("reply:", reply.text)
        # The reply carries both ids back, ready for your logs and traces.
        print("request id:", reply.request_id, "(sent", request_id + ")")
        print("session id:", reply.session_id)
        # The hub answered with our context: the events echo it.
        echoed = reply.events[0].context
        print("echoed user:", echoed.get("user_id"), "locale:", echoed.get("locale"))

        # Without ids, the SDK generates a fresh request id and uses the client's session.
        again = client.ask("hello")
        print("generated request id:", again.request_id)


if __name__ == "__main__":
    main()
