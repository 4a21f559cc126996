"""``ask`` and ``query`` (publish one request, collect its reply by request id) and the
fire-and-forget utterances (``send_utterance``/``send_action``/``send_code``).

Per client it keeps two pieces of state: the conversation carry (docs/protocol.md §6) and whether
this hub sends ``ovos.utterance.handled`` (learned from the first ask that sees one; later asks
then complete on ``handled`` instead of a settle window). After an ask returns without
``handled`` its registration stays up to :data:`CARRY_GRACE_SECONDS` to record the carry,
marked done so it no longer counts as in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import anyio

from thalovant.bus import CollectorSink, RequestRegistration
from thalovant.client.carry import ConversationCarry
from thalovant.client.collector import AskCollector, QueryCollector
from thalovant.client.outgoing import RequestStamp, build_query, build_utterance, settle_request_id
from thalovant.client.runtime import ClientRuntime
from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError, ThalovantTimeoutError
from thalovant.events import EVENT_UTTERANCE_HANDLED
from thalovant.link.link import Link
from thalovant.models.types import ThalovantEvent, ThalovantReply
from thalovant.telemetry import otel

__all__ = ["CARRY_GRACE_SECONDS", "AskSink", "Asker"]

_Sink = TypeVar("_Sink", bound="AskSink")

#: How long an ask keeps listening for ``ovos.utterance.handled`` after it returned.
CARRY_GRACE_SECONDS = 2.0


class AskSink(CollectorSink):
    """A CollectorSink that also signals the arrival of ``ovos.utterance.handled``.

    Args:
        collector: The ask's collector.
    """

    def __init__(self, collector: AskCollector) -> None:
        super().__init__(collector)
        self.ask_collector = collector
        self._handled: anyio.Event | None = None  # made only for the carry grace

    def deliver(self, event: ThalovantEvent) -> None:
        """Feed the collector; wake the waiter only when the outcome or its own deadline
        changed (most speech events change neither: one task switch saved per event).

        Args:
            event: An event routed to this ask by request id.
        """
        collector = self.ask_collector
        before = (collector.done, collector.next_deadline())
        collector.feed(event, self._clock())
        if self._wake is not None and (collector.done, collector.next_deadline()) != before:
            self._wake.set()
        if event.name == EVENT_UTTERANCE_HANDLED and self._handled is not None:
            self._handled.set()

    async def wait_handled(self) -> None:
        """Return once ``ovos.utterance.handled`` arrived."""
        if self.ask_collector.handled_seen:
            return
        if self._handled is None:
            self._handled = anyio.Event()
        await self._handled.wait()


class Asker:
    """Runs asks, queries and fire-and-forget utterances for one client, and keeps its
    conversation carry and whether its hub sends ``ovos.utterance.handled``.

    Args:
        runtime: The client's runtime (publication and the bus).
        stamp: The client's constants stamped on requests.
        settle_seconds: Settle window after the first speech of an ask.
        empty_wait_seconds: Wait for speech after an intent miss.
        send_budget: Deadline (s) of a fire-and-forget send, connecting included.
    """

    def __init__(
        self,
        runtime: ClientRuntime,
        stamp: RequestStamp,
        *,
        settle_seconds: float,
        empty_wait_seconds: float,
        send_budget: float,
    ) -> None:
        self._runtime = runtime
        self.send_budget = send_budget
        """Deadline (s) of a fire-and-forget send, connecting included."""
        self._stamp = stamp
        self.settle_seconds = settle_seconds
        self.empty_wait_seconds = empty_wait_seconds
        self.carry = ConversationCarry()
        self.hub_sends_handled = False

    @otel.traced_ask(lambda asker: asker._runtime.telemetry, settle_request_id)
    async def ask(
        self,
        utterance: str,
        *,
        timeout: float,
        lang: str,
        context: Mapping[str, Any] | None,
        session_id: str | None,
        request_id: str | None,
        stt_lang: str | None,
        pipeline: Iterable[str] | None,
        location: Mapping[str, Any] | None,
    ) -> ThalovantReply:
        """Publish and collect one ask; the arguments are those of
        ``AsyncThalovantClient.ask`` (``utterance`` already stripped).

        Returns:
            The reply.

        Raises:
            ThalovantConnectionError: The link dropped or the client closed.
            ThalovantTimeoutError: No speech before the deadline.
            ThalovantRuntimeError: A typed failure outcome (policy denial, no match, ...).
        """
        deadline = anyio.current_time() + timeout
        sid, sink, reg = await self.open_ask(
            utterance,
            deadline=deadline,
            make_sink=AskSink,
            lang=lang,
            context=context,
            session_id=session_id,
            request_id=request_id,
            stt_lang=stt_lang,
            pipeline=pipeline,
            location=location,
        )
        try:
            reply = await sink.wait(deadline)
        except ThalovantConnectionError:
            reg.close()
            raise
        except (ThalovantRuntimeError, ThalovantTimeoutError):
            self.settle(sid, sink, reg, None)  # a typed outcome: the hub did answer
            raise
        except BaseException:
            reg.close()
            raise
        self.settle(sid, sink, reg, reply)
        return reply

    async def open_ask(
        self,
        utterance: str,
        *,
        deadline: float,
        make_sink: Callable[[AskCollector], _Sink],
        lang: str,
        context: Mapping[str, Any] | None,
        session_id: str | None,
        request_id: str | None,
        stt_lang: str | None,
        pipeline: Iterable[str] | None,
        location: Mapping[str, Any] | None,
    ) -> tuple[str, _Sink, RequestRegistration]:
        """Publish one ask with its sink registered first (``ask`` and ``ask_stream``).

        Args:
            utterance: The stripped utterance.
            deadline: When to give up connecting (``anyio.current_time`` clock).
            make_sink: Builds the request's sink from its collector.
            lang: Language of the utterance.
            context: The caller's context.
            session_id: The caller's session id.
            request_id: The request id (default a new one).
            stt_lang: ``context.stt_lang``.
            pipeline: Intent stages.
            location: ``context.location``.

        Returns:
            ``(session id sent, sink, registration)``; the caller closes or settles it.

        Raises:
            ThalovantConnectionError: Not sent before the deadline, or the client closed.
            ThalovantRuntimeError: A duplicate request id in flight.
        """
        runtime = self._runtime

        async def publish(link: Link) -> tuple[str, _Sink, RequestRegistration]:
            out = build_utterance(
                self._stamp,
                utterance,
                lang=lang,
                connection_session_id=link.session_id,
                context=context,
                session_id=session_id,
                request_id=request_id,
                stt_lang=stt_lang,
                pipeline=pipeline,
                location=location,
                carry=self.carry,
            )
            collector = AskCollector(
                out.request_id,
                session_id=out.session_id,
                utterance=utterance,
                settle_seconds=self.settle_seconds,
                empty_wait_seconds=self.empty_wait_seconds,
                hub_sends_handled=self.hub_sends_handled,
            )
            sink = make_sink(collector)
            reg = runtime.bus.register_request(out.request_id, sink)
            try:
                await link.send(out.message)
            except BaseException:
                reg.close()
                raise
            return out.session_id, sink, reg

        return await runtime.publish(deadline, publish)

    def settle(
        self, sid: str, sink: AskSink, reg: RequestRegistration, reply: ThalovantReply | None
    ) -> None:
        """An ask has its outcome: learn from it, and close its registration now or after
        the carry grace (see the module docstring).

        Args:
            sid: The session id it was sent with.
            sink: Its sink.
            reg: Its registration.
            reply: The reply; None for a typed failure outcome.
        """
        ids = [sid, reply.session_id if reply is not None else None]
        tg = self._runtime.task_group
        if sink.ask_collector.handled_seen or tg is None:
            self._learn(ids, sink)
            reg.close()
            return
        reg.mark_done()
        tg.start_soon(self._carry_grace, ids, sink, reg, name="thalovant carry grace")

    def expire_later(self, reg: RequestRegistration, at: float, released: anyio.Event) -> None:
        """Close ``reg`` at ``at`` (anyio clock) unless ``released`` is set first: the bound
        on a reply stream its consumer abandoned.

        Args:
            reg: The stream's registration.
            at: When to close it.
            released: Set when the stream released it itself.
        """
        tg = self._runtime.task_group
        if tg is not None:
            tg.start_soon(self._expire, reg, at, released, name="thalovant stream expiry")

    @staticmethod
    async def _expire(reg: RequestRegistration, at: float, released: anyio.Event) -> None:
        with anyio.move_on_after(at - anyio.current_time()):
            await released.wait()
        if not released.is_set():
            reg.close()

    async def _carry_grace(
        self, ids: list[str | None], sink: AskSink, reg: RequestRegistration
    ) -> None:
        try:
            with anyio.move_on_after(CARRY_GRACE_SECONDS):
                await sink.wait_handled()
            self._learn(ids, sink)
        finally:
            reg.close()

    def _learn(self, ids: list[str | None], sink: AskSink) -> None:
        collector = sink.ask_collector
        if collector.handled_seen:
            self.hub_sends_handled = True
        if collector.carry is not None:
            self.carry.record([*ids, *collector.session_ids], collector.carry)

    async def send_untracked(
        self,
        text: str,
        *,
        lang: str,
        context: Mapping[str, Any] | None,
        session_id: str | None,
        request_id: str | None,
        input: Mapping[str, Any] | None = None,
        data_input: bool = False,
    ) -> str:
        """Publish an utterance nobody collects (``send_utterance``/``action``/``code``).
        Policy denials without request id are not attributed to asks for a while
        afterwards (docs/protocol.md §3.5).

        Args:
            text: The utterance.
            lang: Its language.
            context: The caller's context.
            session_id: The caller's session id.
            request_id: The request id (default a new one).
            input: ``context.input``.
            data_input: Also put ``input`` in the data.

        Returns:
            The request id sent.

        Raises:
            ThalovantConnectionError: Not sent within :attr:`send_budget`.
        """

        async def publish(link: Link) -> str:
            out = build_utterance(
                self._stamp,
                text,
                lang=lang,
                connection_session_id=link.session_id,
                context=context,
                session_id=session_id,
                request_id=request_id,
                carry=self.carry,
                input=input,
                data_input=data_input,
            )
            self._runtime.bus.note_untracked_utterance()
            await link.send(out.message)
            return out.request_id

        deadline = anyio.current_time() + self.send_budget
        rid = await self._runtime.publish(deadline, publish)
        self._runtime.bus.note_untracked_utterance()
        return rid

    async def query(
        self,
        utterance: str,
        *,
        timeout: float,
        lang: str,
        context: Mapping[str, Any] | None,
        session_id: str | None,
        query_id: str | None,
        request_id: str | None = None,
    ) -> ThalovantReply:
        """Publish and collect one HiveMind ``query``; the arguments are those of
        ``AsyncThalovantClient.query`` (``utterance`` already stripped).

        Returns:
            The reply.

        Raises:
            ThalovantTimeoutError: ``hive.query.complete`` did not come in time.
            ThalovantConnectionError: The link dropped or the client closed.
        """
        deadline = anyio.current_time() + timeout
        out, qid = build_query(
            self._stamp,
            utterance,
            lang=lang,
            context=context,
            session_id=session_id,
            query_id=query_id,
            carry=self.carry,
            request_id=request_id,
        )
        collector = QueryCollector(qid, session_id=out.session_id, utterance=utterance)
        sink = CollectorSink(collector)
        reg = self._runtime.open_bus().register_request(qid, sink, kind="query")
        try:
            await self._runtime.publish(deadline, lambda link: link.send(out.message))
            reply = await sink.wait(deadline)
            if collector.carry is not None:
                self.carry.record([out.session_id, reply.session_id], collector.carry)
            return reply
        finally:
            reg.close()
