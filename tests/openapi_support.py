"""Shared by the OpenAPI fuzz tests: an account with one resource of each kind on a live
server, and the path parameters that reach them."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import httpx

from tests.support import LiveServer

ANALYTICS_SCOPES = ("Links", "Messages", "Recipients", "Services", "Campaigns")
POOLS = ("PhoneNumbers", "ShortCodes", "AlphaSenders")


@dataclass
class Seeded:
    """Real SIDs of the account's resources, so generated requests reach the code behind
    the 404 (a random SID only ever finds nothing)."""

    account: str
    token: str
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str]:
        return (self.account, self.token)

    @property
    def headers(self) -> dict[str, str]:
        raw = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        return {"Authorization": f"Basic {raw}"}

    def path_parameters(self, path: str) -> dict[str, str]:
        """The real value of each of ``path``'s parameters (by the resource the path names)."""
        values: dict[str, str] = {"account": self.account}
        if "{service}" in path:
            values["service"] = self.ids["service"]
        if "{kind_path}" in path:
            values["kind_path"] = "PhoneNumbers"
        if "{sid}" in path:
            values["sid"] = self.ids[self.resource_of(path)]
        if "{kind}" in path:
            values["kind"] = "Messages"
        if "{key}" in path:
            values["key"] = self.ids["field"]
        if "{value}" in path:
            values["value"] = self.ids["message"]
        if "{contact_sid}" in path:
            values["contact_sid"] = self.ids["contact"]
        return values

    @staticmethod
    def resource_of(path: str) -> str:
        for marker, name in (
            ("/Messages/{sid}", "message"),
            ("/Keys/{sid}", "key"),
            ("/Contacts/{sid}", "contact"),
            ("/Syncs/{sid}", "sync"),
            ("/Imports/{sid}", "import"),
            ("/{kind_path}/{sid}", "number"),
            ("/Services/{sid}", "service"),
            ("/Senders/{sid}", "number"),
            ("/Domains/{sid}", "domain"),
            ("/Integrations/{sid}", "integration"),
            ("/Inbound/{sid}", "integration"),
            ("/Receipts/{sid}", "integration"),
            ("/Templates/{sid}", "template"),
            ("/Prices/{sid}", "price"),
            ("/Lists/{sid}", "list"),
            ("/Segments/{sid}", "segment"),
        ):
            if marker in path:
                return name
        raise AssertionError(f"no seeded resource for {path}")


def seed(server: LiveServer) -> Seeded:
    new = server.new_account("Fuzz")
    s = Seeded(new.account_sid, new.auth_token)
    with httpx.Client(base_url=server.url, auth=s.auth, timeout=30) as c:

        def made(response: httpx.Response) -> dict[str, str]:
            assert response.status_code in (200, 201), response.text
            body: dict[str, str] = response.json()
            return body

        s.ids["integration"] = made(
            c.post("/v1/Integrations", data={"FriendlyName": "sandbox", "Type": "sandbox"})
        )["sid"]
        s.ids["service"] = made(c.post("/v1/Services", data={"FriendlyName": "Fuzz"}))["sid"]
        s.ids["number"] = made(
            c.post(
                "/v1/Senders",
                data={"Sender": "+14155550100", "IntegrationSid": s.ids["integration"]},
            )
        )["sid"]
        made(
            c.post(
                f"/v1/Services/{s.ids['service']}/PhoneNumbers",
                data={"PhoneNumberSid": s.ids["number"]},
            )
        )
        s.ids["message"] = made(
            c.post(
                f"/2010-04-01/Accounts/{s.account}/Messages.json",
                data={"To": "+14155550101", "From": "+14155550100", "Body": "hello"},
            )
        )["sid"]
        s.ids["key"] = made(
            c.post(f"/2010-04-01/Accounts/{s.account}/Keys.json", data={"FriendlyName": "k"})
        )["sid"]
        s.ids["contact"] = made(c.post("/v1/Contacts", data={"PhoneNumber": "+14155550101"}))["sid"]
        s.ids["domain"] = made(
            c.post("/v1/LinkShortening/Domains", data={"DomainName": "links.example.com"})
        )["domain_sid"]
        sync = c.post(
            "/v1/Subscribers/Syncs",
            content=b"phone numbers\n+14155550101\n",
            headers={"Content-Type": "text/csv"},
        )
        s.ids["sync"] = made(sync)["sid"]
        s.ids["price"] = made(c.post("/v1/Prices", data={"Country": "US", "Price": "0.01"}))["sid"]
        s.ids["field"] = made(c.post("/v1/ContactFields", data={"Key": "score", "Type": "number"}))[
            "key"
        ]
        imported = c.post(
            "/v1/Contacts/Imports",
            content=b"phone,score\n+14155550101,3\n",
            headers={"Content-Type": "text/csv"},
        )
        s.ids["import"] = made(imported)["sid"]
        # A template may name only declared fields.
        made(c.post("/v1/ContactFields", data={"Key": "name", "Type": "text"}))
        s.ids["template"] = made(
            c.post("/v1/Templates", data={"Body": "Hi {{ name | default('you') }}"})
        )["sid"]
        s.ids["list"] = made(c.post("/v1/Lists", data={"FriendlyName": "Fuzz"}))["sid"]
        made(c.post(f"/v1/Lists/{s.ids['list']}/Members", data={"ContactSid": s.ids["contact"]}))
        s.ids["segment"] = made(
            c.post("/v1/Segments", data={"FriendlyName": "Fuzz", "Filter": "has phone"})
        )["sid"]
    return s
