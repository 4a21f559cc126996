"""The package's public names resolve, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import thalovant


def test_every_public_name_resolves() -> None:
    for name in thalovant.__all__:
        assert getattr(thalovant, name) is not None, name


def test_import_does_not_load_network_libraries() -> None:
    code = (
        "import sys, thalovant; "
        "heavy = [m for m in ('aiohttp', 'websockets', 'aiomqtt', 'cryptography') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_protocol_package_is_sans_io() -> None:
    code = (
        "import sys; sys.modules['asyncio'] = None; sys.modules['anyio'] = None; "
        "import thalovant.protocol.channel, thalovant.protocol.handshake, "
        "thalovant.protocol.psk, thalovant.protocol.binary"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reply_streams_are_public() -> None:
    from thalovant.client import AsyncThalovantReplyStream
    from thalovant.sync import ThalovantReplyStream

    for name in ("AsyncThalovantReplyStream", "ThalovantReplyStream"):
        assert name in thalovant.__all__
    assert thalovant.AsyncThalovantReplyStream is AsyncThalovantReplyStream
    assert thalovant.ThalovantReplyStream is ThalovantReplyStream
