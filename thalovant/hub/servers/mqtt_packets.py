"""MQTT 3.1.1 packets for the embedded broker: packet types, encoding, a body reader.

The framing of the OASIS MQTT 3.1.1 standard (fixed header, remaining length, length-prefixed
UTF-8 strings), as much as :mod:`thalovant.hub.servers.broker` needs.
"""

from __future__ import annotations

import asyncio
import struct

__all__ = [
    "CONNACK",
    "CONNECT",
    "DISCONNECT",
    "MAX_PACKET",
    "PINGREQ",
    "PINGRESP",
    "PUBACK",
    "PUBCOMP",
    "PUBLISH",
    "PUBREC",
    "PUBREL",
    "PacketReader",
    "ProtocolViolation",
    "SUBACK",
    "SUBSCRIBE",
    "UNSUBACK",
    "UNSUBSCRIBE",
    "encode_length",
    "encode_text",
    "packet",
    "read_packet",
]

MAX_PACKET = 1024 * 1024
"""Largest packet body accepted (bytes)."""
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
PUBREC, PUBREL, PUBCOMP = 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


class ProtocolViolation(Exception):
    """A packet breaks MQTT 3.1.1 (the broker drops the connection)."""


def encode_length(length: int) -> bytes:
    """The "remaining length" field: 7 bits a byte, high bit set while more follow."""
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def packet(kind: int, flags: int, body: bytes) -> bytes:
    """A whole packet: type and flags, remaining length, body."""
    return bytes([kind << 4 | flags]) + encode_length(len(body)) + body


def encode_text(value: str) -> bytes:
    """A UTF-8 string with its 2-byte length prefix."""
    raw = value.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


class PacketReader:
    """Reads the fields of one packet body; :class:`ProtocolViolation` past its end."""

    def __init__(self, body: bytes) -> None:
        self._body, self._pos = body, 0

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack("!H", self.take(2))[0]
        return value

    def take(self, count: int) -> bytes:
        if self._pos + count > len(self._body):
            raise ProtocolViolation("packet too short")
        data = self._body[self._pos : self._pos + count]
        self._pos += count
        return data

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("invalid UTF-8") from None

    def rest(self) -> bytes:
        data = self._body[self._pos :]
        self._pos = len(self._body)
        return data

    @property
    def done(self) -> bool:
        return self._pos >= len(self._body)


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """The next packet from ``reader``: ``(type, flags, body)``, at most :data:`MAX_PACKET`."""
    first = (await reader.readexactly(1))[0]
    length, multiplier = 0, 1
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            break
        multiplier *= 128
    else:
        raise ProtocolViolation("malformed remaining length")
    if length > MAX_PACKET:
        raise ProtocolViolation("packet too large")
    return first >> 4, first & 0x0F, await reader.readexactly(length)
