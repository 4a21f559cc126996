"""What the local control plane needs of the hub it serves, typed as a protocol.

The ``/v1`` app (:mod:`thalovant.hub.control.api`) reads the hub's registry and node id,
shows its data plane and registers clients on it; :class:`~thalovant.hub.LocalHub` is the one
implementation. Typing the host here keeps the control plane below the hub object: it never
imports it (docs/architecture.md, "Rules").
"""

from __future__ import annotations

from typing import Any, Protocol

from thalovant.hub.responder.marketplace import SkillMarketplace
from thalovant.hub.responder.skills import SkillRuntime
from thalovant.hub.state.registry import ClientRegistry
from thalovant.identity.model import ThalovantIdentity

__all__ = ["ControlledHub"]


class ControlledHub(Protocol):
    """The hub as the control plane sees it (:class:`~thalovant.hub.LocalHub` is one)."""

    @property
    def registry(self) -> ClientRegistry:
        """The hub's client registry, which the client resources are derived from."""
        ...

    @property
    def runtime(self) -> SkillRuntime:
        """The hub's skill runtime: what is installed is what it runs."""
        ...

    @property
    def marketplace(self) -> SkillMarketplace:
        """The skills that can be installed, by name and version."""
        ...

    @property
    def node_id(self) -> str:
        """The hub's node id (the control plane's hub id is derived from it)."""
        ...

    def data_plane(self) -> dict[str, Any]:
        """``data_plane_endpoints`` and ``protocols`` of the hub (docs/protocol.md §1.3, §1.4).

        Returns:
            The two mappings under those keys.
        """
        ...

    def register_client(
        self,
        name: str,
        *,
        site_id: str | None = None,
        access_key: str | None = None,
        password: str | None = None,
    ) -> ThalovantIdentity:
        """Register a client and return its identity for this hub.

        Args:
            name: The client's name.
            site_id: Its site id (``None``: the name).
            access_key: The access key (``None``: a random one).
            password: The password (``None``: a random one).

        Returns:
            The identity, with every carrier the hub runs.

        Raises:
            ClientExistsError: The access key is taken.
            InvalidClientError: A field is not storable.
        """
        ...
