"""Fuzzing over what the OpenAPI document declares (issue 11 §5 and "Done when"):
schemathesis against the live server, and a hypothesis fuzzer of our own over every
declared parameter. Both require zero 5xx, and every answer must match the document
(a success its resource schema, a refusal the error schema).

Repeatable: hypothesis is derandomized, so a CI failure reproduces locally.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure as CheckFailure
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.openapi_support import Seeded, seed
from tests.support import LiveServer

pytestmark = pytest.mark.slow

# Per operation and strategy; three strategies and ~68 operations make ~3,000 cases.
EXAMPLES = 15


@dataclass(frozen=True)
class Failure:
    operation: str
    mode: str
    detail: str

    def __str__(self) -> str:
        return f"{self.operation} [{self.mode}]: {self.detail}"


def _order(label: str) -> tuple[int, str]:
    # Deletions last, so the seeded resources are there for everything else.
    return (1 if label.startswith("DELETE") else 0, label)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: LiveServer) -> None:
    """issue 11 §5: "A CI test runs schemathesis against the live app with bounded
    examples, a few thousand cases in all, and requires zero server errors and zero
    response-schema violations"."""
    seeded = seed(server)
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: _order(op.label)
    )
    assert len(operations) >= 60
    failures: dict[tuple[str, str, str], Failure] = {}
    session = requests.Session()
    cases = 0
    errors = ServerErrors()
    api_log = logging.getLogger("textwire.api")
    api_log.addHandler(errors)
    try:
        for op in operations:
            real = seeded.path_parameters(op.path)
            strategies = {
                "positive, real ids": op.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
                "positive": op.as_strategy(
                    GenerationMode.POSITIVE, path_parameters={"account": seeded.account}
                ),
                "negative, real ids": op.as_strategy(GenerationMode.NEGATIVE, path_parameters=real),
            }
            for mode, strategy in strategies.items():

                def one(case: Any, mode: str = mode, label: str = op.label) -> None:
                    nonlocal cases, session
                    cases += 1
                    errors.seen.clear()
                    try:
                        response = case.call(
                            base_url=server.url, session=session, headers=seeded.headers, timeout=30
                        )
                    except requests.RequestException as exc:
                        _record(failures, label, mode, f"no answer: {exc!r}")
                        session.close()
                        session = requests.Session()
                        return
                    if response.status_code >= 500:  # the server closed this connection
                        session.close()
                        session = requests.Session()
                    try:
                        case.validate_response(
                            response, checks=[not_a_server_error, response_schema_conformance]
                        )
                    except (CheckFailure, FailureGroup) as exc:  # collected, reported at the end
                        found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                        request = response.request
                        cause = f" ({'; '.join(errors.seen)})" if errors.seen else ""
                        for failure in found:
                            detail = (
                                f"{response.status_code} {failure.title}{cause}: "
                                f"{failure.message.strip()[:500]}\n"
                                f"    request: {request.method} {request.url} "
                                f"body={request.body!r:.300}\n    answer: {response.text[:300]}"
                            )
                            _record(failures, label, mode, detail)

                run_examples(strategy, one)
    finally:
        session.close()
        api_log.removeHandler(errors)

    assert cases >= 2000, f"only {cases} cases ran"
    assert not failures, f"{len(failures)} distinct failures in {cases} cases:\n" + "\n".join(
        str(f) for f in failures.values()
    )


def run_examples(strategy: st.SearchStrategy[Any], test: Any, examples: int = EXAMPLES) -> None:
    """``test`` over ``EXAMPLES`` draws of ``strategy``, the same draws on every run; no
    shrinking, since ``test`` records its failures instead of raising them."""

    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        test(case)

    run()


def _record(
    failures: dict[tuple[str, str, str], Failure], label: str, mode: str, detail: str
) -> None:
    first_line = detail.splitlines()[0][:120]
    failures.setdefault((label, mode, first_line), Failure(label, mode, detail))


