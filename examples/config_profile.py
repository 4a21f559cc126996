"""Connect with a named profile of the config file.

One ``config.yaml`` can hold several identities (say ``dev`` and ``prod``) as profiles. It
lives at ``$XDG_CONFIG_HOME/thalovant/config.yaml``, else ``~/.config/thalovant/config.yaml``
(``%APPDATA%\\Thalovant\\config.yaml`` on Windows), and must be private::

    install -d -m 700 ~/.config/thalovant
    chmod 600 ~/.config/thalovant/config.yaml

    version: 1
    profile: dev            # used when no profile is asked for
    profiles:
      dev:
        identity: {access_key: ..., password: ..., site_id: ..., default_master: wss://...}

    python examples/config_profile.py [profile]

Without an argument the file's default profile is used. To read another file, pass its path:
``ThalovantClient.from_config("path/to/config.yaml", profile="dev")``.
"""

import sys

from thalovant import ThalovantClient
from thalovant.identity.config import default_config_path


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else None
    print("config file:", default_config_path())
    print("profile:", profile or "(the file's default)")

    # A missing profile or file raises ThalovantIdentityError naming what is missing.
    with ThalovantClient.from_config(profile=profile) as client:
        print("site id:", client.identity.site_id)
        print("hello:", client.ask("hello").text)


if __name__ == "__main__":
    main()
