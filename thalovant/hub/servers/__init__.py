"""The hub's listeners: WSS, HTTPS polling, MQTT (and the embedded broker), TLS."""

from __future__ import annotations

__all__: list[str] = []
