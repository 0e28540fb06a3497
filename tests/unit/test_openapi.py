"""The OpenAPI document declares every route's parameters, bodies, responses and auth
(issue 11 §5: "lists paths but no parameters, request bodies, response schemas or security
scheme, so code generators and schemathesis can't use it")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.fernet import Fernet

from textwire import urls
from textwire.api.app import create_app
from textwire.compose import open_runtime
from textwire.config import Settings

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
ERROR_FIELDS = {"code", "message", "more_info", "status"}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document of a real ``create_app()`` over a runtime that never opens its database."""

    async def build() -> dict[str, Any]:
        data_dir = tmp_path_factory.mktemp("openapi") / "data"
        settings = Settings(data_dir=data_dir, secret_key=Fernet.generate_key().decode())
        rt = await open_runtime(settings, migrate=False)
        try:
            return create_app(rt).openapi()
        finally:
            await rt.close()

    return asyncio.run(build())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
    ]


def test_basic_auth_is_the_default_and_every_operation_has_security(doc: dict[str, Any]) -> None:
    """issue 11 §5: the security scheme is declared, Basic for every route by default."""
    schemes = doc["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {**schemes["basicAuth"], "type": "http", "scheme": "basic"}
    assert doc["security"] == [{"basicAuth": []}]
    for method, path, op in operations(doc):
        security = op.get("security", doc["security"])
        assert security, f"{method} {path} declares no security"
        for requirement in security:
            assert set(requirement) <= set(schemes), f"{method} {path}: {requirement}"


UPLOADS = ("/v1/Subscribers/Syncs", "/v1/Contacts/Imports")


def test_every_operation_declares_its_success_and_error_schemas(doc: dict[str, Any]) -> None:
    """issue 11 §5: responses with schemas, the error body {code, message, more_info, status}."""
    assert len(operations(doc)) >= 60
    for method, path, op in operations(doc):
        responses = op["responses"]
        success = [code for code in responses if code.startswith("2")]
        assert len(success) >= 1, f"{method} {path}: no success response"
        for code in success:
            if code == "204":
                assert "content" not in responses[code], f"{method} {path}: 204 with a body"
                continue
            content = responses[code].get("content", {})
            if method == "POST" and path.startswith("/v1/Receipts/"):
                continue  # an empty 200 is what providers expect
            if path.endswith(".csv"):  # F-CONTACT-2: an export answers CSV
                assert "text/csv" in content, f"{method} {path} {code}: no CSV response"
                continue
            schema = content.get(JSON, {}).get("schema", {})
            assert schema.get("type") == "object" and schema.get("properties"), (
                f"{method} {path} {code}: no response schema"
            )
        for code in ("400", "401", "404"):
            schema = responses[code]["content"][JSON]["schema"]
            assert set(schema["required"]) == ERROR_FIELDS, f"{method} {path} {code}"
        # Uploads answer 422 with their failed run (a refused file), never FastAPI's error.
        assert "422" not in responses or path in UPLOADS, (
            f"{method} {path}: FastAPI's HTTPValidationError is never answered"
        )


def test_every_post_declares_a_request_body(doc: dict[str, Any]) -> None:
    """issue 11 §5: every POST has its body; form everywhere a form is read, JSON on /v1."""
    json_only = {"/v2/userdata/channels/sms/opt-in", "/v2/userdata/channels/sms/opt-out"}
    for method, path, op in operations(doc):
        if method != "POST":
            assert "requestBody" not in op, f"{method} {path} has a body"
            continue
        content = op.get("requestBody", {}).get("content", {})
        assert content, f"POST {path}: no request body"
        if path in UPLOADS:
            assert set(content) == {"text/csv"}
        elif path in json_only or path.endswith("/Keywords"):
            assert set(content) == {JSON}
        elif path.startswith("/2010-04-01/"):
            assert set(content) == {FORM}, "v2010 routes take forms only"
        else:
            assert set(content) == {FORM, JSON}, f"POST {path}: {sorted(content)}"


def param(doc: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    op = doc["paths"][path][method.lower()]
    if "requestBody" in op:
        props = op["requestBody"]["content"][FORM]["schema"]["properties"]
        if name in props:
            return dict(props[name])
    for p in op.get("parameters", []):
        if p["name"] == name:
            return dict(p["schema"])
    raise AssertionError(f"{method} {path} does not declare {name}")


def test_declared_types_and_limits_are_the_codes(doc: dict[str, Any]) -> None:
    """The declarations carry the limits the code enforces (types, lengths, ranges, enums)."""
    from textwire.links import api as links_api
    from textwire.links import declared as links_declared
    from textwire.messages.pipeline import MAX_BODY_CHARS, MAX_MEDIA, MAX_VALIDITY
    from textwire.senders import api as senders_api
    from textwire.senders import declared as senders_declared

    assert senders_declared.MAX_MPS == senders_api.MAX_MPS
    assert senders_declared.CAPABILITIES == senders_api.CAPABILITIES
    assert links_declared.SERVICE_ACTIONS == links_api.SERVICE_ACTIONS

    create = "/2010-04-01/Accounts/{account}/Messages.json"
    assert param(doc, "POST", create, "Body")["maxLength"] == MAX_BODY_CHARS
    assert param(doc, "POST", create, "MediaUrl")["maxItems"] == MAX_MEDIA
    assert param(doc, "POST", create, "ValidityPeriod") == {
        **param(doc, "POST", create, "ValidityPeriod"),
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_VALIDITY,
    }
    assert param(doc, "POST", create, "SendAt")["format"] == "date-time"
    assert param(doc, "POST", create, "SmartEncoded")["type"] == "boolean"
    body = doc["paths"][create]["post"]["requestBody"]["content"][FORM]["schema"]
    assert body["required"] == ["To"]
    assert param(doc, "GET", create, "PageSize")["maximum"] == 1000
    assert param(doc, "GET", create, "PageToken")["type"] == "string"
    assert param(doc, "POST", "/v1/Services", "FriendlyName")["maxLength"] == 64
    assert param(doc, "POST", "/v1/Services", "StatusCallback")["format"] == "uri"
    assert param(doc, "POST", create, "StatusCallback")["maxLength"] == urls.MAX_LENGTH
    assert param(doc, "GET", "/v1/Services", "PageSize") == {
        **param(doc, "GET", "/v1/Services", "PageSize"),
        "minimum": 1,
        "maximum": 1000,
    }
    assert param(doc, "POST", "/v1/Integrations", "Type")["enum"] == [
        "sandbox",
        "twilio",
        "http",
        "smpp",
    ]
    settings = doc["paths"]["/v1/Integrations"]["post"]["requestBody"]["content"][JSON]
    assert settings["schema"]["properties"]["Settings"]["type"] == "object"
