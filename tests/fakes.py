"""Fake *remotes* for the provider tests: local HTTP servers that behave like Twilio's API,
a generic JSON SMS API and an OAuth2 token endpoint, as their documentation describes them.
Nothing of textwire runs inside them; they are what textwire talks to."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support import AppUnderTest, LiveServer, LoopbackServer, make_settings
from textwire.outbox.signing import twilio_signature


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def public_server(tmp_path: Any, database_url: str, **overrides: Any) -> LiveServer:
    """textwire on a known port whose public URL providers can call back."""
    port = free_port()
    settings = make_settings(
        tmp_path / "data",
        database_url,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        **overrides,
    )
    return LiveServer(settings).start()


class HttpRemote:
    """A Starlette app on 127.0.0.1 in its own thread."""

    def __init__(self, routes: list[Route]):
        self.app = Starlette(routes=routes)
        self.port = 0
        self._server: LoopbackServer | None = None

    def start(self) -> HttpRemote:
        self._server = LoopbackServer(self.app)
        self.port = self._server.port
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()


# --- Twilio ---------------------------------------------------------------------------------


@dataclass
class TwilioMessage:
    sid: str
    form: dict[str, list[str]]
    status: str = "queued"


@dataclass
class FakeTwilio:
    """Twilio's Messages API as documented: Basic auth with the account SID and auth token,
    form-encoded create returning 201 and the Message resource, legacy error bodies, and
    status callbacks (sent, then delivered or undelivered) signed with X-Twilio-Signature.

    ``faults`` is a queue of answers for the next creates: an HTTP status with Twilio's
    error body, ``"html"`` (a proxy's HTML page with 502), ``"garbage"`` (200, not JSON),
    ``"drop"`` (the connection closes without an answer).
    ``undelivered`` holds To numbers whose messages end undelivered with 30003.
    """

    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    faults: list[Any] = field(default_factory=list)
    undelivered: set[str] = field(default_factory=set)
    callbacks: bool = True
    messages: list[TwilioMessage] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    callback_answers: list[int] = field(default_factory=list)
    remote: HttpRemote | None = None

    def start(self) -> FakeTwilio:
        base = "/2010-04-01/Accounts/{account}"
        self.remote = HttpRemote(
            [
                Route(base + "/Messages.json", self._create, methods=["POST"]),
                Route(base + ".json", self._account, methods=["GET"]),
            ]
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self.remote is not None
        return self.remote.url

    def stop(self) -> None:
        if self.remote is not None:
            self.remote.stop()

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status)

    async def _account(self, request: Request) -> Response:
        if not self._authorized(request):
            return self._error(401, 20003, "Authenticate")
        return JSONResponse({"sid": self.account_sid, "status": "active"})

    async def _create(self, request: Request) -> Response:
        raw = (await request.body()).decode()
        pairs = parse_qsl(raw, keep_blank_values=True)
        form: dict[str, list[str]] = {}
        for k, v in pairs:
            form.setdefault(k, []).append(v)
        self.requests.append((request.url.path, dict(pairs)))
        if request.path_params["account"] != self.account_sid or not self._authorized(request):
            return self._error(401, 20003, "Authenticate")
        if self.faults:
            fault = self.faults.pop(0)
            if fault == "html":
                return Response(
                    "<html><body>Bad gateway</body></html>", 502, media_type="text/html"
                )
            if fault == "garbage":
                return PlainTextResponse("OK!!", 200)
            if fault == "drop":
                raise ConnectionResetError("dropped")
            if fault == 429:
                return self._error(429, 20429, "Too Many Requests")
            return self._error(int(fault), 20500 if fault >= 500 else 21211, f"fault {fault}")
        to = form.get("To", [""])[0]
        if not to.startswith("+") or not to[1:].isdigit():
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        msg = TwilioMessage("SM" + secrets.token_hex(16), form)
        self.messages.append(msg)
        body = {
            "sid": msg.sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": form.get("From", [""])[0],
            "body": form.get("Body", [""])[0],
            "status": "queued",
            "num_segments": "1",
            "error_code": None,
            "api_version": "2010-04-01",
        }
        callback = form.get("StatusCallback", [None])[0]
        if callback and self.callbacks:
            final = "undelivered" if to in self.undelivered else "delivered"
            asyncio.get_running_loop().create_task(self._report(msg, callback, ["sent", final]))
        return JSONResponse(body, status_code=201)

    def signed_post(self, url: str, params: dict[str, str], *, token: str | None = None) -> int:
        headers = {"X-Twilio-Signature": twilio_signature(token or self.auth_token, url, params)}
        return httpx.post(url, data=params, headers=headers).status_code

    async def _report(self, msg: TwilioMessage, url: str, statuses: list[str]) -> None:
        async with httpx.AsyncClient() as client:
            for status in statuses:
                await asyncio.sleep(0.02)
                params = {
                    "MessageSid": msg.sid,
                    "SmsSid": msg.sid,
                    "AccountSid": self.account_sid,
                    "From": msg.form.get("From", [""])[0],
                    "To": msg.form.get("To", [""])[0],
                    "MessageStatus": status,
                    "SmsStatus": status,
                    "ApiVersion": "2010-04-01",
                }
                if status == "undelivered":
                    params["ErrorCode"] = "30003"
                headers = {
                    "X-Twilio-Signature": twilio_signature(self.auth_token, url, params),
                    "Content-Type": "application/x-www-form-urlencoded",
                }
                r = await client.post(url, content=urlencode(params), headers=headers)
                self.callback_answers.append(r.status_code)
                msg.status = status


@contextlib.contextmanager
def fake_twilio(**kwargs: Any) -> Iterator[FakeTwilio]:
    fake = FakeTwilio(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


# --- a generic JSON SMS API and its OAuth2 token endpoint -----------------------------------


# Answers no provider should give, that textwire must read as "not JSON" (issue 11 §3).
HOSTILE_JSON = {
    "deep": '{"data": {"id": "P1", "x": ' + "[" * 1000 + "]" * 1000 + "}}",
    "nul": '{"data": {"id": "P\\u0000"}}',
}


@dataclass
class FakeJsonApi:
    """A provider's JSON API: ``POST /sms`` answers ``{"data": {"id": ...}}`` or
    ``{"error": {"message": ...}}``; ``POST /oauth/token`` hands out client-credentials
    tokens (``expires_in`` seconds) for the one client it knows. ``auth`` is what /sms
    demands: ``none``, ``basic`` (user/pass) or ``bearer`` (a live token).

    With ``receipts`` on, each accepted message's ``callback`` field (the template's
    ``${status_callback_url}``) is posted a receipt shortly after: ``{"id", "status":
    "DELIVRD"}``, or ``"UNDELIV"`` with ``"error": "30003"`` for a ``to`` in ``undelivered``.
    ``accepted`` holds the documents it answered 202 (``received`` every request)."""

    auth: str = "none"
    username: str = "user"
    password: str = "pass-1234"
    client_id: str = "client-1"
    client_secret: str = "secret-5678"
    token_lifetime: int = 3600
    faults: list[Any] = field(default_factory=list)
    received: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    accepted: list[Any] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    id_key: str = "id"
    on_message: Callable[[Any], None] | None = None
    receipts: bool = False
    undelivered: set[str] = field(default_factory=set)
    remote: HttpRemote | None = None

    def start(self) -> FakeJsonApi:
        self.remote = HttpRemote(
            [
                Route("/sms", self._sms, methods=["POST", "PUT"]),
                Route("/oauth/token", self._token, methods=["POST"]),
            ]
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self.remote is not None
        return self.remote.url

    def stop(self) -> None:
        if self.remote is not None:
            self.remote.stop()

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_requests.append(form)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_hex(12)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        return JSONResponse(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.auth == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return header == f"Basic {expected}"
        if self.auth == "bearer":
            token = header.removeprefix("Bearer ")
            return self.tokens.get(token, 0) > time.monotonic()
        return True

    async def _sms(self, request: Request) -> Response:
        raw = await request.body()
        try:
            document: Any = json.loads(raw)
        except json.JSONDecodeError:
            document = raw.decode(errors="replace")
        self.received.append((dict(request.headers), document))
        if not self._authorized(request):
            return JSONResponse({"error": {"message": "unauthorized"}}, status_code=401)
        if self.faults:
            fault = self.faults.pop(0)
            if fault == "html":
                return Response("<html>oops</html>", 200, media_type="text/html")
            if fault in HOSTILE_JSON:
                return Response(HOSTILE_JSON[fault], 202, media_type="application/json")
            if fault == "rejected":
                return JSONResponse({"error": {"message": "number blocked"}}, status_code=422)
            return JSONResponse({"error": {"message": f"fault {fault}"}}, status_code=int(fault))
        if self.on_message is not None:
            self.on_message(document)
        provider_id = "P" + secrets.token_hex(8)
        self.accepted.append(document)
        if self.receipts and isinstance(document, dict) and document.get("callback"):
            asyncio.get_running_loop().create_task(self._report(provider_id, document))
        return JSONResponse({"data": {self.id_key: provider_id}}, status_code=202)

    async def _report(self, provider_id: str, document: dict[str, Any]) -> None:
        await asyncio.sleep(0.02)
        report = {"id": provider_id, "status": "DELIVRD"}
        if document.get("to") in self.undelivered:
            report = {"id": provider_id, "status": "UNDELIV", "error": "30003"}
        async with httpx.AsyncClient() as client:
            # A server stopped by then (the test is over) is not this fake's fault to report.
            with contextlib.suppress(httpx.HTTPError):
                await client.post(str(document["callback"]), json=report)


@contextlib.contextmanager
def fake_json_api(**kwargs: Any) -> Iterator[FakeJsonApi]:
    fake = FakeJsonApi(**kwargs).start()
    try:
        yield fake
    finally:
        fake.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


class Api:
    """textwire's own API as an account uses it (httpx, Basic auth)."""

    def __init__(self, server: AppUnderTest, name: str = "Providers"):
        self.server = server
        acct = server.new_account(name)
        self.sid, self.token = acct.account_sid, acct.auth_token
        self.auth = (self.sid, self.token)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.server.http.request(method, path, auth=self.auth, timeout=30, **kwargs)

    def post(self, path: str, expect: int | None = None, **data: Any) -> dict[str, Any]:
        r = self.request("POST", path, json=data)
        if expect is not None:
            assert r.status_code == expect, r.text
        else:
            assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    def integration(
        self,
        kind: str,
        settings: dict[str, Any],
        secrets_: dict[str, Any] | None = None,
        name: str = "route",
    ) -> dict[str, Any]:
        return self.post(
            "/v1/Integrations",
            expect=201,
            FriendlyName=name,
            Type=kind,
            Settings=settings,
            Secrets=secrets_ or {},
        )

    def sender(self, value: str, integration_sid: str, **extra: str) -> dict[str, Any]:
        return self.post("/v1/Senders", Sender=value, IntegrationSid=integration_sid, **extra)

    def send(self, **data: str) -> dict[str, Any]:
        r = self.server.http.post(
            f"/2010-04-01/Accounts/{self.sid}/Messages.json",
            data=data,
            auth=self.auth,
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def message(self, sid: str) -> dict[str, Any]:
        r = self.request("GET", f"/2010-04-01/Accounts/{self.sid}/Messages/{sid}.json")
        body: dict[str, Any] = r.json()
        return body

    def wait_status(self, sid: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
        """The message once its status is one of ``statuses`` (read again after every
        commit of the server's runtime)."""
        row = self.message(sid)

        def reached() -> bool:
            nonlocal row
            row = self.message(sid)
            return row["status"] in statuses

        try:
            self.server.wait_until(reached, timeout)
        except AssertionError:
            raise AssertionError(
                f"{sid} is {row['status']}, not one of {statuses}: {row}"
            ) from None
        return row

    def inbound_messages(self) -> list[dict[str, Any]]:
        r = self.request("GET", f"/2010-04-01/Accounts/{self.sid}/Messages.json?PageSize=100")
        return [m for m in r.json()["messages"] if m["direction"] == "inbound"]
