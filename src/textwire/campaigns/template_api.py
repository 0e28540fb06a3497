"""``/v1/Templates`` (bodies with language and A/B variants, a preview per contact) and
``/v1/Prices`` (the price table estimates use) (F-CAMP-1, F-CAMP-4).

Every body is compiled when it is saved, so a syntax error, a refused construct or (once
contact fields are declared) an unknown field is a 400 naming the parameter, the line and
the column, and nothing is written.
"""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from textwire import segments
from textwire.api.common import account_of, base_url, list_page
from textwire.api.params import Params, read_params
from textwire.campaigns import template_declared as declared
from textwire.campaigns import template_store as store
from textwire.campaigns import template_tables as tt
from textwire.campaigns.pricing import (
    ANY,
    Price,
    PriceError,
    estimate,
    money,
    parse_country,
    parse_currency,
    parse_price,
    parse_sender_kind,
)
from textwire.campaigns.templates import (
    Compiled,
    Scalar,
    TemplateError,
    Variant,
    compile_body,
    language_tag,
    pick_language,
    pick_variant,
    render,
)
from textwire.clock import iso8601
from textwire.errors import TextwireError, invalid, not_found
from textwire.ids import new_sid
from textwire.links.rewrite import find_urls
from textwire.links.shortener import resolve_mode
from textwire.phone import InvalidPhoneNumber, parse_phone
from textwire.runtime import Runtime

router = APIRouter()

ROOT: Final = "/v1/Templates"
PRICES: Final = "/v1/Prices"
MAX_LANGUAGES: Final = 50
MIN_VARIANTS: Final = 2
MAX_VARIANTS: Final = 5
MAX_WEIGHT: Final = 1000
_VARIANT_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
_VARIANT_KEYS: Final = frozenset({"weight", "body", "languages"})


# --- reading bodies ---------------------------------------------------------------------------


def _compiled(field: str, source: object, declared_fields: frozenset[str] | None) -> Compiled:
    if not isinstance(source, str):
        raise invalid(field, "must be a string")
    if not source:
        raise invalid(field, "must not be empty")
    try:
        return compile_body(source, declared=declared_fields)
    except TemplateError as exc:
        raise invalid(field, exc.describe()) from None


def _languages(field: str, raw: object, declared_fields: frozenset[str] | None) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise invalid(field, "must be an object of language tag to body")
    if len(raw) > MAX_LANGUAGES:
        raise invalid(field, f"may hold at most {MAX_LANGUAGES} languages")
    out: dict[str, str] = {}
    for tag, body in raw.items():
        canonical = language_tag(tag)
        if canonical is None:
            raise invalid(f"{field}.{tag}", "is not a language tag such as es or pt-BR")
        if canonical.lower() in {k.lower() for k in out}:
            raise invalid(f"{field}.{tag}", "is given twice")
        _compiled(f"{field}.{tag}", body, declared_fields)
        out[canonical] = body
    return out


def _variants(raw: dict[str, Any], declared_fields: frozenset[str] | None) -> list[dict[str, Any]]:
    if not MIN_VARIANTS <= len(raw) <= MAX_VARIANTS:
        raise invalid("Variants", f"must name {MIN_VARIANTS} to {MAX_VARIANTS} variants")
    out: list[dict[str, Any]] = []
    for name, spec in raw.items():
        where = f"Variants.{name}"
        if not _VARIANT_NAME.fullmatch(name):
            raise invalid(where, "a variant name is 1-32 letters, digits, '_' or '-'")
        if not isinstance(spec, dict):
            raise invalid(where, "must be an object with weight, body and languages")
        extra = sorted(set(spec) - _VARIANT_KEYS)
        if extra:
            raise invalid(f"{where}.{extra[0]}", "is not a variant key (weight, body, languages)")
        weight = spec.get("weight", 1)
        if isinstance(weight, str) and weight.strip().isdigit():
            weight = int(weight.strip())
        if not isinstance(weight, int) or isinstance(weight, bool):
            raise invalid(f"{where}.weight", "must be an integer")
        if not 1 <= weight <= MAX_WEIGHT:
            raise invalid(f"{where}.weight", f"must be between 1 and {MAX_WEIGHT}")
        _compiled(f"{where}.body", spec.get("body"), declared_fields)
        languages = _languages(f"{where}.languages", spec.get("languages", {}), declared_fields)
        out.append({"name": name, "weight": weight, "body": spec["body"], "languages": languages})
    return out


