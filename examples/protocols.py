"""Inspect which protocols an identity supports, and connect over each of them.

WSS is the default and the best choice for most apps (realtime events, listeners). HTTPS suits
one-shot jobs and health checks; MQTT suits edge devices behind a broker. All three share one
identity and one access policy, but a hub only offers what it has enabled, and an identity
created before a protocol was enabled lacks its endpoint or credentials (create a fresh one).

    python examples/protocols.py [path/to/_identity.json]
"""

import os
import sys

from thalovant import ThalovantClient, ThalovantError, ThalovantIdentity

PROTOCOLS = ("wss", "https", "mqtt")


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> int:
    identity = ThalovantIdentity.from_file(identity_path())

    # What the hub enables (its protocol flags), in the SDK's order of preference.
    print("enabled:", ", ".join(identity.enabled_protocols()) or "none")
    for protocol in PROTOCOLS:
        endpoint = identity.endpoint_for(protocol) or "-"
        print(
            f"  {protocol:<5} supported={identity.supports_protocol(protocol)} endpoint={endpoint}"
        )
    # What ThalovantClient(identity) picks when no protocol= is given.
    print("default:", identity.select_protocol())

    # MQTT needs per-client broker credentials in the identity: check before choosing it.
    if identity.mqtt is None:
        print("mqtt: no broker credentials in this identity")

    answered = 0
    for protocol in identity.enabled_protocols():
        try:
            # Choosing a protocol explicitly fails at once (ThalovantUnsupportedProtocolError)
            # when the identity cannot use it; connection problems are ThalovantConnectionError.
            with ThalovantClient(identity, protocol=protocol) as client:
                reply = client.ask("hello")
        except ThalovantError as exc:
            print(f"{protocol}: failed: {exc}")
            continue
        print(f"{protocol}: ok: {reply.text}")
        answered += 1
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main())
