"""Sans-I/O HiveMind v3 protocol core: envelopes, canonical JSON, Noise, framing.

Nothing in this package opens a socket, reads a clock or imports asyncio/anyio: it turns bytes
into messages and back for both roles (initiator = SDK, responder = local hub).
"""