def _template_values(
    params: Params, declared_fields: frozenset[str] | None, *, creating: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "FriendlyName" in params:
        name = params.get("FriendlyName") or None
        if name is not None and len(name) > 64:
            raise invalid("FriendlyName", "must be at most 64 characters")
        values["friendly_name"] = name
    if creating or "Body" in params:
        values["body"] = _compiled("Body", params.get("Body") or "", declared_fields).source
    if "Languages" in params:
        values["languages"] = _languages("Languages", params.object("Languages"), declared_fields)
    elif creating:
        values["languages"] = {}
    if "Variants" in params:
        raw = params.object("Variants") or {}
        values["variants"] = _variants(raw, declared_fields) if raw else None
    elif creating:
        values["variants"] = None
    return values


def _variables(row: dict[str, Any]) -> list[str]:
    bodies = [row["body"], *row["languages"].values()]
    for variant in row["variants"] or []:
        bodies += [variant["body"], *variant["languages"].values()]
    names: set[str] = set()
    for body in bodies:
        try:
            names |= compile_body(body).variables
        except TemplateError:
            continue  # stored bodies were checked when saved
    return sorted(names)


def template_resource(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    url = f"{base_url(request)}{ROOT}/{row['sid']}"
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "friendly_name": row["friendly_name"],
        "body": row["body"],
        "languages": row["languages"],
        "variants": row["variants"],
        "variables": _variables(row),
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": url,
        "links": {"preview": f"{url}/Preview"},
    }


async def _owned_template(rt: Runtime, account_sid: str, sid: str) -> dict[str, Any]:
    async with rt.db.read() as conn:
        row = await store.get_template(conn, account_sid, sid)
    if row is None:
        raise not_found("Template", sid)
    return row


# --- templates --------------------------------------------------------------------------------


@router.post(ROOT, status_code=201, **declared.create_template)
async def create_template(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    now = rt.clock.now()
    async with rt.db.write() as conn:
        fields = await store.declared_fields(conn, account_sid)
        values = _template_values(params, fields, creating=True)
        row = {
            "sid": new_sid("HX"),
            "account_sid": account_sid,
            "friendly_name": None,
            **values,
            "date_created": now,
            "date_updated": now,
        }
        await store.insert_template(conn, row)
    return JSONResponse(template_resource(request, row), status_code=201)


@router.get(ROOT, **declared.list_templates)
async def list_templates(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return await list_page(
        rt,
        request,
        await read_params(request),
        table=tt.templates,
        account_sid=account_sid,
        key="templates",
        path=ROOT,
        to_resource=lambda r: template_resource(request, dict(r)),
    )


@router.get(f"{ROOT}/{{sid}}", **declared.fetch_template)
async def fetch_template(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return JSONResponse(template_resource(request, await _owned_template(rt, account_sid, sid)))


@router.post(f"{ROOT}/{{sid}}", **declared.update_template)
async def update_template(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    async with rt.db.write() as conn:
        row = await store.get_template(conn, account_sid, sid)
        if row is None:
            raise not_found("Template", sid)
        fields = await store.declared_fields(conn, account_sid)
        values = _template_values(params, fields, creating=False)
        if values:
            values["date_updated"] = rt.clock.now()
            await store.update_template(conn, account_sid, sid, values)
            row.update(values)
    return JSONResponse(template_resource(request, row))


@router.delete(f"{ROOT}/{{sid}}", status_code=204, **declared.delete_template)
async def delete_template(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    async with rt.db.write() as conn:
        if not await store.delete_template(conn, account_sid, sid):
            raise not_found("Template", sid)
    return Response(status_code=204)


# --- preview ----------------------------------------------------------------------------------


def _inline_contact(params: Params) -> store.PreviewContact:
    raw = params.object("Fields") or {}
    fields: dict[str, Scalar] = {}
    for key, value in raw.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise invalid(f"Fields.{key}", "must be a string, number, boolean or null")
        fields[key] = value
    phone = params.get("PhoneNumber") or None
    if phone is not None:
        try:
            phone = parse_phone(phone).e164
        except InvalidPhoneNumber as exc:
            raise TextwireError(21211, f"Invalid parameter 'PhoneNumber': {exc.rule}") from None
    return store.PreviewContact(sid=None, phone=phone, language=None, time_zone=None, fields=fields)


def _variant(row: dict[str, Any], wanted: str | None, key: str) -> Variant | None:
    variants = [
        Variant(v["name"], v["weight"], v["body"], v["languages"]) for v in row["variants"] or []
    ]
    if wanted is not None:
        for variant in variants:
            if variant.name == wanted:
                return variant
        names = ", ".join(v.name for v in variants) or "none"
        raise invalid("Variant", f"must name one of the template's variants ({names})")
    return pick_variant(variants, key) if variants else None


@router.post(f"{ROOT}/{{sid}}/Preview", **declared.preview_template)
async def preview_template(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    params = await read_params(request)
    row = await _owned_template(rt, account_sid, sid)
    contact_sid = params.get("ContactSid") or None
    async with rt.db.read() as conn:
        if contact_sid is not None:
            found = await store.load_contact(conn, account_sid, contact_sid)
            if found is None:
                raise not_found("Contact", contact_sid)
            contact = found
        else:
            contact = _inline_contact(params)
        prices = await store.prices(conn, account_sid)
    language = params.get("Language") or contact.language
    if language and language_tag(language) is None:
        raise invalid("Language", "is not a language tag such as es or pt-BR")
    variant = _variant(row, params.get("Variant"), contact.sid or contact.phone or "")
    default = variant.body if variant else row["body"]
    languages = variant.languages if variant else row["languages"]
    prefix = f"Variants.{variant.name}." if variant else ""
    chosen = pick_language(languages, language)
    source, field = (
        (languages[chosen], f"{prefix}languages.{chosen}" if prefix else f"Languages.{chosen}")
        if chosen is not None
        else (default, f"{prefix}body" if prefix else "Body")
    )
    try:
        text = render(compile_body(source), contact.fields, contact.builtins())
    except TemplateError as exc:
        raise invalid(field, exc.describe()) from None
    service_sid = params.get("MessagingServiceSid") or None
    smart = params.bool("SmartEncoded")
    if service_sid is not None:
        snap = await rt.directory.account(account_sid)
        service = snap.services.get(service_sid)
        if service is None:
            raise TextwireError(
                21701,
                f"Invalid parameter 'MessagingServiceSid': service {service_sid} "
                "does not exist in this account",
            )
        if smart is None:
            smart = service.smart_encoding
    links = await rt.links.service_links(account_sid, service_sid)
    mode = resolve_mode(None, params.get("LinkMode"), service_sid, links.mode)
    try:
        info = segments.analyze(text, smart_encoding=bool(smart))
    except segments.InvalidTextError as exc:
        raise invalid(field, f"renders text that is not valid Unicode ({exc})") from None
    kind = params.get("SenderKind") or "long_code"
    try:
        kind = parse_sender_kind(kind)
    except PriceError as exc:
        raise invalid(exc.field, exc.rule) from None
    country = _country(contact.phone)
    guess = estimate(info.num_segments, country, kind, prices)
    cost = guess.cost
    return JSONResponse(
        {
            "template_sid": row["sid"],
            "contact_sid": contact.sid,
            "variant": variant.name if variant else None,
            "language": chosen,
            "body": info.text,
            "encoding": info.encoding,
            "num_segments": info.num_segments,
            "num_characters": info.num_characters,
            "smart_encoded": info.smart_encoded,
            "link_mode": mode,
            "urls": [span.url for span in find_urls(text, mode)],
            "country": country,
            "sender_kind": kind,
            "price": money(guess.price.price) if guess.price else None,
            "price_unit": guess.price.price_unit if guess.price else None,
            "estimated_cost": money(cost) if cost is not None else None,
        }
    )


def _country(phone: str | None) -> str | None:
    if phone is None:
        return None
    try:
        return parse_phone(phone).country
    except InvalidPhoneNumber:
        return None


# --- prices -----------------------------------------------------------------------------------


def price_resource(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "country": row["country"],
        "sender_kind": row["sender_kind"],
        "price": row["price"],
        "price_unit": row["price_unit"],
        "date_created": iso8601(row["date_created"]),
        "date_updated": iso8601(row["date_updated"]),
        "url": f"{base_url(request)}{PRICES}/{row['sid']}",
    }


def _price(params: Params) -> Price:
    try:
        return Price(
            parse_country(params.get("Country") or ""),
            parse_sender_kind(params.get("SenderKind") or ANY),
            parse_price(params.get("Price") or ""),
            parse_currency(params.get("PriceUnit") or "USD"),
        )
    except PriceError as exc:
        raise invalid(exc.field, exc.rule) from None


@router.post(PRICES, **declared.set_price)
async def set_price(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    price = _price(await read_params(request))
    async with rt.db.write() as conn:
        row = await store.set_price(conn, account_sid, price, rt.clock.now())
    return JSONResponse(price_resource(request, row))


@router.get(PRICES, **declared.list_prices)
async def list_prices(request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    return await list_page(
        rt,
        request,
        await read_params(request),
        table=tt.prices,
        account_sid=account_sid,
        key="prices",
        path=PRICES,
        to_resource=lambda r: price_resource(request, dict(r)),
        order_by=(tt.prices.c.country, tt.prices.c.sender_kind),
    )


@router.get(f"{PRICES}/{{sid}}", **declared.fetch_price)
async def fetch_price(sid: str, request: Request) -> JSONResponse:
    rt, account_sid = await account_of(request)
    async with rt.db.read() as conn:
        row = await store.get_price(conn, account_sid, sid)
    if row is None:
        raise not_found("Price", sid)
    return JSONResponse(price_resource(request, row))


@router.delete(f"{PRICES}/{{sid}}", status_code=204, **declared.delete_price)
async def delete_price(sid: str, request: Request) -> Response:
    rt, account_sid = await account_of(request)
    async with rt.db.write() as conn:
        if not await store.delete_price(conn, account_sid, sid):
            raise not_found("Price", sid)
    return Response(status_code=204)