# --- our own fuzzer over the declared parameters ----------------------------------------------

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
FUZZ_EXAMPLES = 25
ERROR_KEYS = {"code": int, "message": str, "more_info": str, "status": int}

# Values no valid request carries, each of which broke a route once (issue 11 §3 and §1).
HOSTILE_TEXT = (
    "\x00",
    "a\x00b",
    "\x01\x19\x7f\x1b[31m",
    "http://127.0.0.1:9/a\x19b",
    "http://[::1",
    "9" * 5000,
    "-1",
    "1e20",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31",
    "PA" + base64.urlsafe_b64encode(b"1e20|SMx").decode(),
    "[" * 1000 + "]" * 1000,
    '{"":1}',
    '{"a":' * 1000 + "1" + "}" * 1000,
    "x" * 5000,
    "😀\u202e\ufeff",
    "",
    " ",
)
HOSTILE_JSON = (
    "[" * 1000 + "]" * 1000,
    '{"a":' * 1000 + "1" + "}" * 1000,
    "9" * 5000,
    "-" + "9" * 5000,
    "1e400",
    '{"a":1}',
    '{"":1}',
    '["a","b"]',
    "true",
    "null",
    "[]",
    '"a\\u0000b"',
    '"\\ud800"',
    '"9999-12-31T23:59:59-01:00"',
)
RAW_FORM_TAILS = ("Body=%zz%", "FriendlyName=%FF", "%", "=&&=", "a=%00", "To=%C0%AF")
PHONES = ("+14155550101", "+15005550006", "+447911123456", "+15005550009", "12345", "ACME")
URLS = ("https://example.com/cb", "http://127.0.0.1:9/cb", "https://example.com/a?b=c")
PHONE_NAMES = {"To", "From", "PhoneNumber", "Sender", "value"}
Known = dict[str, tuple[str, ...]]


def known_values(seeded: Seeded) -> Known:
    """Real values for the parameters that name a resource, so valid requests get past the
    lookup; mixed with a made-up one."""
    ids = seeded.ids
    sender = ("+14155550100", "+14155550101", "NOPE1")
    return {
        "To": ("+14155550101", "+15005550006", "+447911123456", "12345"),
        "PhoneNumber": ("+14155550101", "+447911123456", "+15005550006"),
        "value": ("+14155550101", "+447911123456", "a@example.com"),
        "Email": ("a@example.com", "b@example.org"),
        "CustomId": ("user-1", "u2"),
        "From": sender,
        "Sender": ("+14155550102", "+447911123457", "ACME", *sender),
        "MessagingServiceSid": (ids["service"], "MGnope"),
        "MessagingServiceSids": (ids["service"], "MGnope"),
        "messagingServiceSid": (ids["service"], "MGnope"),
        "PhoneNumberSid": (ids["number"], "PNnope"),
        "IntegrationSid": (ids["integration"], "INnope"),
        "MessageSid": (ids["message"], "SMnope"),
        "DomainName": ("links.example.org", "a.example.net", "nope"),
        "AlphaSender": ("ACME", "Shop2", "12345"),
        "ContactSid": (ids["contact"], "CTnope"),
        "IncludeLists": (ids["list"], "LSnope"),
        "ExcludeLists": (ids["list"], "LSnope"),
        "IncludeSegments": (ids["segment"], "SGnope"),
        "ExcludeSegments": (ids["segment"], "SGnope"),
        "Filter": (
            'has phone and not clicked within 30d or friendly_name contains "a%"',
            f"consent = subscribed and list = {ids['list']}",
            "date_created after 9999-12-31 or messaged before 0001-01-01",
            "friendly_name = 1",
            "(((",
        ),
    }


