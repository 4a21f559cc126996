"""Quickstart: find a hub, sign in, create a client identity, and ask the hub something.

The control plane (the Thalovant API) discovers hubs and creates client identities; the client
then talks to the hub directly. Settings come from the environment:

- ``THALOVANT_API_URL``: the API (default ``https://api.thalovant.com``; the local hub of
  ``thalovant hub`` serves one too);
- ``THALOVANT_API_TOKEN``: an API token (``tvpat_...``), or else ``THALOVANT_EMAIL`` and
  ``THALOVANT_ACCOUNT_PASSWORD`` to sign in (not ``THALOVANT_PASSWORD``: that variable is a
  client identity's secret, see ``env.py``);
- ``THALOVANT_HUB_ID``: the hub to join (default: the first public hub).

    python examples/01_quickstart.py [save-identity-to.json]

With a path, the new identity is saved there (mode 0600) for the other examples. It holds
secrets: keep it out of git and out of logs.
"""

import json
import os
import sys

from thalovant import DEFAULT_CONTROL_API_URL, ThalovantClient, ThalovantControlPlane


def save_identity(identity_dict: dict[str, object], path: str) -> None:
    """Write the identity so that only its owner can read it (the SDK refuses anything else)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(identity_dict, file, indent=2)


def main() -> None:
    api_url = os.environ.get("THALOVANT_API_URL", DEFAULT_CONTROL_API_URL)
    api = ThalovantControlPlane(api_url)

    # Public hubs can be listed without signing in.
    hubs = api.list_public_hubs(limit=12)
    for hub in hubs["data"]:
        print("public hub:", hub["id"], hub.get("title") or hub.get("slug"))

    # Private calls need a token: pass one, or sign in with email and password.
    token = os.environ.get("THALOVANT_API_TOKEN")
    if token:
        api = ThalovantControlPlane(api_url, access_token=token)
    else:
        api.login(os.environ["THALOVANT_EMAIL"], os.environ["THALOVANT_ACCOUNT_PASSWORD"])
    print("signed in")

    hub_id = os.environ.get("THALOVANT_HUB_ID") or hubs["data"][0]["id"]
    result = api.create_client_identity(
        hub_id, name="demo", preferred_protocols=("wss", "https", "mqtt")
    )
    # A new client is admitted by its hub shortly after creation: wait for that.
    api.wait_for_admission(result)
    print("created client for hub", hub_id, "with", ", ".join(result.identity.enabled_protocols()))

    if len(sys.argv) > 1:
        save_identity(result.identity.as_dict(include_secrets=True), sys.argv[1])
        print("saved identity to", sys.argv[1])

    with ThalovantClient(result.identity, protocol="wss") as client:
        print("joke:", client.ask("Tell me a short clean joke.").text)


if __name__ == "__main__":
    main()
