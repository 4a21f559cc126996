"""One authenticated connection to a hub, and the supervisor that redials it.

:func:`dial` (module :mod:`~thalovant.link.dialer`) opens a :class:`Link`
(:mod:`~thalovant.link.link`), whose refusal-vs-drop rules live in
:mod:`~thalovant.link.outcome`; :class:`Supervisor` redials it with :class:`Backoff`.
``LinkDown`` (a send on a link that was already gone) is internal to the link and the client
runtime and is not exported here.
"""

from __future__ import annotations

from thalovant.link.backoff import Backoff
from thalovant.link.dialer import CONNECTION_SESSION_PREFIX, dial
from thalovant.link.link import REFUSAL_SETTLE_SECONDS, Dispatch, Link
from thalovant.link.outcome import REFUSAL_CLOSE_CODES
from thalovant.link.settings import LinkSettings, pin_id_for
from thalovant.link.supervisor import Supervisor
from thalovant.link.telemetry import ConnectionTelemetry

__all__ = [
    "CONNECTION_SESSION_PREFIX",
    "REFUSAL_CLOSE_CODES",
    "REFUSAL_SETTLE_SECONDS",
    "Backoff",
    "ConnectionTelemetry",
    "Dispatch",
    "Link",
    "LinkSettings",
    "Supervisor",
    "dial",
    "pin_id_for",
]
