"""Noise micro-benchmarks: transport message cost and full handshake time.

    .venv/bin/python benchmarks/bench_noise.py

Prints µs per transport message (encrypt and decrypt, 200-byte and 65000-byte plaintexts, the
latter being one full framing chunk) for both suites, for our engine and, when installed, for
``noiseprotocol``; then the time of a complete ClientHandshake <-> HubHandshake exchange for
XXpsk2 and KKpsk0 (Argon2id excluded: the PSK is given). Runs in a few seconds.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable

from thalovant.protocol.handshake import (
    ClientHandshake,
    HubHandshake,
    generate_static_private,
    x25519_public,
)
from thalovant.protocol.noise import SUITES, CipherState

REPEATS = 5  # report the best of several runs: the machine is shared, noise only adds time


def per_call_us(fn: Callable[[], object], count: int) -> float:
    """Best-of-REPEATS mean µs per call over ``count`` calls."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def stream_us(make_decrypt: Callable[[], Callable[[bytes], object]], stream: list[bytes]) -> float:
    """Best-of-REPEATS µs per decrypt over a pre-encrypted stream, a fresh receiver each run."""
    best = float("inf")
    for _ in range(REPEATS):
        decrypt = make_decrypt()
        start = time.perf_counter()
        for message in stream:
            decrypt(message)
        best = min(best, (time.perf_counter() - start) / len(stream))
    return best * 1e6


def count_for(size: int) -> int:
    return 20000 if size < 1000 else 300


def bench_ours(cipher: str, size: int) -> tuple[float, float]:
    key, plaintext = os.urandom(32), os.urandom(size)
    sender = CipherState(cipher, key)
    stream = [sender.encrypt(plaintext) for _ in range(count_for(size))]
    decrypt_us = stream_us(lambda: CipherState(cipher, key).decrypt, stream)
    encrypt_us = per_call_us(lambda: sender.encrypt(plaintext), count_for(size))
    return encrypt_us, decrypt_us


def bench_noiseprotocol(suite: str, size: int) -> tuple[float, float] | None:
    try:
        from noise.connection import Keypair, NoiseConnection
    except ImportError:
        return None
    psk, plaintext = os.urandom(32), os.urandom(size)
    sides = []
    for initiator in (True, False):
        conn = NoiseConnection.from_name(f"Noise_XXpsk2_{suite}".encode())
        conn.set_psks(psk)
        conn.set_keypair_from_private_bytes(Keypair.STATIC, generate_static_private())
        if initiator:
            conn.set_as_initiator()
        else:
            conn.set_as_responder()
        conn.start_handshake()
        sides.append(conn)
    a, b = sides
    b.read_message(a.write_message())
    a.read_message(b.write_message())
    b.read_message(a.write_message())
    stream = [a.encrypt(plaintext) for _ in range(count_for(size))]
    recv = b.noise_protocol.cipher_state_decrypt
    recv_key = recv.k

    def fresh() -> Callable[[bytes], object]:
        recv.initialize_key(recv_key)  # rewinds the nonce to 0 for the next run
        return b.decrypt  # type: ignore[no-any-return]

    decrypt_us = stream_us(fresh, stream)
    encrypt_us = per_call_us(lambda: a.encrypt(plaintext), count_for(size))
    return encrypt_us, decrypt_us


def handshake_once(kk: bool) -> None:
    client_key, hub_key, psk = generate_static_private(), generate_static_private(), os.urandom(32)
    client = ClientHandshake(client_key, pinned_hub_key=x25519_public(hub_key) if kk else None)
    hub = HubHandshake(
        hub_key,
        node_id="node-1",
        psk=psk,
        hello_extra={"pubkey": "", "peer": "bench"},
        known_client_key=x25519_public(client_key) if kk else None,
    )
    for frame in hub.initial_frames():
        client.receive(frame)
    outbox = client.provide_psk(psk)
    while outbox:
        replies = [r for f in outbox for r in hub.receive(f)]
        outbox = [f for r in replies for f in client.receive(r)]
    assert client.complete
    assert hub.complete


def main() -> None:
    for suite in SUITES:  # warm-up: the first timed loop of a process runs measurably slower
        bench_ours(suite.split("_")[1], 200)
        bench_noiseprotocol(suite, 200)
    print(f"{'suite':<26}{'size':>7}  {'engine':<14}{'encrypt µs':>11}{'decrypt µs':>11}")
    for suite in SUITES:
        cipher = suite.split("_")[1]
        for size in (200, 65000):
            enc, dec = bench_ours(cipher, size)
            print(f"{suite:<26}{size:>7}  {'thalovant':<14}{enc:>11.2f}{dec:>11.2f}")
            theirs = bench_noiseprotocol(suite, size)
            if theirs is not None:
                enc, dec = theirs
                print(f"{suite:<26}{size:>7}  {'noiseprotocol':<14}{enc:>11.2f}{dec:>11.2f}")
    print()
    for name, kk in (("XXpsk2", False), ("KKpsk0", True)):
        ms = per_call_us(functools.partial(handshake_once, kk), 100) / 1000
        print(f"full handshake {name} (both roles, fresh keys, no Argon2id): {ms:.2f} ms")


if __name__ == "__main__":
    main()
