"""Micro-benchmarks of the plaintext hot path: envelope codec, framing, binary frames.

Run: ``python benchmarks/bench_framing.py``. Prints microseconds per message (best of a few
rounds, so a noisy neighbour inflates nothing). Finishes in a few seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from thalovant.protocol.binary import decode_binary_frame, encode_binary_frame
from thalovant.protocol.envelope import (
    HiveMessage,
    bus_message,
    bus_payload,
    decode_message,
    encode_message,
)
from thalovant.protocol.framing import Reassembler, frame_plaintexts


def bench(label: str, func: Callable[[], object], *, budget: float = 0.25, rounds: int = 3) -> None:
    """Print the best per-call time of ``func`` over ``rounds`` rounds of ~``budget`` seconds."""
    func()
    calls = 1
    while True:  # size a round to the budget
        start = time.perf_counter()
        for _ in range(calls):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= budget / 10:
            break
        calls *= 2
    per_round = max(1, int(calls * (budget / elapsed)))
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            func()
        best = min(best, (time.perf_counter() - start) / per_round)
    print(f"{label:<58} {best * 1e6:>10.2f} µs")


def _bus(size: int) -> bytes:
    base = bus_message(
        "speak",
        {"utterance": "", "lang": "en-us"},
        {"request_id": "r-1"},
    )
    padding = size - len(encode_message(base))
    bus_payload(base).data["utterance"] = "x" * max(0, padding)
    return encode_message(base)


def main() -> None:
    """Run every benchmark and print one line each."""
    for label, size in (("small bus message", 200), ("64-KiB bus message", 64 * 1024)):
        raw = _bus(size)
        msg = decode_message(raw)
        plaintexts = frame_plaintexts(raw)
        reassembler = Reassembler()

        def send(msg: HiveMessage = msg) -> object:
            return frame_plaintexts(encode_message(msg))

        def receive(
            plaintexts: list[bytes] = plaintexts, reassembler: Reassembler = reassembler
        ) -> object:
            done = None
            for plaintext in plaintexts:
                done = reassembler.feed(plaintext)
            assert done is not None
            return bus_payload(decode_message(done[1]))

        print(f"# {label}: {len(raw)} bytes, {len(plaintexts)} plaintext(s)")
        bench("  encode_message + frame_plaintexts", send)
        bench("  Reassembler.feed + decode_message + bus_payload", receive)

    audio = os.urandom(1 << 20)
    aligned = encode_binary_frame("bin", metadata={"lang": "en-us"}, binary_kind=1, data=audio)
    # The same frame without front padding: the data sits 4 bits off byte boundaries.
    unaligned = (int.from_bytes(aligned, "big") << 4).to_bytes(len(aligned), "big")
    assert decode_binary_frame(unaligned).data == audio
    print("# 1 MiB bin raw_audio frame")
    bench("  decode_binary_frame (aligned, as we encode)", lambda: decode_binary_frame(aligned))
    bench(
        "  decode_binary_frame (unaligned, 4 trailing pad bits)",
        lambda: decode_binary_frame(unaligned),
        rounds=2,
    )
    bench(
        "  encode_binary_frame",
        lambda: encode_binary_frame("bin", metadata={"lang": "en-us"}, binary_kind=1, data=audio),
    )


if __name__ == "__main__":
    main()
