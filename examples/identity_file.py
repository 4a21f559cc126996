"""Connect with an identity file: the simplest way to reach a hub.

An identity file is the JSON a hub (or ``01_quickstart.py``) hands out for one client. It holds
secrets, so it must be private (``chmod 600``) and never committed.

    python examples/identity_file.py [path/to/_identity.json]

The path comes from the first argument, else ``$THALOVANT_IDENTITY_FILE``, else
``_identity.json`` in the current folder.
"""

import json
import os
import sys

from thalovant import ThalovantClient, ThalovantIdentity


def identity_path() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    return os.environ.get("THALOVANT_IDENTITY_FILE", "_identity.json")


def main() -> None:
    path = identity_path()

    # Loading checks the file: missing fields or loose permissions raise ThalovantIdentityError.
    identity = ThalovantIdentity.from_file(path)
    # as_dict() redacts secrets by default, and so does repr(): both are safe to print or log.
    print("identity:", json.dumps(identity.as_dict(), sort_keys=True))
    print("site id:", identity.site_id)

    # The one-liner: build a client straight from the file. `with` connects and closes.
    with ThalovantClient.from_identity_file(path) as client:
        print("client:", client)
        reply = client.ask("Tell me a short clean joke.")
        print("joke:", reply.text)


if __name__ == "__main__":
    main()
