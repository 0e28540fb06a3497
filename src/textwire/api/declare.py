"""What the OpenAPI document says about each route: its parameters, bodies, responses, auth.

The routes read their parameters by hand from ``Params`` (form bodies, JSON bodies on /v1,
query strings on GET), so FastAPI cannot see them. Each route declares them here once, as
typed records, and ``operation()`` turns them into the decorator's ``openapi_extra`` and
``responses``. ``install_openapi()`` adds the security schemes (HTTP Basic everywhere) and
drops what FastAPI generates for validation it never does.

The declarations are documentation of what the code enforces; ``tests/unit/test_openapi.py``
checks every route has them, and ``tests/integration/test_openapi_fuzz.py`` runs
schemathesis and a hypothesis fuzzer over them against the live server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from textwire import urls

Schema = dict[str, Any]
ParamType = Literal["string", "integer", "boolean", "date-time", "array", "object", "number"]
FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
URL_MAX: Final = urls.MAX_LENGTH  # what urls.check_url enforces on every URL

BASIC: Final = "basicAuth"
DY_API_KEY: Final = "dyApiKey"
TWILIO_SIGNATURE: Final = "twilioSignature"
CALLBACK_TOKEN: Final = "callbackToken"
CALLBACK_TOKEN_HEADER: Final = "callbackTokenHeader"

SECURITY_SCHEMES: Final[dict[str, Schema]] = {
    BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "Account SID and auth token, or API key SID and secret.",
    },
    DY_API_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "dy-api-key",
        "description": "The opt-in/opt-out API's key: 'SK…:secret' (or 'AC…:auth token').",
    },
    TWILIO_SIGNATURE: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "A twilio integration's callbacks, signed with its auth token.",
    },
    CALLBACK_TOKEN: {
        "type": "apiKey",
        "in": "query",
        "name": "Token",
        "description": "An http integration's callback token (its inbound_url carries it).",
    },
    CALLBACK_TOKEN_HEADER: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Textwire-Token",
        "description": "An http integration's callback token, as a header.",
    },
}


@dataclass(frozen=True)
class Param:
    """One parameter as the route reads it; ``None`` limits are not enforced by the code."""

    name: str
    type: ParamType = "string"
    required: bool = False
    description: str = ""
    min_length: int | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    url: bool = False
    max_items: int | None = None
    item: Param | None = None  # an array's element

    def schema(self, media: str = JSON) -> Schema:
        """This parameter's JSON Schema in a body of ``media`` (or a query string, as FORM)."""
        out: Schema
        if self.type == "date-time":
            out = {"type": "string", "format": "date-time"}
        elif self.type == "object":
            # A form carries the object as JSON text; a JSON body as the object itself.
            out = (
                {"type": "object"}
                if media == JSON
                else {"type": "string", "contentMediaType": JSON}
            )
        elif self.type == "array":
            out = {"type": "array", "items": (self.item or Param("item")).schema(media)}
            if self.max_items is not None:
                out["maxItems"] = self.max_items
        else:
            out = {"type": self.type}
        if self.url:
            out["format"] = "uri"
        for key, value in (
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("pattern", self.pattern),
        ):
            if value is not None:
                out[key] = value
        if self.enum:
            out["enum"] = list(self.enum)
        if self.description:
            out["description"] = self.description
        return out

    def query(self) -> Schema:
        schema = self.schema(FORM)
        schema.pop("description", None)  # said once, on the parameter
        out: Schema = {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "schema": schema,
        }
        if self.description:
            out["description"] = self.description
        return out


def text(name: str, description: str = "", **kw: Any) -> Param:
    return Param(name, "string", description=description, **kw)


def url(name: str, description: str = "", **kw: Any) -> Param:
    return Param(name, "string", description=description, url=True, max_length=URL_MAX, **kw)


def flag(name: str, description: str = "") -> Param:
    return Param(name, "boolean", description=description)


def integer(name: str, low: int, high: int, description: str = "") -> Param:
    return Param(name, "integer", minimum=low, maximum=high, description=description)


def choice(name: str, options: Sequence[str], description: str = "", **kw: Any) -> Param:
    return Param(name, "string", enum=tuple(options), description=description, **kw)


# Twilio's paging: v1 resources take PageSize and Page; v2010 lists also PageToken.
PAGE_SIZE: Final = integer("PageSize", 1, 1000, "Items per page (default 50).")
V1_PAGING: Final = (PAGE_SIZE, integer("Page", 0, 10**9, "Page number, from 0."))
V2010_PAGING: Final = (
    *V1_PAGING,
    text("PageToken", "The next_page_uri's token (opaque)."),
)


# --- response shapes ------------------------------------------------------------------------

Kind = Literal[
    "string", "string?", "integer", "integer?", "boolean", "boolean?", "number?", "object",
    "object?", "array", "any",
]  # fmt: skip
_KINDS: Final[dict[str, Schema]] = {
    "string": {"type": "string"},
    "string?": {"type": ["string", "null"]},
    "integer": {"type": "integer"},
    "integer?": {"type": ["integer", "null"]},
    "boolean": {"type": "boolean"},
    "boolean?": {"type": ["boolean", "null"]},
    "number?": {"type": ["number", "null"]},
    "object": {"type": "object"},
    "object?": {"type": ["object", "null"]},
    "array": {"type": "array"},
    "any": {},
}


