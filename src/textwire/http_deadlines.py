"""Deadlines for the API port's connections: idle ones and slow senders are closed.

uvicorn's ``timeout_keep_alive`` only starts after a response, so a client that connects and
sends nothing, sends a request head a byte at a time (slowloris), or never finishes a body
holds its connection forever. Each connection here has one timer, armed whenever it waits for
the client: ``idle`` seconds from connecting or from a finished response until a request
starts, and ``request`` seconds from a request's first byte until its last. While the app
works on a complete request no timer runs. When the timer fires the connection is closed (an
app still reading that body sees ``http.disconnect``). The redirect port does the same in
links/listener.py.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _DeadlineProtocol(HttpToolsProtocol):
    idle_seconds = 5.0
    request_seconds = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _receiving = False

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.idle_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._receiving = True
        self._arm(self.request_seconds)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._receiving = False
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._receiving or self.transport.is_closing():
            return  # the next request's own deadline runs, or nothing is left to wait for
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined request, already received, is being answered
        self._arm(self.idle_seconds)


def deadline_protocol(idle_seconds: float, request_seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the deadlines above (``uvicorn.Config(http=...)``)."""
    return type(
        "DeadlineProtocol",
        (_DeadlineProtocol,),
        {"idle_seconds": idle_seconds, "request_seconds": request_seconds},
    )
