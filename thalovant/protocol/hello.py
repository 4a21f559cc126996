"""The HELLO messages of both roles, sans-I/O (docs/protocol.md §2.2, §5.2).

A client announces every connection with a HELLO carrying a fresh session id: encrypted as
its first transport message on every carrier (:func:`client_hello`), and, on MQTT, also in
cleartext before the handshake (:func:`cleartext_client_hello`), because a broker tells the
hub nothing about a new connection. :func:`is_hello` recognises a cleartext HELLO; the hub
uses it to open a session on MQTT, the client's link to notice that a hub greeted its topics
anew (the hub ended the session, docs/interop.md).
"""

from __future__ import annotations

import json

from thalovant.protocol.envelope import HiveMessage, encode_message

__all__ = ["HELLO_TYPE", "cleartext_client_hello", "client_hello", "is_hello"]

HELLO_TYPE = "hello"
"""The ``msg_type`` of a HELLO (docs/protocol.md §3.1)."""


def client_hello(session_id: str, site_id: str) -> HiveMessage:
    """The HELLO a client sends as its first transport message (docs/protocol.md §2.2).

    Args:
        session_id: The session id this connection announces.
        site_id: The client's site id.

    Returns:
        The ``hello`` envelope (its ``pubkey`` is empty: the Noise handshake carries the key).
    """
    return HiveMessage(
        msg_type=HELLO_TYPE,
        payload={"pubkey": "", "session": {"session_id": session_id}, "site_id": site_id},
    )


def cleartext_client_hello(session_id: str, site_id: str) -> str:
    """The client HELLO as the cleartext JSON text frame MQTT sends first (docs/protocol.md §5.2).

    Args:
        session_id: The session id this connection announces.
        site_id: The client's site id.

    Returns:
        The UTF-8 JSON text of :func:`client_hello`.
    """
    return encode_message(client_hello(session_id, site_id)).decode("utf-8")


def is_hello(frame: str) -> bool:
    """Whether a cleartext frame is a HiveMind ``hello`` (a peer opening a session).

    Cheap for every other frame: only text mentioning ``"hello"`` is parsed.

    Args:
        frame: One cleartext (text) carrier frame.

    Returns:
        True when ``frame`` is a JSON object whose ``msg_type`` is ``hello``.
    """
    if f'"{HELLO_TYPE}"' not in frame:
        return False
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        return False
    return isinstance(message, dict) and message.get("msg_type") == HELLO_TYPE
