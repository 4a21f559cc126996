"""Private, atomic state files for the local hub (mode 0600 in a 0700 folder)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from thalovant.errors import ThalovantRuntimeError

__all__ = ["ensure_private_dir", "read_json_object", "write_private_json", "write_private_text"]


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed; the folder itself gets mode 0700 when new."""
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def write_private_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``; the file is 0600 from its first byte.

    The temporary file lives in the same folder so ``os.replace`` is atomic; a crash leaves
    either the old file or the new one, never half of either. ``text`` is encoded before
    anything is touched: text that is not valid UTF-8 (a lone surrogate) raises
    ``UnicodeEncodeError`` and leaves the file as it was.
    """
    data = text.encode("utf-8")
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_private_json(path: Path, data: Any) -> None:
    """:func:`write_private_text` of ``data`` as indented JSON."""
    write_private_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or ``None`` when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ThalovantRuntimeError(f"hub state file {path} is not UTF-8 text") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ThalovantRuntimeError(f"hub state file {path} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ThalovantRuntimeError(f"hub state file {path} must hold a JSON object")
    return value
