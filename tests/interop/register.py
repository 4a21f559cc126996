"""Register HiveMind clients in bulk: runs in the peer venv with the hub's XDG dirs.

Does what ``hivemind-core add-client --name N --access-key K --password P --allow T`` does
(same database API, same password-strength gate), for many clients in one process instead of
paying the CLI's start-up once per client.

Usage: python register.py < JSON list of {"name", "access_key", "password", "allow": [...]}
"""

import json
import sys

from hivemind_core.config import get_server_config
from hivemind_core.database import ClientDatabase
from poorman_handshake import check_password_strength


def main() -> None:
    clients = json.load(sys.stdin)
    min_bits = get_server_config()["min_password_bits"]
    with ClientDatabase() as db:
        for client in clients:
            check_password_strength(client["password"], min_bits=min_bits)
            ok = db.add_client(
                client["name"],
                client["access_key"],
                password=client["password"],
                admin=False,
                allowed_types=list(client["allow"]),
            )
            if not ok or db.get_client_by_api_key(client["access_key"]) is None:
                raise SystemExit(f"could not add client {client['name']}")
    print(f"registered {len(clients)}", flush=True)


if __name__ == "__main__":
    main()
