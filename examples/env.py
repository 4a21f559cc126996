"""Connect with an identity from ``THALOVANT_*`` environment variables.

Handy in containers and CI, where a secret store injects variables. The minimum::

    export THALOVANT_ACCESS_KEY=...      # client id
    export THALOVANT_PASSWORD=...        # client secret (seeds the Noise PSK; never sent)
    export THALOVANT_SITE_ID=kiosk-1     # a stable name for this client
    export THALOVANT_DEFAULT_MASTER=wss://hub.example.com   # or THALOVANT_HUB_HTTP_HOST

Optional: ``THALOVANT_HUB_WSS_HOST``, ``THALOVANT_HUB_HTTPS_HOST``, ``THALOVANT_HUB_HTTP_PORT``,
``THALOVANT_MQTT_ENDPOINT``/``_USERNAME``/``_PASSWORD``/``_TOPIC_PREFIX`` (see the README).

    python examples/env.py [wss|https|mqtt]
"""

import sys

from thalovant import ThalovantClient


def main() -> None:
    protocol = sys.argv[1] if len(sys.argv) > 1 else None  # None: the best one available

    # A missing variable raises ThalovantIdentityError naming every variable that is missing.
    with ThalovantClient.from_env(protocol=protocol) as client:
        print("site id:", client.identity.site_id)
        print("protocol:", client.protocol)
        print("time:", client.ask("what time is it").text)


if __name__ == "__main__":
    main()
