"""The create-message route served below FastAPI (``messages/hot.py``) answers exactly as
FastAPI's own route does: same statuses, content types and bodies, for good and bad input.

Two real HTTP servers on 127.0.0.1 share one runtime and database: ``textwire serve``'s app
(the hot path) and ``create_app(hot_paths=False)`` (everything through FastAPI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from tests.support import LiveServer
from textwire.api.app import create_app
from textwire.messages import tables as mt
from textwire.messages.hot import create_account
from textwire.server import uvicorn_config

SENDER = "+14155550111"
# Fields that differ between two otherwise identical messages.
VOLATILE = ("sid", "date_created", "date_updated", "uri", "subresource_uris")


@pytest.fixture
def framework_url(server: LiveServer) -> Iterator[str]:
    """The same runtime served by FastAPI alone, on its own port."""
    config = uvicorn_config(create_app(server.rt, hot_paths=False), "127.0.0.1", 0)
    plain = uvicorn.Server(config)

    async def start() -> int:
        task = asyncio.create_task(plain.serve())
        while not plain.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port: int = plain.servers[0].sockets[0].getsockname()[1]
        return port

    async def stop() -> None:
        plain.should_exit = True
        while plain.started and plain.servers and any(s.is_serving() for s in plain.servers):
            await asyncio.sleep(0.01)

    port = server.call(start())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.call(stop())


@dataclass
class Case:
    name: str
    data: dict[str, Any] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "own"  # own | wrong | none
    account_in_path: str = "own"  # own | other
    chunked: bool = False


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CASES = [
    Case("valid", {"To": "+14155550100", "From": SENDER, "Body": "hello"}),
    Case(
        "valid with media and options",
        {
            "To": "+447700900123",
            "From": SENDER,
            "Body": "“smart” — quotes",
            "MediaUrl": ["https://example.com/a.png", "https://example.com/b.png"],
            "SmartEncoded": "true",
            "ValidityPeriod": "600",
            "StatusCallback": "https://example.com/cb",
        },
    ),
    Case("unicode body", {"To": "+14155550100", "From": SENDER, "Body": "héllo 👋"}),
    Case("missing To", {"From": SENDER, "Body": "x"}),
    Case("invalid To", {"To": "+1415555", "From": SENDER, "Body": "x"}),
    Case("To with spaces", {"To": "+1 415 555 0100", "From": SENDER, "Body": "x"}),
    Case("unknown From", {"To": "+14155550100", "From": "+14155559999", "Body": "x"}),
    Case("no From or service", {"To": "+14155550100", "Body": "x"}),
    Case("body too long", {"To": "+14155550100", "From": SENDER, "Body": "x" * 1601}),
    Case("bad ValidityPeriod", {"To": "+14155550100", "From": SENDER, "ValidityPeriod": "x"}),
    Case("bad SmartEncoded", {"To": "+14155550100", "From": SENDER, "SmartEncoded": "maybe"}),
    Case("wrong token", {"To": "+14155550100", "From": SENDER, "Body": "x"}, auth="wrong"),
    Case("no credentials", {"To": "+14155550100", "From": SENDER, "Body": "x"}, auth="none"),
    Case("another account's path", {"To": "+14155550100", "Body": "x"}, account_in_path="other"),
    Case(
        "JSON body", content=b'{"To": "+14155550100"}', headers={"Content-Type": "application/json"}
    ),
    Case("no content type", content=b"To=%2B14155550100", headers={"Content-Type": ""}),
    Case("empty body", content=b"", headers={"Content-Type": ""}),
    Case("invalid UTF-8", content=b"To=%2B14155550100&Body=%FF%FE", headers=FORM),
    Case("not ASCII", content=b"To=\xff", headers=FORM),
    Case("declared too large", content=b"Body=" + b"x" * 300_000, headers=FORM),
    Case("chunked too large", content=b"Body=" + b"x" * 300_000, headers=FORM, chunked=True),
    Case(
        "chunked valid",
        content=b"To=%2B14155550100&From=%2B14155550111&Body=hi",
        headers=FORM,
        chunked=True,
    ),
]


def request(base: str, case: Case, own: tuple[str, str], other: tuple[str, str]) -> httpx.Response:
    path_account = own[0] if case.account_in_path == "own" else other[0]
    url = f"{base}/2010-04-01/Accounts/{path_account}/Messages.json"
    auth = {"own": own, "wrong": (own[0], "0" * 32), "none": None}[case.auth]
    content: Any = case.content
    if case.chunked and case.content is not None:
        body = case.content
        # An iterator is sent with Transfer-Encoding: chunked, so no Content-Length to check.
        content = iter([body[i : i + 16_384] for i in range(0, len(body), 16_384)])
    return httpx.post(url, data=case.data, content=content, headers=case.headers, auth=auth)


def comparable(r: httpx.Response) -> tuple[int, str, Any]:
    body = r.json()
    for key in VOLATILE:
        if key in body and r.status_code == 201:
            body[key] = "…"
    return r.status_code, r.headers["content-type"], body


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hot_path_answers_as_fastapi_does(
    server: LiveServer, framework_url: str, case: Case
) -> None:
    own, other = server.new_account("Own"), server.new_account("Other")
    creds = (own.account_sid, own.auth_token)
    r = httpx.post(f"{server.url}/v1/Senders", data={"Sender": SENDER, "Mps": "100"}, auth=creds)
    assert r.status_code == 201, r.text
    other_creds = (other.account_sid, other.auth_token)

    hot = request(server.url, case, creds, other_creds)
    framework = request(framework_url, case, creds, other_creds)

    assert comparable(hot) == comparable(framework)
    assert hot.headers["content-length"] == str(len(hot.content))
    created = 2 if hot.status_code == 201 else 0
    assert count_messages(server) == created


def count_messages(server: LiveServer) -> int:
    async def q() -> int:
        async with server.rt.db.read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(mt.messages)) or 0)

    return server.call(q())


@pytest.mark.parametrize(
    ("method", "path", "root_path", "expected"),
    [
        ("POST", "/2010-04-01/Accounts/AC1/Messages.json", "", "AC1"),
        ("GET", "/2010-04-01/Accounts/AC1/Messages.json", "", None),
        ("POST", "/2010-04-01/Accounts/AC1/Messages/SM1.json", "", None),
        ("POST", "/2010-04-01/Accounts//Messages.json", "", None),
        ("POST", "/2010-04-01/Accounts/AC1/Messages.json/", "", None),
        ("POST", "/2010-04-01/Accounts/A/B/Messages.json", "", None),
        ("POST", "/2010-04-01/Accounts/AC1/Messages.json", "/api", None),
    ],
)
def test_only_the_create_route_takes_the_hot_path(
    method: str, path: str, root_path: str, expected: str | None
) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
    assert create_account(scope) == expected
