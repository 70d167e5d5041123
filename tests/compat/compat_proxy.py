"""A TCP proxy on 127.0.0.1 whose connections a test can cut at will.

It sits between a client and a server and forwards bytes both ways. ``cut``
aborts every open connection on both sides at once, as a dropped network
would, without touching the server process.
"""

from __future__ import annotations

import asyncio
import contextlib


class CuttingProxy:
    """Forwards connections from its own port to ``upstream_port``.

    Attributes:
        accepted: Number of client connections accepted so far.
        cuts: Number of times ``cut`` aborted at least one connection.
        client_chunks: Number of reads that brought bytes from a client.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.accepted = 0
        self.cuts = 0
        self.client_chunks = 0
        self._client_data = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        """Start listening; return ``http://127.0.0.1:PORT``."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    @property
    def open_connections(self) -> int:
        return len(self._pairs)

    async def wait_for_client_data(
        self,
        after: int,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``client_chunks`` exceeds ``after``."""
        async with asyncio.timeout(timeout):
            while self.client_chunks <= after:
                self._client_data.clear()
                await self._client_data.wait()

    def cut(self) -> int:
        """Abort every open connection on both sides; return how many were cut."""
        pairs = list(self._pairs)
        for client, upstream in pairs:
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()
        if pairs:
            self.cuts += 1
        return len(pairs)

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.upstream_port
            )
        except OSError:
            client_writer.transport.abort()
            return
        pair = (client_writer, upstream_writer)
        self._pairs.add(pair)
        pumps = [
            self._spawn(
                self._pump(client_reader, upstream_writer, self._on_client_chunk)
            ),
            self._spawn(self._pump(upstream_reader, client_writer)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        self._pairs.discard(pair)
        for writer in pair:
            writer.transport.abort()

    def _spawn(self, coroutine) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_client_chunk(self) -> None:
        self.client_chunks += 1
        self._client_data.set()

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_chunk=None,
    ) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(65536):
                if on_chunk is not None:
                    on_chunk()
                writer.write(chunk)
                await writer.drain()