@dataclass(frozen=True)
class Declared:
    """One operation as the document declares it."""

    method: str
    path: str
    query: dict[str, Any]
    body: dict[str, Any]  # media type -> schema

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def declared(doc: dict[str, Any]) -> list[Declared]:
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            query = {p["name"]: p["schema"] for p in op.get("parameters", []) if p["in"] == "query"}
            content = op.get("requestBody", {}).get("content", {})
            body = {media: spec["schema"] for media, spec in content.items()}
            ops.append(Declared(method.upper(), path, query, body))
    return sorted(ops, key=lambda o: _order(o.label))


def text_value(name: str, schema: dict[str, Any], known: Known) -> st.SearchStrategy[str]:
    """A form or query value for ``schema``: mostly valid (the account's real SIDs and
    numbers where the name asks for one), sometimes hostile."""
    kind = schema.get("type")
    valid: st.SearchStrategy[str]
    if name in known:
        valid = st.sampled_from(known[name])
    elif "enum" in schema:
        valid = st.sampled_from([str(v) for v in schema["enum"]])
    elif name in PHONE_NAMES or (kind == "array" and schema["items"].get("maxLength") == 32):
        valid = st.sampled_from(PHONES)
    elif schema.get("format") == "uri":
        valid = st.sampled_from(URLS)
    elif schema.get("format") == "date-time":
        valid = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
            lambda d: d.isoformat() + "Z"
        )
    elif kind == "integer":
        valid = st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)).map(str)
    elif kind == "boolean":
        valid = st.sampled_from(["true", "false", "True", "0", "1"])
    elif kind == "array":
        valid = text_value(name, schema["items"], known)
    elif schema.get("contentMediaType") == JSON:
        valid = st.sampled_from(["{}", '{"url":"https://example.com"}', '{"headers":{"a":"b"}}'])
    else:
        valid = st.text(max_size=min(schema.get("maxLength", 40), 40))
    return st.one_of(valid, valid, valid, valid, valid, st.sampled_from(HOSTILE_TEXT))


def json_value(
    schema: dict[str, Any], known: Known, name: str = "", depth: int = 0
) -> st.SearchStrategy[str]:
    """Raw JSON text for ``schema``: mostly valid, sometimes hostile (raw, so values Python's
    own encoder could not produce, like a 5,000-digit integer or 1,000 levels, get through)."""
    kind = schema.get("type")
    valid: st.SearchStrategy[str]
    if kind == "object" and depth < 3:
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            props = {**props, "es": extra}
        valid = st.builds(
            lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}",
            st.lists(
                st.sampled_from(sorted(props)).flatmap(
                    lambda k: json_value(props[k], known, k, depth + 1).map(lambda v: (k, v))
                )
                if props
                else st.nothing(),
                max_size=len(props),
                unique_by=lambda kv: kv[0],
            ),
        )
    elif kind == "array":
        valid = st.lists(
            json_value(schema.get("items", {}), known, name, depth + 1), max_size=3
        ).map(lambda items: "[" + ",".join(items) + "]")
    elif kind == "integer":
        valid = st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)).map(str)
    elif kind == "boolean":
        valid = st.sampled_from(["true", "false"])
    else:
        valid = text_value(name, schema, known).map(json.dumps)
    return st.one_of(valid, valid, valid, valid, valid, st.sampled_from(HOSTILE_JSON))


