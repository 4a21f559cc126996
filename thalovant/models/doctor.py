"""``doctor()``'s result: one :class:`ThalovantDoctorCheck` per step, in a
:class:`ThalovantDoctorReport` (docs/protocol.md §9; the checks are made by
:mod:`thalovant.client.doctor`).

Both are frozen; every text is scrubbed of URL queries and userinfo on construction, and the
report's ``identity`` is the redacted identity (``as_dict(include_secrets=False)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from thalovant.redact import redact_deep, scrub_text

__all__ = ["ThalovantDoctorCheck", "ThalovantDoctorReport"]


@dataclass(frozen=True)
class ThalovantDoctorCheck:
    """One diagnosis step.

    Attributes:
        name: The step (``identity``, ``endpoint``, ``dns``, ``tcp``, ``tls``, ``carrier``,
            ``handshake``, ``round_trip``).
        ok: Whether it passed.
        detail: What was found.
        duration_ms: How long it took.
        hint: What to do when it failed (empty when it passed).
        skipped: Not run because an earlier step failed (``ok`` is then False).
        facts: Structured findings (e.g. ``not_after``, ``ca_bundle``, ``pattern``).
    """

    name: str
    ok: bool
    detail: str
    duration_ms: float = 0.0
    hint: str = ""
    skipped: bool = False
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", scrub_text(self.detail))
        object.__setattr__(self, "hint", scrub_text(self.hint))
        object.__setattr__(self, "facts", redact_deep(self.facts))

    @property
    def status(self) -> str:
        """``ok``, ``failed`` or ``skipped``."""
        return "skipped" if self.skipped else "ok" if self.ok else "failed"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field, plus ``status``.
        """
        return {
            "name": self.name,
            "ok": self.ok,
            "status": self.status,
            "detail": self.detail,
            "duration_ms": round(self.duration_ms, 3),
            "hint": self.hint,
            "skipped": self.skipped,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True)
class ThalovantDoctorReport:
    """What ``doctor()`` found.

    Attributes:
        identity: The identity, secrets redacted.
        checks: The steps in the order they ran.
    """

    identity: dict[str, Any]
    checks: tuple[ThalovantDoctorCheck, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", redact_deep(self.identity))
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failed(self) -> ThalovantDoctorCheck | None:
        """The first check that failed (not merely skipped), if any."""
        return next((c for c in self.checks if not c.ok and not c.skipped), None)

    def check(self, name: str) -> ThalovantDoctorCheck | None:
        """The check called ``name``.

        Args:
            name: A check name.

        Returns:
            The check, or None.
        """
        return next((c for c in self.checks if c.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            ``ok``, ``identity``, ``checks`` and the name of the first failure.
        """
        failed = self.failed
        return {
            "ok": self.ok,
            "failed": failed.name if failed is not None else None,
            "identity": dict(self.identity),
            "checks": [check.as_dict() for check in self.checks],
        }

    def format(self) -> str:
        """The report as plain text: one line per check, the hint under a failure.

        Returns:
            The text (no trailing newline).
        """
        width = max((len(c.name) for c in self.checks), default=4)
        lines = []
        for check in self.checks:
            mark = {"ok": "PASS", "failed": "FAIL", "skipped": "SKIP"}[check.status]
            took = f"{check.duration_ms:8.1f} ms"
            lines.append(f"{mark}  {check.name:<{width}}  {took}  {check.detail}")
            if check.hint and not check.ok and not check.skipped:
                lines.append(f"      {'':<{width}}  {'':>11}  fix: {check.hint}")
        verdict = (
            "all checks passed"
            if self.ok
            else f"failed: {self.failed.name if self.failed else '?'}"
        )
        lines.append(verdict)
        return "\n".join(lines)
