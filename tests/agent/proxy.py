"""A loopback TCP proxy that injects faults between a client and a hub (or its broker).

Each accepted connection is piped to :attr:`FaultProxy.target` in both directions. Faults:

* :meth:`FaultProxy.cut`: abort every open connection (an RST on both sides);
* :meth:`FaultProxy.stall`: stop forwarding on the open connections until :meth:`resume`
  (bytes wait in the proxy, nothing is lost; no FIN);
* :meth:`FaultProxy.silence`: black-hole the open connections for good: bytes are read and
  dropped, nothing is forwarded, no FIN (a peer that went silent, a sleeping laptop);
* :attr:`FaultProxy.refusing`: close new connections at once;
* :meth:`FaultProxy.close_port` / :meth:`open_port`: stop listening and listen again on the
  same port (the hub is down: connections are refused, as by a closed port).

New connections after a cut, stall or silence are piped normally. :meth:`retarget` points
new connections at another port (a restarted hub on a new port).
"""

from __future__ import annotations

import asyncio
import contextlib


class _Pipe:
    def __init__(
        self, proxy: FaultProxy, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.down_r, self.down_w = down_r, down_w
        self.up_w: asyncio.StreamWriter | None = None
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.silent = False
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        try:
            up_r, self.up_w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.proxy.target), 5.0
            )
        except (OSError, asyncio.TimeoutError):
            self.abort()
            return
        self.tasks = [
            asyncio.ensure_future(self._copy(self.down_r, self.up_w)),
            asyncio.ensure_future(self._copy(up_r, self.down_w)),
        ]
        await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
        if not self.silent:
            self.abort()

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self.flowing.wait()
                if self.silent:
                    continue  # read and dropped: the far side never hears of it
                writer.write(data)
                await writer.drain()
        if not self.silent:
            self.abort()

    def abort(self) -> None:
        for writer in (self.down_w, self.up_w):
            if writer is not None:
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()
        self.proxy.pipes.discard(self)


class FaultProxy:
    """See the module docstring. ``async with FaultProxy(target_port) as proxy``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.refusing = False
        self.pipes: set[_Pipe] = set()
        self.accepted = 0
        self._silenced: list[_Pipe] = []
        self._port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self._port = self.port
        return self

    async def close_port(self) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), 5.0)

    async def open_port(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self._port, reuse_address=True
        )

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        self.release_silenced()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        self.accepted += 1
        pipe = _Pipe(self, reader, writer)
        self.pipes.add(pipe)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        try:
            await pipe.run()
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]

    def retarget(self, port: int) -> None:
        self.target = port

    def cut(self) -> None:
        for pipe in list(self.pipes):
            pipe.abort()

    def stall(self) -> None:
        for pipe in self.pipes:
            pipe.flowing.clear()

    def resume(self) -> None:
        for pipe in self.pipes:
            pipe.flowing.set()

    def silence(self) -> None:
        for pipe in list(self.pipes):
            pipe.silent = True
            pipe.flowing.set()
            self.pipes.discard(pipe)
            self._silenced.append(pipe)

    def release_silenced(self) -> None:
        """Abort the black-holed connections (their sockets, at the end of a test)."""
        for pipe in self._silenced:
            pipe.silent = False
            pipe.abort()
        self._silenced.clear()