@dataclass(frozen=True)
class Resource:
    """A response body: its main fields (all present), more allowed."""

    name: str
    fields: Mapping[str, Kind | Schema] = field(default_factory=dict)

    def schema(self) -> Schema:
        props = {k: (dict(_KINDS[v]) if isinstance(v, str) else v) for k, v in self.fields.items()}
        return {
            "type": "object",
            "title": self.name,
            "properties": props,
            "required": list(props),
            "additionalProperties": True,
        }

    def extended(self, name: str, **more: Kind | Schema) -> Resource:
        return Resource(name, {**self.fields, **more})


def v1_page(key: str | None, item: Resource) -> Resource:
    """Twilio's v1 list body: ``{key: [...], "meta": {...}}`` (``key=None``: it varies with
    the path, so only ``meta`` is declared)."""
    meta = Resource(
        "Meta",
        {
            "page": "integer",
            "page_size": "integer",
            "first_page_url": "string",
            "previous_page_url": "string?",
            "next_page_url": "string?",
            "url": "string",
            "key": "string",
        },
    )
    fields: dict[str, Kind | Schema] = {"meta": meta.schema()}
    if key is not None:
        fields[key] = {"type": "array", "items": item.schema()}
    return Resource(f"{item.name}Page", fields)


def v2010_page(key: str, item: Resource) -> Resource:
    """Twilio's v2010 list body: ``{key: [...]}`` with relative ``…_page_uri`` links."""
    return Resource(
        f"{item.name}Page",
        {
            "end": "integer",
            "first_page_uri": "string",
            "next_page_uri": "string?",
            "page": "integer",
            "page_size": "integer",
            "previous_page_uri": "string?",
            "start": "integer",
            "uri": "string",
            key: {"type": "array", "items": item.schema()},
        },
    )


ERROR: Final = Resource(
    "Error",
    {"code": "integer", "message": "string", "more_info": "string", "status": "integer"},
)
_ERROR_TEXT: Final = {
    400: "A parameter broke a rule; the message names it",
    401: "Missing or wrong credentials",
    403: "These credentials may not do this",
    404: "No such resource in this account",
    409: "The change conflicts with the resource's state",
    413: "The request body is too large",
    415: "The Content-Type is not one the route takes",
}


def _error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ERROR.schema()}}}


# --- one operation --------------------------------------------------------------------------

Body = Literal["form", "form+json", "json", "csv"]


def operation(
    *,
    success: Resource | None,
    status: int = 200,
    body: Body | None = None,
    params: Sequence[Param] = (),
    query: Sequence[Param] = (),
    json_schema: Schema | None = None,
    errors: Sequence[int] = (),
    security: Sequence[str] = (BASIC,),
    extra_responses: Mapping[int, Schema] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` and ``responses`` for a route decorator (``**operation(...)``).

    ``params`` go in the body (``body`` says which media types) or, without one, in the
    query string; ``query`` are query parameters of a route that also has a body.
    ``json_schema`` is the whole JSON body of a route that takes one object (not
    parameters). Every route answers 400, 401 and 404 with the error body, plus ``errors``.
    """
    extra: Schema = {}
    in_query = list(query) if body is not None else [*params, *query]
    if in_query:
        extra["parameters"] = [p.query() for p in in_query]
    if body is not None:
        content: Schema = {}
        if body in ("form", "form+json"):
            content[FORM] = {"schema": _object_of(params, FORM)}
        if body == "form+json":
            content[JSON] = {"schema": _object_of(params, JSON)}
        if body == "json":
            content[JSON] = {"schema": json_schema or _object_of(params, JSON)}
        if body == "csv":
            content["text/csv"] = {"schema": {"type": "string"}}
        extra["requestBody"] = {"required": body in ("json", "csv"), "content": content}
    if tuple(security) != (BASIC,):
        extra["security"] = [{name: []} for name in security]
    responses: dict[int | str, Schema] = {}
    if success is None:
        responses[status] = {"description": "Done; no body"}
    else:
        responses[status] = {
            "description": success.name,
            "content": {JSON: {"schema": success.schema()}},
        }
    for code in sorted({400, 401, 404, *errors}):
        responses[code] = _error(_ERROR_TEXT.get(code, "Refused"))
    for code, response in (extra_responses or {}).items():
        merged = responses.setdefault(code, {"description": response.get("description", "")})
        merged.setdefault("content", {}).update(response.get("content", {}))
        merged["description"] = response.get("description") or merged["description"]
    return {"openapi_extra": extra, "responses": responses}


def _object_of(params: Sequence[Param], media: str) -> Schema:
    out: Schema = {
        "type": "object",
        "properties": {p.name: p.schema(media) for p in params},
        "additionalProperties": True,
    }
    required = [p.name for p in params if p.required]
    if required:
        out["required"] = required
    return out


# --- the document ---------------------------------------------------------------------------


def install_openapi(app: FastAPI) -> None:
    """``app.openapi()`` with the security schemes, Basic auth by default, and without the
    422 ``HTTPValidationError`` FastAPI adds for path parameters (this API answers a bad
    parameter with a 400 error body, never that)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for item in doc.get("paths", {}).values():
                for op in item.values():
                    _drop_generated(op.get("responses", {}))
            components = doc.setdefault("components", {})
            schemas = components.get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            if not schemas:
                components.pop("schemas", None)
            components["securitySchemes"] = SECURITY_SCHEMES
            doc["security"] = [{BASIC: []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_generated(responses: dict[str, Any]) -> None:
    """FastAPI's own entries that are not true of this API: the 422 of its validation and
    the empty 200 of a route that answers with another 2xx."""
    auto = responses.get("422", {})
    ref = auto.get("content", {}).get(JSON, {}).get("schema", {}).get("$ref", "")
    if ref.endswith("/HTTPValidationError"):
        del responses["422"]
    if responses.get("200", {}).get("description") == "Successful Response":
        del responses["200"]
