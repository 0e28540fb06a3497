"""A client that leaves mid-body is not an error of textwire's (issue 3: observability).

On a socket: a client closing its connection mid-body is what the listener sees."""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time

import pytest

from tests.support import LiveServer


class _Noticed(logging.Handler):
    """Set once textwire logs that the client went away."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "disconnected" in record.getMessage():
            self.event.set()


@pytest.mark.parametrize("path", ["/v1/Senders", "/2010-04-01/Accounts/{sid}/Messages.json"])
def test_a_client_gone_mid_body_logs_no_unhandled_error(
    server: LiveServer, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    acct = server.new_account("Leaver")
    auth = base64.b64encode(f"{acct.account_sid}:{acct.auth_token}".encode()).decode()
    head = (
        f"POST {path.format(sid=acct.account_sid)} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Basic {auth}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    port = int(server.url.rsplit(":", 1)[1])
    noticed = _Noticed()
    logging.getLogger("textwire").addHandler(noticed)
    try:
        with caplog.at_level(logging.INFO, logger="textwire"):
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(head.encode() + b"Sender=%2B1415")  # 14 of the 1,000 promised
                # Let the server start reading the body: a timer, as nothing signals that.
                time.sleep(0.2)
            # The server notices the closed connection; give it a moment to finish.
            noticed.event.wait(5)
    finally:
        logging.getLogger("textwire").removeHandler(noticed)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("textwire")]
    assert not any("unhandled error" in m for m in messages), messages
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], messages
