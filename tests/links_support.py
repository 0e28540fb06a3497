"""Helpers for the link tests: self-signed certificates and an account set up to shorten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from tests.support import AppUnderTest, LiveServer, Receiver
from textwire.links import tables as lt

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WHATSAPP = "WhatsApp/2.23.20.0"


def make_cert(
    names: list[str],
    *,
    days: float = 365,
    start_days_ago: float = 1,
    key: Any = None,
) -> tuple[str, str, Any]:
    """``(cert_pem, pkcs8_key_pem, key)`` for a self-signed certificate covering ``names``."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=start_days_ago))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem, key


def traditional_rsa_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return pem, key


class LinkCtx:
    """An account with a sender, a service and (optionally) a verified custom domain."""

    def __init__(
        self, server: AppUnderTest, hooks: Receiver | None = None, number: str = "+14155550111"
    ):
        self.server = server
        acct = server.new_account("Links")
        self.sid, self.token = acct.account_sid, acct.auth_token
        self.auth = (self.sid, self.token)
        # A number has one owning account (senders.md): a second LinkCtx needs its own.
        self.sender = self.post("/v1/Senders", Sender=number, Mps="500")
        self.service = self.post("/v1/Services", FriendlyName="links")
        self.post(
            f"/v1/Services/{self.service['sid']}/PhoneNumbers", PhoneNumberSid=self.sender["sid"]
        )
        self.hooks = hooks

    def request(self, method: str, path: str, **data: str) -> httpx.Response:
        # On the socket or in process, whichever the server is.
        if method in ("GET", "DELETE"):
            return self.server.http.request(method, path, params=data, auth=self.auth)
        return self.server.http.request(method, path, data=data, auth=self.auth)

    def post(self, path: str, **data: str) -> dict[str, Any]:
        r = self.request("POST", path, **data)
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    def get(self, path: str, **data: str) -> dict[str, Any]:
        r = self.request("GET", path, **data)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def send(self, **data: str) -> dict[str, Any]:
        return self.post(f"/2010-04-01/Accounts/{self.sid}/Messages.json", **data)

    def send_raw(self, **data: str) -> httpx.Response:
        return self.request("POST", f"/2010-04-01/Accounts/{self.sid}/Messages.json", **data)

    def service_mode(self, mode: str, **more: str) -> None:
        self.post(
            f"/v1/LinkShortening/MessagingServices/{self.service['sid']}/Settings",
            LinkMode=mode,
            **more,
        )

    def custom_domain(self, name: str = "links.example.test", **config: str) -> dict[str, Any]:
        domain = self.post("/v1/LinkShortening/Domains", DomainName=name)
        cert, key, _ = make_cert([name])
        self.post(
            f"/v1/LinkShortening/Domains/{domain['domain_sid']}/Certificate", TlsCert=cert + key
        )
        if config:
            self.post(f"/v1/LinkShortening/Domains/{domain['domain_sid']}/Config", **config)
        self.post(
            f"/v1/LinkShortening/Domains/{domain['domain_sid']}/MessagingServices/"
            f"{self.service['sid']}"
        )
        return domain

    def click(
        self, short_url: str, user_agent: str | None = IPHONE, method: str = "GET"
    ) -> httpx.Response:
        """Follow ``short_url`` on the live redirect server, sending its host as ``Host``."""
        assert isinstance(self.server, LiveServer)  # the redirect listener is a socket
        host, _, slug = short_url.split("://", 1)[-1].partition("/")
        headers = {"Host": host}
        if user_agent is not None:
            headers["User-Agent"] = user_agent
        with httpx.Client(headers={"User-Agent": ""}) as client:
            request = client.build_request(
                method, f"{self.server.redirect_url}/{slug}", headers=headers
            )
            if user_agent is None:
                del request.headers["User-Agent"]
            return client.send(request, follow_redirects=False)

    def clicks_stored(self) -> int:
        async def count() -> int:
            async with self.server.rt.db.read() as conn:
                return int(await conn.scalar(select(func.count()).select_from(lt.link_clicks)) or 0)

        return self.server.call(count())

    def wait_clicks(self, n: int, timeout: float = 20) -> None:
        """Until ``n`` clicks are stored: checked again as each flush of the click writer
        commits."""
        self.server.wait_until(lambda: self.clicks_stored() >= n, timeout)
