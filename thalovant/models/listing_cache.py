"""``InventoryCache``: the intent listing kept on disk for an hour (private files, atomic
writes), so ``thalovant intents`` need not ask the hub every time.

One JSON file per key in ``$XDG_CACHE_HOME/<app>/inventory`` (``~/.cache/...``): folder
0700, files 0600, written to a temporary file and renamed. A missing, expired, oversized or
unreadable entry loads as None; nothing here raises on a bad cache file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from thalovant.errors import ThalovantRuntimeError
from thalovant.models.inventory import Inventory

__all__ = ["InventoryCache"]

#: Larger cache files are ignored (a hub's inventory is a few hundred KiB at most).
MAX_CACHE_BYTES = 8 * 1024 * 1024


def _default_directory(app: str) -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / app / "inventory"


class InventoryCache:
    """Intent listings on disk, each valid for ``ttl`` seconds.

    Args:
        directory: The folder (default ``$XDG_CACHE_HOME/<app>/inventory``).
        ttl: Seconds an entry stays valid (default one hour).
        app: The application folder name under the cache home.

    Raises:
        ThalovantRuntimeError: A negative ``ttl``.
    """

    def __init__(
        self, directory: Path | str | None = None, *, ttl: float = 3600.0, app: str = "thalovant"
    ) -> None:
        if ttl < 0:
            raise ThalovantRuntimeError("ttl must not be negative")
        self.directory = Path(directory).expanduser() if directory else _default_directory(app)
        self.ttl = float(ttl)

    @staticmethod
    def key(mode: str, identity: Path | str | None) -> str:
        """The cache key of a listing mode for an identity (file path or hub address).

        Args:
            mode: What was listed (e.g. ``"en-us|speakable"``).
            identity: The identity file or a hub address; None for the environment.

        Returns:
            A hex digest (safe as a file name; reveals neither argument).
        """
        where = str(Path(identity).expanduser().absolute()) if identity else "<env>"
        return hashlib.sha256(f"{mode}\0{where}".encode()).hexdigest()[:40]

    def path(self, key: str) -> Path:
        """The file of ``key``.

        Args:
            key: A key from :meth:`key`.

        Returns:
            The path (it may not exist).

        Raises:
            ThalovantRuntimeError: The key is not a plain hex name.
        """
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ThalovantRuntimeError("a cache key is a hex digest (InventoryCache.key)")
        return self.directory / f"{key}.json"

    def load(self, key: str) -> Inventory | None:
        """The cached listing, if present and younger than ``ttl``.

        Args:
            key: A key from :meth:`key`.

        Returns:
            The inventory (``source="cache"``), or None.
        """
        path = self.path(key)
        try:
            info = path.stat()
            if info.st_size > MAX_CACHE_BYTES or time.time() - info.st_mtime > self.ttl:
                return None
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        inventory = Inventory.from_dict(raw)
        return Inventory(
            inventory.hub_id,
            inventory.hub_name,
            "cache",
            inventory.generated_at,
            inventory.skills,
            inventory.notes,
        )

    def store(self, key: str, inventory: Inventory) -> None:
        """Write ``inventory`` under ``key`` atomically, as a 0600 file.

        Args:
            key: A key from :meth:`key`.
            inventory: The listing.

        Raises:
            ThalovantRuntimeError: The folder or file cannot be written.
        """
        path = self.path(key)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".inventory-", dir=self.directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(inventory.as_dict(), handle, ensure_ascii=False)
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ThalovantRuntimeError(f"cannot write the inventory cache: {exc}") from None
