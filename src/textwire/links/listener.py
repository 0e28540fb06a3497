"""The redirect server's HTTP/1.1 listener: an ``asyncio.Protocol`` over ``httptools``.

The redirect role is textwire's hottest path, and under an ASGI server the server itself
was the ceiling (a do-nothing ASGI 302 under uvicorn reached ~0.3 of nginx's rate; see
bench/README.md). Here each connection feeds its bytes to ``httptools`` (the C parser
uvicorn uses) and, on a cache hit, writes the link's pre-built response bytes in the same
callback: no ASGI scope, no task, no await. What to answer is decided in
``links/redirect.py`` (``Redirector.answer``); this module only speaks HTTP.

Per connection:

* Keep-alive by default (HTTP/1.1), ``Connection: close`` and HTTP/1.0 honoured; idle
  connections closed after ``KEEP_ALIVE_SECONDS`` without a complete request.
* Pipelining: answers go out in request order. When an answer has to wait (a cache miss
  reads the database), later answers queue behind it and the connection stops reading
  until the queue is written.
* Bad requests get 400, a request line over ``MAX_URL`` bytes 414, a head over
  ``MAX_HEAD`` bytes 431, a body over ``MAX_BODY`` bytes 413; each then closes.
  Smaller bodies are read and ignored.
* Backpressure: while the click buffer is saturated (``ClickRecorder.watch``) no
  connection reads, so overload slows redirects instead of losing clicks; a connection
  whose client does not read its responses stops being read as well.

``stop()`` stops accepting, closes idle connections, lets each busy one finish the request
it is in (answered with ``connection: close``) and waits for them up to
``GRACE_SECONDS``; the click recorder's ``close()`` then writes every click (server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Coroutine
from typing import Any, Final, cast

import httptools

from textwire.links.redirect import Answer, Redirector
from textwire.links.responses import Connection, http_response

log = logging.getLogger("textwire.links.listener")

MAX_URL: Final = 8 * 1024
MAX_HEAD: Final = 16 * 1024
MAX_BODY: Final = 64 * 1024
KEEP_ALIVE_SECONDS: Final = 5
GRACE_SECONDS: Final = 5.0
BACKLOG: Final = 2048


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing and answer ``status``, then close."""

    def __init__(self, status: int):
        self.status = status


class _Done(Exception):
    """Raised inside a parser callback once the connection is closing: parse no further."""


def request_path(target: bytes) -> bytes:
    """The path of a request target: origin form without its query, or an absolute URL's."""
    if target[:1] == b"/":
        return target.partition(b"?")[0]
    if target[:4].lower() == b"http":
        try:
            path: bytes | None = httptools.parse_url(target).path
        except httptools.HttpParserInvalidURLError:
            return b""
        return path or b"/"
    return b""  # "*" or garbage: not a slug, so the fallback answers