def form_text(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


@st.composite
def form_pairs(draw: st.DrawFn, props: dict[str, Any], required: list[str], known: Known) -> str:
    names = draw(st.lists(st.sampled_from(sorted(props)), unique=True, max_size=5)) if props else []
    pairs: list[tuple[str, str]] = []
    for name in dict.fromkeys([*required, *names]):
        schema = props[name]
        count = draw(st.integers(1, 3)) if schema.get("type") == "array" else 1
        pairs += [(name, draw(text_value(name, schema, known))) for _ in range(count)]
    text = form_text(pairs)
    if draw(st.integers(0, 9)) == 0:  # not valid percent-encoding, or not UTF-8
        text = "&".join(filter(None, [text, draw(st.sampled_from(RAW_FORM_TAILS))]))
    return text


def baselines(seeded: Seeded) -> dict[str, dict[str, Any]]:
    """A request each of these routes accepts; half the fuzzer's requests to them change
    one parameter of it, to reach the code behind the first check."""
    ids = seeded.ids
    return {
        "POST /2010-04-01/Accounts/{account}/Messages.json": {
            "To": "+14155550101",
            "From": "+14155550100",
            "Body": "hello",
        },
        "POST /v1/Contacts/Events": {"Event": "login", "PhoneNumber": ["+14155550101"]},
        "POST /v2/userdata/channels/sms/opt-in": {
            "identifier": {"type": "phoneNumber", "value": "+14155550101"}
        },
        "POST /v2/userdata/channels/sms/opt-out": {
            "identifier": {"type": "phoneNumber", "value": "+14155550101"}
        },
        "POST /v1/Services/{service}/Keywords": {
            "opt_out": {"keywords": ["STOP"], "reply": "bye"},
            "custom": [{"keyword": "HOURS", "reply": "9-5"}],
        },
        "POST /v1/Services/{service}/{kind_path}": {"PhoneNumberSid": ids["number"]},
        "POST /v1/LinkShortening/Domains": {"DomainName": "links.example.org"},
        "POST /v1/Integrations": {"FriendlyName": "x", "Type": "sandbox"},
        "POST /v1/Services": {"FriendlyName": "x"},
        "POST /v1/Contacts": {"PhoneNumber": ["+447911123456"], "FriendlyName": "Ann"},
        "POST /v1/Senders": {"Sender": "+14155550102"},
        "POST /v1/Segments": {"FriendlyName": "s", "Filter": "has phone"},
        "POST /v1/Segments/Preview": {"Filter": "clicked within 30d", "SampleSize": "5"},
        "POST /v1/Audiences/Preview": {"IncludeLists": [ids["list"]]},
        "POST /v1/Lists/{sid}/Members": {"ContactSid": [ids["contact"]]},
    }


@st.composite
def mutated(
    draw: st.DrawFn, good: dict[str, Any], schema: dict[str, Any], media: str, known: Known
) -> bytes:
    """``good`` with one declared parameter set to a drawn value (valid or hostile)."""
    props = schema["properties"]
    name = draw(st.sampled_from(sorted(props)))
    if media == FORM:
        pairs = [
            (k, str(item))
            for k, v in good.items()
            if k != name
            for item in (v if isinstance(v, list) else [v])
        ]
        pairs.append((name, draw(text_value(name, props[name], known))))
        return form_text(pairs).encode()
    fields = {k: json.dumps(v) for k, v in good.items()}
    fields[name] = draw(json_value(props[name], known, name))
    text = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def __str__(self) -> str:
        return f"{self.method} {self.url} {self.headers.get('Content-Type', '')} {self.body!r:.400}"


@st.composite
def requests_for(draw: st.DrawFn, op: Declared, seeded: Seeded, base: str) -> Request:
    values = seeded.path_parameters(op.path)
    if draw(st.integers(0, 5)) == 0:  # a hostile path segment instead of a real SID
        name = draw(st.sampled_from(sorted(values)))
        values[name] = draw(st.sampled_from(["SM\x00x", "x" * 300, "%", "é", "a b", "\x7f"]))
    path = op.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    known = known_values(seeded)
    query = draw(form_pairs(op.query, [], known)) if op.query else ""
    headers = dict(seeded.headers)
    body = b""
    if op.body:
        media = draw(st.sampled_from(sorted(op.body)))
        schema = op.body[media]
        headers["Content-Type"] = media
        good = baselines(seeded).get(op.label)
        if good is not None and media in (FORM, JSON) and draw(st.booleans()):
            body = draw(mutated(good, schema, media, known))
        elif media == FORM:
            props, required = schema["properties"], schema.get("required", [])
            body = draw(form_pairs(props, required, known)).encode()
        elif media == JSON:
            body = draw(json_value(schema, known)).encode("utf-8", "surrogatepass")
        else:  # text/csv
            rows = draw(st.lists(st.sampled_from([*PHONES, "\x00", "nope", "+1" + "9" * 40])))
            body = "\n".join(["phone numbers", *rows]).encode()
            if draw(st.booleans()):
                body += b"\xff\xfe\x00"
    url = base + path + (f"?{query}" if query else "")
    return Request(op.method, url, headers, body)


def check_answer(op: Declared, doc: dict[str, Any], response: httpx.Response) -> str | None:
    """What is wrong with the answer, or None: no 5xx; every answer a declared response
    that matches its schema (a refusal the error schema)."""
    status = response.status_code
    if status >= 500:
        return f"{status} server error: {response.text[:300]}"
    spec = doc["paths"][op.path][op.method.lower()]["responses"].get(str(status))
    if spec is None:
        return f"{status} is not a declared response: {response.text[:200]}"
    schema = spec.get("content", {}).get(JSON, {}).get("schema")
    if schema is None:
        return None if status < 400 else f"{status} has no declared error body"
    if not response.headers.get("content-type", "").startswith(JSON):
        return f"{status} is {response.headers.get('content-type')}, not JSON"
    body = response.json()
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
    if errors:
        return f"{status} violates its schema: {errors[:3]}"
    if status >= 400 and set(ERROR_KEYS) <= set(body) and body["status"] != status:
        return f"{status} error body says status {body['status']}"
    return None


class ServerErrors(logging.Handler):
    """The exceptions the server logged, to name the cause of a 500 in the report."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            while exc.__cause__ is not None:  # SQLAlchemy wraps the driver's error
                exc = exc.__cause__
            self.seen.append(f"{type(exc).__name__}: {str(exc)[:160]}")


def test_fuzz_declared_parameters_no_server_error(server: LiveServer) -> None:
    """issue 11 "Done when": a hypothesis fuzzer over the parameters the OpenAPI document
    declares (valid values and hostile ones: NUL, control characters, 5,000-digit integers,
    JSON 1,000 deep, out-of-range dates, bad percent-encoding) finds zero 5xx, and every
    refusal has the error schema."""
    seeded = seed(server)
    doc = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    ops = declared(doc)
    assert len(ops) >= 60
    failures: dict[tuple[str, str, str], Failure] = {}
    cases = 0
    errors = ServerErrors()
    api_log = logging.getLogger("textwire.api")
    api_log.addHandler(errors)
    client = httpx.Client(timeout=30)
    try:
        for op in ops:

            def one(request: Request, op: Declared = op) -> None:
                nonlocal cases, client
                cases += 1
                errors.seen.clear()
                try:
                    response = client.request(
                        request.method, request.url, headers=request.headers, content=request.body
                    )
                except httpx.HTTPError as exc:
                    _record(failures, op.label, "fuzz", f"no answer: {exc!r}\n    {request}")
                    response = None
                problem = None if response is None else check_answer(op, doc, response)
                if response is None or response.status_code >= 500:
                    # The server closes a connection after a 500: start a new one, so the
                    # next request is not reported as a reset too.
                    client.close()
                    client = httpx.Client(timeout=30)
                if problem is not None:
                    cause = f" ({'; '.join(errors.seen)})" if errors.seen else ""
                    _record(failures, op.label, "fuzz", f"{problem}{cause}\n    request: {request}")

            run_examples(requests_for(op, seeded, server.url), one, FUZZ_EXAMPLES)
    finally:
        client.close()
        api_log.removeHandler(errors)

    assert cases >= 1500, f"only {cases} cases ran"
    assert not failures, f"{len(failures)} distinct failures in {cases} cases:\n" + "\n".join(
        str(f) for f in failures.values()
    )
