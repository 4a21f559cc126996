"""The connection supervisor: dial, read, redial — one task per client.

States::

    idle ──request──▶ connecting ──dial ok──▶ (settling) ──▶ ready
      ▲                  │ dial failed            │ link ended
      │                  ▼                        ▼
      └──── no redial ◀──┴──── refusal / user ◀── drop ──▶ backoff ──timer/request──▶ connecting

* Callers never dial themselves: :meth:`Supervisor.wait_ready` asks for an attempt (or joins
  the one under way) and waits for its outcome within the caller's deadline. When every
  caller of a user-requested attempt has given up, the attempt is cancelled.
* After a **drop** (not a refusal, not a close) with ``auto_reconnect``, the supervisor
  redials with full-jitter exponential backoff (:class:`Backoff`); a caller asking for the
  link meanwhile skips the remaining wait. Refusals are never retried by the supervisor.
* Whenever a link ends, ``on_lost`` runs first (the client fails every in-flight request at
  once); subscriptions live on the client's bus, so they survive redials untouched.
* **Held** (:attr:`Supervisor.keep` set, by a session or an agent): every failed attempt is
  redialed on the policy's ladder, the first one included; the link is probed when idle
  (:meth:`Link.run`); a credential refusal is redialed (state ``refused``) until the policy's
  grace period has passed, then the supervisor stops in ``failed``; a changed hub key is
  ``failed`` at once (the pin policy was already asked by the dial). ``failed`` is terminal for
  redials; a caller's own request may still dial. Every state change reaches
  :attr:`Supervisor.listeners` (synchronously, on the loop).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal

import anyio

from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
)
from thalovant.link.backoff import Backoff
from thalovant.link.link import Dispatch, Link
from thalovant.link.policy import HubSessionPolicy
from thalovant.link.telemetry import ConnectionTelemetry
from thalovant.telemetry import otel

__all__ = ["Backoff", "State", "StateListener", "Supervisor"]

logger = logging.getLogger("thalovant.reconnect")

State = Literal["idle", "connecting", "ready", "backoff", "refused", "failed", "closed"]
#: Called with the new state on every change.
StateListener = Callable[[State], None]


class _Attempt:
    __slots__ = ("deadline", "done", "error", "link", "redial", "scope", "waiters")

    def __init__(self, *, redial: bool) -> None:
        self.deadline: float | None = None
        """The latest deadline of the callers waiting for this attempt."""
        self.done = anyio.Event()
        self.error: ThalovantError | None = None
        self.link: Link | None = None
        self.redial = redial
        self.scope: anyio.CancelScope | None = None
        self.waiters = 0


def _is_refusal(exc: BaseException) -> bool:
    return isinstance(exc, (ThalovantHubRefusedError, ThalovantHubKeyChangedError))


class Supervisor:
    """Owns the dial → read → redial loop of one client (run :meth:`run` as a task).

    Args:
        dial: Opens one link (given the telemetry to record it in).
        dispatch: The reader's callable for every decrypted message.
        telemetry: The client's connection record.
        on_lost: Called with the error when a link ends (fails the requests in flight).
        auto_reconnect: Redial after a drop (never after a refusal or a key change).
        backoff: The redial delays.
        keep: Hold the link with this policy (see the module docstring).
        listeners: Called with every new state (the list is shared, not copied).
    """

    def __init__(
        self,
        dial: Callable[[ConnectionTelemetry], Awaitable[Link]],
        dispatch: Dispatch,
        *,
        telemetry: ConnectionTelemetry,
        on_lost: Callable[[ThalovantError], None],
        auto_reconnect: bool,
        backoff: Backoff,
        keep: HubSessionPolicy | None = None,
        listeners: list[StateListener] | None = None,
    ) -> None:
        self._dial = dial
        self._dispatch = dispatch
        self.telemetry = telemetry
        self._on_lost = on_lost
        self.auto_reconnect = auto_reconnect
        self.backoff = backoff
        self.state: State = "idle"
        self._link: Link | None = None
        self._pending: _Attempt | None = None
        self._redialing = False
        self._failures = 0
        self._redial_at: float | None = None
        self._retry_due: float | None = None  # the same, in time.monotonic() terms
        self._wake = anyio.Event()
        self._changed = anyio.Event()
        self._closed = False
        self.redials = 0
        """Successful reconnections after a drop (for diagnostics and tests)."""
        self.keep = keep
        """The policy while the link is held (None: redial only after drops)."""
        self.listeners: list[StateListener] = listeners if listeners is not None else []
        self.failure: ThalovantError | None = None
        """What put a held link in ``failed`` (cleared by the next ready link)."""
        self._refused_since: float | None = None

    # -- what callers see -----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def _is_closed(self) -> bool:
        # a call, not an attribute: mypy must not narrow it across awaits
        return self._closed

    @property
    def failures(self) -> int:
        """Consecutive failed attempts (0 after a ready link or a drop)."""
        return self._failures

    @property
    def retry_in(self) -> float | None:
        """Seconds until the scheduled redial (None: none is scheduled). Readable from any
        thread."""
        due = self._retry_due
        return None if due is None else max(0.0, due - time.monotonic())

    @property
    def attempt_deadline(self) -> float | None:
        """The latest deadline a caller waits for the attempt under way (None: nobody waits,
        e.g. a redial); the dial may take until then (see :func:`thalovant.link.dialer.dial`)."""
        attempt = self._pending
        return attempt.deadline if attempt is not None and attempt.waiters else None

    @property
    def link(self) -> Link | None:
        """The ready link, or None."""
        link = self._link
        return link if link is not None and link.ready and not link.dead else None

    def request(self) -> _Attempt:
        """The attempt under way, or a new one (skipping any backoff wait).

        Returns:
            The attempt callers wait on.

        Raises:
            ThalovantConnectionError: The client is closed.
        """
        if self._closed:
            raise ThalovantConnectionError("the client is closed")
        if self._pending is None:
            self._pending = _Attempt(redial=False)
            self._wake.set()
        return self._pending

    async def wait_ready(self, deadline: float) -> Link:
        """The ready link, dialing if needed.

        Args:
            deadline: The caller's deadline (``anyio.current_time``).

        Returns:
            The ready link.

        Raises:
            ThalovantConnectTimeoutError: No link was ready by ``deadline``.
            ThalovantError: The attempt's own (public) error.
        """
        while True:
            link = self.link
            if link is not None:
                return link
            attempt = self.request()
            attempt.waiters += 1
            if attempt.deadline is None or deadline > attempt.deadline:
                attempt.deadline = deadline
            try:
                with anyio.move_on_after(deadline - anyio.current_time()):
                    await attempt.done.wait()
            finally:
                attempt.waiters -= 1
                abandoned = attempt.waiters == 0 and not attempt.redial
                if abandoned and not attempt.done.is_set() and attempt.scope is not None:
                    attempt.scope.cancel()
            if not attempt.done.is_set():
                raise ThalovantConnectTimeoutError(
                    "not connected to the hub within the deadline"
                    + (
                        f" (last error: {self.telemetry.last_error})"
                        if self.telemetry.last_error
                        else ""
                    )
                )
            if attempt.error is not None:
                raise attempt.error
            if attempt.link is not None and attempt.link.ready and not attempt.link.dead:
                return attempt.link

    async def connected(self) -> None:
        """Wait until a link is ready; raise ThalovantConnectionError when the client is
        closed or nothing is dialing (call ``connect()`` first)."""
        while self.link is None:
            if self._closed:
                raise ThalovantConnectionError("the client is closed")
            if self.state == "failed" and self._pending is None and self.failure is not None:
                raise self.failure
            if self.state == "idle" and self._pending is None:
                raise ThalovantConnectionError(
                    "not connected and not reconnecting"
                    + (
                        f" (last error: {self.telemetry.last_error})"
                        if self.telemetry.last_error
                        else ""
                    )
                )
            await self._changed.wait()

    async def wait_down(self) -> None:
        """Wait until no link is up and none is coming by itself (closed, or idle)."""
        while not (self._closed or (self.state in ("idle", "failed") and self._pending is None)):
            await self._changed.wait()

    def close(self, error: ThalovantError) -> Link | None:
        """Stop for good: fail a pending attempt with ``error``.

        Args:
            error: What waiting callers raise.

        Returns:
            The live link, if any (the caller closes it).
        """
        self._closed = True
        self._retry_due = None
        if self._pending is not None:
            if self._pending.scope is not None:
                self._pending.scope.cancel()
            self._finish(self._pending, error=error)
        self._wake.set()
        self._set_state("closed")
        self.telemetry.phase = "closed"
        link, self._link = self._link, None
        return link

    # -- the task -------------------------------------------------------------------------

    async def run(self) -> None:
        """The supervisor task: loops until :meth:`close` (or cancellation)."""
        while not self._closed:
            attempt = await self._next_attempt()
            if attempt is None:
                return
            link = await self._try_dial(attempt)
            if link is None:
                continue
            try:
                if self._is_closed():  # closed while the dial finished
                    return
                self._link = link
                on_ready = functools.partial(self._on_ready, attempt, link)
                keep = self.keep
                probe = (keep.probe_seconds, keep.probe_down_seconds) if keep else None
                ended = await link.run(self._dispatch, on_ready, probe=probe)
                self._link = None
                if not self._is_closed():  # fail in-flight requests before closing
                    self._on_link_end(attempt, ended or ThalovantConnectionError("link closed"))
            finally:  # also on cancellation: never leave a connection open
                if self._link is link:
                    self._link = None
                await link.aclose()

    async def _next_attempt(self) -> _Attempt | None:
        while not self._closed:
            if self._pending is not None:
                return self._pending
            now = anyio.current_time()
            if self._redial_at is not None and now >= self._redial_at:
                self._redial_at = self._retry_due = None
                self._pending = _Attempt(redial=True)
                otel.note_redial(self.telemetry.protocol)
                return self._pending
            self._wake = anyio.Event()
            wait = math.inf if self._redial_at is None else self._redial_at - now
            with anyio.move_on_after(wait):
                await self._wake.wait()
        return None

    async def _try_dial(self, attempt: _Attempt) -> Link | None:
        self._redial_at = self._retry_due = None
        self._set_state("connecting")
        link: Link | None = None
        with anyio.CancelScope() as scope:
            attempt.scope = scope
            if not attempt.redial and attempt.waiters == 0:
                scope.cancel()  # everyone who wanted it has gone
            try:
                link = await self._dial(self.telemetry)
            except Exception as exc:
                attempt.scope = None
                error = (
                    exc
                    if isinstance(exc, ThalovantError)
                    else ThalovantConnectionError(f"connect failed: {type(exc).__name__}: {exc}")
                )
                self._attempt_failed(attempt, error)
                return None
        attempt.scope = None
        if link is None:  # cancelled: abandoned by its callers
            self._attempt_failed(
                attempt, ThalovantConnectionError("the connect attempt was abandoned")
            )
        return link

    def _on_ready(self, attempt: _Attempt, link: Link) -> None:
        redialed = attempt.redial or self._redialing
        if redialed:
            self.redials += 1
            self.telemetry.redials += 1
            logger.info("reconnected to the hub")
        self._redialing = False
        self._failures = 0
        self._refused_since = None
        self.failure = None
        self.telemetry.ready()
        self._set_state("ready")
        self._finish(attempt, link=link)

    def _attempt_failed(self, attempt: _Attempt, exc: ThalovantError) -> None:
        if self._closed:
            return
        self.telemetry.fail(exc)
        logger.info("connect attempt failed: %s", exc)
        self._finish(attempt, error=exc)
        if _is_refusal(exc):
            self._refused(exc)
        elif (self._redialing or self.keep is not None) and self.auto_reconnect:
            self._failures += 1
            self._schedule_redial()
        else:
            self._redialing = False
            self._set_state("idle")

    def _refused(self, exc: ThalovantError) -> None:
        """A refusal or a changed hub key: redial within the grace period, if held."""
        if not isinstance(exc, ThalovantHubKeyChangedError):
            self.telemetry.refusals += 1
        keep = self.keep
        if keep is None or not self.auto_reconnect:
            self._redialing = False
            self._set_state("idle")
            return
        now = anyio.current_time()
        if self._refused_since is None:
            self._refused_since = now
        if (
            isinstance(exc, ThalovantHubKeyChangedError)
            or now - self._refused_since >= keep.refusal_grace_seconds
        ):
            logger.warning("giving up on the hub: %s", exc)
            self._redialing = False
            self.failure = exc
            self._set_state("failed")
            return
        self._redialing = True
        self._failures += 1
        self._schedule_redial("refused")

    def _on_link_end(self, attempt: _Attempt, ended: ThalovantError) -> None:
        self.telemetry.fail(ended)
        if not attempt.done.is_set():
            self._finish(attempt, error=ended)  # refused while settling
        try:
            self._on_lost(ended)
        except Exception:  # pragma: no cover - the client's callback must not raise
            logger.exception("on_lost callback failed")
        if _is_refusal(ended):
            logger.warning("link to the hub ended: %s", ended)
            self._refused(ended)
            return
        if not self.auto_reconnect:
            logger.warning("link to the hub ended: %s", ended)
            self._redialing = False
            self._set_state("idle")
            return
        logger.warning("link to the hub dropped (%s); reconnecting", ended)
        self._redialing = True
        self._failures = 0
        self._schedule_redial()

    def _schedule_redial(self, state: State = "backoff") -> None:
        delay = self.backoff.delay(self._failures)
        self._redial_at = anyio.current_time() + delay
        self._retry_due = time.monotonic() + delay
        self.telemetry.phase = "connecting"
        self._set_state(state)

    def _finish(
        self, attempt: _Attempt, *, link: Link | None = None, error: ThalovantError | None = None
    ) -> None:
        if self._pending is attempt:
            self._pending = None
        if attempt.done.is_set():
            return  # the first outcome (e.g. "closed") stands
        attempt.link, attempt.error = link, error
        attempt.done.set()

    def _set_state(self, state: State) -> None:
        previous, self.state = self.state, state
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
        if state == previous:
            return
        for listener in list(self.listeners):
            try:
                listener(state)
            except Exception:
                logger.exception("a connection-state listener raised; ignored")