class RedirectListener:
    """Accepts connections for one ``Redirector`` and stops them gracefully."""

    def __init__(self, redirector: Redirector):
        self.redirector = redirector
        self.connections: set[_HttpConnection] = set()
        self.stopping = False
        self.saturated = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._all_closed = asyncio.Event()
        self._sweeper: asyncio.Task[None] | None = None
        redirector.clicks.watch(self._on_saturated)

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HttpConnection(self), host, port, backlog=BACKLOG, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, then stop gracefully."""
        await stop.wait()
        await self.stop()

    async def stop(self) -> None:
        if self._server is None:
            return
        self.stopping = True
        self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for conn in list(self.connections):
            conn.stop()  # idle ones close now; busy ones after their current answer
        if self.connections:
            self._all_closed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), GRACE_SECONDS)
        for conn in list(self.connections):
            conn.abort()
        await self._server.wait_closed()
        self._server = None

    def closed(self, conn: _HttpConnection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_closed.set()

    def _on_saturated(self, saturated: bool) -> None:
        self.saturated = saturated
        for conn in self.connections:
            conn.update_reading()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1)
            for conn in list(self.connections):
                conn.tick()


class _HttpConnection(asyncio.Protocol):
    """One client connection; the parser calls the ``on_*`` methods."""

    def __init__(self, listener: RedirectListener):
        self._listener = listener
        self._answer = listener.redirector.answer
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._ip: str | None = None
        self._url = b""
        self._host: bytes | None = None
        self._user_agent: bytes | None = None
        self._in_head = False
        self._in_message = False
        self._head_bytes = 0
        self._body_bytes = 0
        self._queue: deque[tuple[Answer, bool]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._write_paused = False
        self._reading = True
        self._held = bytearray()
        self._closing = False
        self._idle = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self._transport = transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self._ip = str(peer[0]) if peer else None
        self._listener.connections.add(self)
        if self._listener.stopping:
            self._close()
            return
        self.update_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        # A queue being written stops at its next answer (transport closing); cancelling
        # it instead would cancel a slug look-up other connections may be sharing.
        self._closing = True
        self._listener.closed(self)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        if not self._reading:
            # uvloop starts reading a new connection after connection_made even if it was
            # paused there: hold what arrives until reading is allowed again.
            self._held += data
            assert self._transport is not None
            self._transport.pause_reading()
            return
        if self._in_head:  # a head that spans reads: httptools buffers it, so bound it here
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._refuse(431)
                return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                self._refuse(exc.__context__.status)
            elif not isinstance(exc.__context__, _Done):
                raise
        except httptools.HttpParserUpgrade:
            self._close_after_answers()  # answered; whatever protocol follows is not ours
        except httptools.HttpParserError:
            self._refuse(400)

    def pause_writing(self) -> None:
        self._write_paused = True
        self.update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self.update_reading()

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._closing:
            raise _Done
        self._in_message = self._in_head = True
        self._head_bytes = self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_URL:
            raise _Refused(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD:
            raise _Refused(431)
        name = name.lower()
        if name == b"host":
            self._host = value
        elif name == b"user-agent":
            self._user_agent = value

    def on_headers_complete(self) -> None:
        self._in_head = False

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > MAX_BODY:
            raise _Refused(413)

    def on_message_complete(self) -> None:
        parser = self._parser
        connection: Connection = None
        if self._listener.stopping or not parser.should_keep_alive():
            connection = b"close"
        elif parser.get_http_version() == "1.0":
            connection = b"keep-alive"
        answer = self._answer(
            parser.get_method(),
            request_path(self._url),
            self._host,
            self._ip,
            self._user_agent,
            connection,
        )
        self._url = b""
        self._host = self._user_agent = None
        self._in_message = False
        self._idle = 0
        close = connection == b"close"
        if self._queue is None and type(answer) is bytes:
            assert self._transport is not None
            self._transport.write(answer)
            if close:
                self._close()
            return
        self._enqueue(answer, close)
        if close:
            self._closing = True  # answer what is queued, read nothing more

    # flow

    def update_reading(self) -> None:
        """Read only when nothing waits: an answer in order, the client, the click writer."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        listener = self._listener
        reading = (
            self._queue is None
            and not self._write_paused
            and not (listener.saturated and not listener.stopping)
        )
        if reading != self._reading:
            self._reading = reading
            if not reading:
                transport.pause_reading()
                return
            transport.resume_reading()
            if self._held:
                asyncio.get_running_loop().call_soon(self._release_held)

    def _release_held(self) -> None:
        held = bytes(self._held)
        self._held.clear()
        if held:
            self.data_received(held)

    def tick(self) -> None:
        """Once a second: close a connection idle for ``KEEP_ALIVE_SECONDS``.

        A connection the server itself holds (paused reading) is not idle.
        """
        if not self._reading:
            return
        self._idle += 1
        if self._idle >= KEEP_ALIVE_SECONDS:
            self._close()

    def stop(self) -> None:
        """Graceful stop: close now if between requests, else after the current answer."""
        if not self._in_message and self._queue is None:
            self._close()
        else:
            self.update_reading()  # a saturated buffer no longer holds the last request

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _enqueue(self, answer: Answer, close: bool) -> None:
        if self._queue is not None:
            self._queue.append((answer, close))
            return
        self._queue = deque([(answer, close)])
        self.update_reading()
        self._writer = asyncio.get_running_loop().create_task(self._write_queue())

    async def _write_queue(self) -> None:
        queue, transport = self._queue, self._transport
        assert queue is not None and transport is not None
        try:
            while queue and not transport.is_closing():
                answer, close = queue.popleft()
                response = answer if isinstance(answer, bytes) else await answer
                if transport.is_closing():
                    break
                transport.write(response)
                if close:
                    self._close()
        except Exception:
            log.exception("redirect answer failed; closing the connection")
            transport.abort()
        finally:
            self._drop_queue()
            self._writer = None
        if self._closing or (self._listener.stopping and not self._in_message):
            self._close()
        else:
            self.update_reading()

    def _drop_queue(self) -> None:
        queue, self._queue = self._queue, None
        for answer, _ in queue or ():
            if isinstance(answer, Coroutine):
                _close_unstarted(answer)

    def _refuse(self, status: int) -> None:
        """Answer a request that cannot be served (after those before it), then close."""
        self._in_message = self._in_head = False
        response = http_response(status, connection=b"close")
        if self._queue is None:
            assert self._transport is not None
            self._transport.write(response)
            self._close()
        else:
            self._enqueue(response, True)
            self._closing = True

    def _close_after_answers(self) -> None:
        if self._queue is None:
            self._close()
        else:
            self._closing = True  # the queue's writer closes once it is done

    def _close(self) -> None:
        """Close after what was written (``transport.close`` flushes first)."""
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


def _close_unstarted(answer: Coroutine[Any, Any, bytes]) -> None:
    # Never awaited (its connection went away): close it so Python does not warn.
    answer.close()
