"""The local skill marketplace: skills by name and version, ready to install on the hub.

The hub's control plane installs from here (``install_hub_skill``); what is installed is what
the :class:`~thalovant.hub.responder.skills.SkillRuntime` runs. The demo skills are published
at :data:`DEMO_SKILL_VERSION`; publish your own with :meth:`SkillMarketplace.publish`::

    hub.marketplace.publish(HubSkill("weather", weather, match=r"\\bweather\\b"), "1.2.0")
    # then: thalovant skills add weather --version 1.2.0 --wait
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from thalovant.hub.responder.demo import demo_skills
from thalovant.hub.responder.skills import HubSkill

__all__ = ["DEMO_SKILL_VERSION", "MarketplaceEntry", "SkillMarketplace", "version_key"]

DEMO_SKILL_VERSION = "1.0.0"
"""The version the demo skills are published at."""

_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
_NUMBER = re.compile(r"\d+|\D+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key of a version: numbers compare as numbers (``1.10`` after ``1.9``)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _NUMBER.findall(version)
    )


@dataclass
class MarketplaceEntry:
    """One skill of the marketplace and its published versions."""

    name: str
    title: str
    description: str
    versions: dict[str, HubSkill] = field(default_factory=dict)
    changelogs: dict[str, str] = field(default_factory=dict)
    publisher: str = "local"

    @property
    def latest(self) -> str:
        """The highest published version."""
        return max(self.versions, key=version_key)

    def ordered(self) -> list[str]:
        """The versions, lowest first."""
        return sorted(self.versions, key=version_key)


class SkillMarketplace:
    """Skills by name and version (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[str, MarketplaceEntry] = {}
        self._lock = threading.Lock()

    @classmethod
    def with_demo_skills(cls) -> SkillMarketplace:
        """A marketplace holding every demo skill at :data:`DEMO_SKILL_VERSION`."""
        market = cls()
        for skill in demo_skills():
            market.publish(skill, DEMO_SKILL_VERSION, publisher="thalovant-demo")
        return market

    def publish(
        self,
        skill: HubSkill,
        version: str,
        *,
        title: str | None = None,
        changelog: str = "",
        publisher: str = "local",
    ) -> MarketplaceEntry:
        """Publish ``skill`` under its name at ``version`` (replacing that version).

        Args:
            skill: The skill.
            version: Its version (letters, digits, ``.+_-``; at most 64 characters).
            title: The title shown (default: from the name).
            changelog: What changed in this version.
            publisher: Who published it.

        Returns:
            The skill's entry.

        Raises:
            ValueError: ``version`` is not a version.
        """
        if not isinstance(version, str) or not _VERSION.fullmatch(version) or version == "latest":
            raise ValueError("a version is 1 to 64 letters, digits or .+_- (not 'latest')")
        with self._lock:
            entry = self._entries.get(skill.name)
            if entry is None:
                shown = title or skill.name.rpartition(".")[2].replace("-", " ").title()
                entry = MarketplaceEntry(skill.name, shown, skill.description, publisher=publisher)
                self._entries[skill.name] = entry
            entry.versions[version] = skill
            entry.changelogs[version] = changelog
            if title:
                entry.title = title
            return entry

    def withdraw(self, name: str) -> bool:
        """Remove a skill and all its versions (installed copies keep running)."""
        with self._lock:
            return self._entries.pop(name, None) is not None

    def entry(self, name: str) -> MarketplaceEntry | None:
        """The entry of the skill called ``name``."""
        with self._lock:
            return self._entries.get(name)

    def entries(self) -> list[MarketplaceEntry]:
        """Every entry, by name."""
        with self._lock:
            return [self._entries[name] for name in sorted(self._entries)]

    def resolve(self, name: str, version: str = "latest") -> tuple[str, HubSkill] | None:
        """``(version, skill)`` for ``name`` at ``version`` (``latest``: the highest)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or not entry.versions:
                return None
            chosen = entry.latest if version in ("", "latest") else version
            skill = entry.versions.get(chosen)
            return None if skill is None else (chosen, skill)

    def version_of(self, skill: HubSkill) -> str | None:
        """The published version that is this skill (the same object or handler), if any."""
        with self._lock:
            entry = self._entries.get(skill.name)
            if entry is None:
                return None
            same = [
                v for v, s in entry.versions.items() if s is skill or s.handler is skill.handler
            ]
            return max(same, key=version_key) if same else None
