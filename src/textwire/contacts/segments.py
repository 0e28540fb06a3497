"""Segments and audiences (F-CONTACT-3): a filter tree compiled into SQLAlchemy Core.

:func:`condition` turns a :mod:`~textwire.contacts.filter_language` tree into one boolean
expression over ``contacts``; every value in it is a bound parameter (nothing the user
typed is ever spliced into SQL). What each condition means:

- Custom fields live in ``contacts.attributes`` (JSON) and are typed by ``contact_fields``;
  a comparison reads the value only when its JSON type is the field's (a number field holding
  text is no match, not a database error on PostgreSQL nor a text-vs-number quirk on SQLite).
  Every comparison is two-valued: a contact without the field does not match ``age >= 30``
  and does match ``not age >= 30``; ``city != "Paris"`` needs a city.
- Built-in fields: ``sid``, ``friendly_name``, ``date_created``, ``date_updated``, and the
  identifiers ``phone``, ``email`` (compared by its SHA-256, as stored) and ``custom_id``.
  ``phone != x`` means "has no phone x" (a contact may have several).
- ``clicked`` (not by bots) and ``messaged`` match a contact when one of its numbers was
  clicked from / sent to in the window; ``opted_in`` / ``opted_out`` when a number's
  account-wide consent state is that, recorded in the window. ``consent = s`` is the account
  scope's effective state of any of its numbers, subscriber syncs included (as
  ``consent.state.effective`` works it out).
- Days are whole UTC days: ``before D`` is earlier than D, ``after D`` later than all of D.

Engagement and consent conditions are ``phone IN (one subquery)``: each reads its table's
account range once for the whole filter, never once per contact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, get_args

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    RowMapping,
    Select,
    String,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from textwire.consent import tables as ct
from textwire.consent.identifiers import IdentifierError, normalize_email
from textwire.contacts import audience_tables as at
from textwire.contacts import filter_language as fl
from textwire.contacts.tables import contact_fields
from textwire.errors import TextwireError, invalid
from textwire.ids import new_sid
from textwire.links import tables as lt
from textwire.messages import store

FieldType = Literal["text", "number", "date", "boolean"]
FIELD_TYPES: Final[tuple[FieldType, ...]] = get_args(FieldType)
SAMPLE_MAX: Final = 100

c = ct.contacts
ci = ct.contact_identifiers
IDENTIFIER_FIELDS: Final = {"phone": "phoneNumber", "email": "email", "custom_id": "custom"}
COLUMN_FIELDS: Final[dict[str, tuple[ColumnElement[Any], FieldType]]] = {
    "sid": (c.c.sid, "text"),
    "friendly_name": (c.c.friendly_name, "text"),
    "date_created": (c.c.date_created, "date"),
    "date_updated": (c.c.date_updated, "date"),
}
BUILT_IN: Final = (*COLUMN_FIELDS, *IDENTIFIER_FIELDS)


# -- JSON values, the same on SQLite and PostgreSQL ----------------------------------------
# Each takes (attributes column, key, SQLite JSON path) and is NULL unless the value at the
# key has the JSON type named. The key is bound twice (PostgreSQL's -> and SQLite's path).


class _JsonValue(FunctionElement[Any]):
    inherit_cache = True


class JsonText(_JsonValue):
    type = String()
    inherit_cache = True


class JsonNumber(_JsonValue):
    type = Float()
    inherit_cache = True


class JsonFlag(_JsonValue):
    """``'true'`` or ``'false'`` (text on both databases), else NULL."""

    type = String()
    inherit_cache = True


class JsonPresent(_JsonValue):
    """Whether the key holds anything but JSON null."""

    type = Boolean()
    inherit_cache = True


def _args(element: _JsonValue, compiler: SQLCompiler, which: int, **kw: Any) -> tuple[str, str]:
    """The attributes column and the key (``which=1``) or the path (2), compiled. Only the
    one the dialect uses is compiled: a bound parameter compiled is a parameter sent."""
    clauses = element.clauses.clauses
    return compiler.process(clauses[0], **kw), compiler.process(clauses[which], **kw)


_SQLITE: Final = {
    "JsonText": "CASE WHEN json_type({a}, {p}) = 'text' THEN json_extract({a}, {p}) END",
    "JsonNumber": (
        "CASE WHEN json_type({a}, {p}) IN ('integer', 'real') THEN json_extract({a}, {p}) END"
    ),
    "JsonFlag": "CASE WHEN json_type({a}, {p}) IN ('true', 'false') THEN json_type({a}, {p}) END",
    "JsonPresent": "(coalesce(json_type({a}, {p}), 'null') != 'null')",
}
_POSTGRES: Final = {
    "JsonText": "CASE WHEN json_typeof({a} -> {k}) = 'string' THEN {a} ->> {k} END",
    "JsonNumber": (
        "CASE WHEN json_typeof({a} -> {k}) = 'number' "
        "THEN CAST({a} ->> {k} AS DOUBLE PRECISION) END"
    ),
    "JsonFlag": "CASE WHEN json_typeof({a} -> {k}) = 'boolean' THEN {a} ->> {k} END",
    "JsonPresent": "(coalesce(json_typeof({a} -> {k}), 'null') <> 'null')",
}


@compiles(_JsonValue, "sqlite")
def _sqlite_json(element: _JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    a, p = _args(element, compiler, 2, **kw)
    return _SQLITE[type(element).__name__].format(a=a, p=p)


@compiles(_JsonValue, "postgresql")
def _postgres_json(element: _JsonValue, compiler: SQLCompiler, **kw: Any) -> str:
    a, k = _args(element, compiler, 1, **kw)
    return _POSTGRES[type(element).__name__].format(a=a, k=f"CAST({k} AS TEXT)")


def _json(kind: type[_JsonValue], key: str) -> ColumnElement[Any]:
    # The key is [a-z][a-z0-9_]* (a field key), quoted in the path all the same.
    return kind(c.c.attributes, literal(key, String), literal(f'$."{key}"', String))


# -- the catalogue a filter is compiled against ---------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """What a filter may name in one account, as of ``now`` (for ``within`` windows)."""

    account_sid: str
    now: datetime
    fields: Mapping[str, FieldType]
    lists: Mapping[str, str]  # a list's SID and its friendly name -> its SID


async def load_catalogue(conn: AsyncConnection, account_sid: str, now: datetime) -> Catalogue:
    fields: dict[str, FieldType] = {}
    for key, type_ in await conn.execute(
        select(contact_fields.c.key, contact_fields.c.type).where(
            contact_fields.c.account_sid == account_sid
        )
    ):
        if type_ in FIELD_TYPES:
            fields[key] = type_
    lists: dict[str, str] = {}
    cl = at.contact_lists
    for sid, name in await conn.execute(
        select(cl.c.sid, cl.c.friendly_name).where(cl.c.account_sid == account_sid)
    ):
        lists[name] = sid
        lists[sid] = sid
    return Catalogue(account_sid, now, fields, lists)


# -- compiling -----------------------------------------------------------------------------

PARAM: Final = "Filter"


def _refuse(at_: int, rule: str, param: str) -> TextwireError:
    return invalid(param, f"at column {at_ + 1}: {rule}")


def _describe(value: fl.Value) -> str:
    kind = {fl.Text: "text", fl.Number: "a number", fl.Day: "a date", fl.Flag: "a boolean"}
    return f"{kind[type(value)]} ({fl.format_value(value)})"


_VALUE_OF: Final[dict[FieldType, type]] = {
    "text": fl.Text,
    "number": fl.Number,
    "date": fl.Day,
    "boolean": fl.Flag,
}
_OPS: Final[dict[FieldType, tuple[str, ...]]] = {
    "text": ("=", "!=", "<", "<=", ">", ">=", "contains", "starts_with"),
    "number": ("=", "!=", "<", "<=", ">", ">="),
    "date": ("=", "!=", "<", "<=", ">", ">="),
    "boolean": ("=", "!="),
}
_A_TYPE: Final = {"text": "a text", "number": "a number", "date": "a date", "boolean": "a boolean"}


def _like(text: str, where: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ("%" if where == "contains" else "") + escaped + "%"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _days(
    expr: ColumnElement[Any], op: str, day: date, bound: Callable[[date], Any]
) -> ColumnElement[bool]:
    """``expr op day`` with days whole: ``= D`` is any time on D, ``> D`` after all of D."""
    lo = bound(day)
    hi = bound(day + timedelta(days=1)) if day < date.max else None
    below_hi = expr < hi if hi is not None else expr.is_not(None)
    from_hi = expr >= hi if hi is not None else false()
    conds: dict[str, ColumnElement[bool]] = {
        "<": expr < lo,
        "<=": below_hi,
        ">": from_hi,
        ">=": expr >= lo,
        "=": and_(expr >= lo, below_hi),
        "!=": or_(expr < lo, from_hi),
    }
    return conds[op]


def _raw(value: fl.Value) -> Any:
    """The bound value of a text, number or boolean literal (as ``JsonFlag`` spells it)."""
    if isinstance(value, fl.Number):
        return float(value.value)
    if isinstance(value, fl.Flag):
        return "true" if value.value else "false"
    return value.value


def _compare(
    expr: ColumnElement[Any], type_: FieldType, op: str, value: fl.Value, stamps: bool
) -> ColumnElement[bool]:
    if isinstance(value, fl.Day):
        bound: Callable[[date], Any] = _midnight if stamps else date.isoformat
        return _days(expr, op, value.value, bound)
    if op == "contains" or op == "starts_with":
        assert isinstance(value, fl.Text)
        return func.lower(expr).like(_like(value.value, op), escape="\\")
    raw = _raw(value)
    conds: dict[str, ColumnElement[bool]] = {
        "=": expr == raw,
        "!=": expr != raw,
        "<": expr < raw,
        "<=": expr <= raw,
        ">": expr > raw,
        ">=": expr >= raw,
    }
    return conds[op]


def _two_valued(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    """NULL (no such value) as false, so that ``not`` of it is true."""
    return func.coalesce(cond, false(), type_=Boolean)


def _in_phones(account_sid: str, phones: Select[Any]) -> ColumnElement[bool]:
    """Contacts with a number in ``phones``."""
    return c.c.sid.in_(
        select(ci.c.contact_sid).where(
            ci.c.account_sid == account_sid,
            ci.c.type == "phoneNumber",
            ci.c.value.in_(phones),
        )
    )


def _window(window: fl.Window | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    if isinstance(window, fl.Within):
        return now - timedelta(hours=window.hours), None
    if isinstance(window, fl.After):
        after = window.day + timedelta(days=1) if window.day < date.max else None
        return (_midnight(after) if after else datetime.max.replace(tzinfo=UTC)), None
    if isinstance(window, fl.Before):
        return None, _midnight(window.day)
    return None, None


def _between(
    col: ColumnElement[datetime], since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if since is not None:
        out.append(col >= since)
    if until is not None:
        out.append(col < until)
    return out


def _subscribed_by_sync(account_sid: str) -> Select[Any]:
    """Numbers in the account scope's applied subscriber set that no later (or keyword)
    opt-out overrides: ``consent.state.effective`` for members of the set."""
    sub, runs, cs = ct.subscribers, ct.sync_runs, ct.consent_states
    override = exists().where(
        cs.c.account_sid == account_sid,
        cs.c.phone == sub.c.phone,
        cs.c.scope == "",
        cs.c.status == "unsubscribed",
        or_(cs.c.at > runs.c.applied_at, cs.c.source == "keyword"),
    )
    return (
        select(sub.c.phone)
        .select_from(sub.join(runs, runs.c.sid == sub.c.run_sid))
        .where(
            runs.c.account_sid == account_sid,
            runs.c.scope == "",
            runs.c.status == "applied",
            ~override,
        )
    )


def _states(account_sid: str, status: str) -> Select[Any]:
    cs = ct.consent_states
    return select(cs.c.phone).where(
        cs.c.account_sid == account_sid, cs.c.scope == "", cs.c.status == status
    )


class _Compiler:
    def __init__(self, cat: Catalogue, param: str) -> None:
        self.cat = cat
        self.param = param

    def node(self, node: fl.Node) -> ColumnElement[bool]:
        if isinstance(node, fl.And):
            return and_(*(self.node(item) for item in node.items))
        if isinstance(node, fl.Or):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, fl.Not):
            return not_(self.node(node.item))
        if isinstance(node, fl.Compare | fl.InSet | fl.Has):
            return self.field(node)
        if isinstance(node, fl.Event):
            return self.event(node)
        if isinstance(node, fl.Consent):
            return self.consent(node.status)
        return self.in_list(node)

    def field_type(self, name: str, at_: int) -> FieldType:
        if name in COLUMN_FIELDS:
            return COLUMN_FIELDS[name][1]
        if name in IDENTIFIER_FIELDS:
            return "text"
        if name in self.cat.fields:
            return self.cat.fields[name]
        known = ", ".join([*BUILT_IN, *sorted(self.cat.fields)])
        raise _refuse(
            at_,
            f"unknown field '{name}': declare it under /v1/ContactFields, or use one of {known}",
            self.param,
        )

    def check(self, name: str, type_: FieldType, op: str, value: fl.Value, at_: int) -> None:
        if op not in _OPS[type_]:
            raise _refuse(
                at_,
                f"'{name}' is {_A_TYPE[type_]} field: expected one of "
                f"{', '.join(_OPS[type_])}, in, not in, found '{op}'",
                self.param,
            )
        if not isinstance(value, _VALUE_OF[type_]):
            raise _refuse(
                at_,
                f"'{name}' is {_A_TYPE[type_]} field: expected {_A_TYPE[type_]} value, "
                f"found {_describe(value)}",
                self.param,
            )

    def field(self, node: fl.Compare | fl.InSet | fl.Has) -> ColumnElement[bool]:
        name = node.field
        type_ = self.field_type(name, node.at)
        if isinstance(node, fl.Has):
            return self.has(name, type_)
        pairs = (
            [(node.op, node.value)]
            if isinstance(node, fl.Compare)
            else [("=", v) for v in node.values]
        )
        for op, value in pairs:
            self.check(name, type_, op, value, node.at)
        if name in IDENTIFIER_FIELDS:
            return self.identifier(name, pairs, node.at)
        stamps = name in COLUMN_FIELDS
        expr = COLUMN_FIELDS[name][0] if stamps else self.json_value(name, type_)
        if isinstance(node, fl.InSet) and type_ != "date":
            return _two_valued(expr.in_([_raw(v) for v in node.values]))
        conds = [_compare(expr, type_, op, v, stamps) for op, v in pairs]
        return _two_valued(or_(*conds) if len(conds) > 1 else conds[0])

    def json_value(self, name: str, type_: FieldType) -> ColumnElement[Any]:
        kind = {"number": JsonNumber, "boolean": JsonFlag}.get(type_, JsonText)
        return _json(kind, name)

    def has(self, name: str, type_: FieldType) -> ColumnElement[bool]:
        if name in IDENTIFIER_FIELDS:
            return c.c.sid.in_(
                select(ci.c.contact_sid).where(
                    ci.c.account_sid == self.cat.account_sid,
                    ci.c.type == IDENTIFIER_FIELDS[name],
                )
            )
        if name in COLUMN_FIELDS:
            col = COLUMN_FIELDS[name][0]
            return and_(col.is_not(None), col != "") if type_ == "text" else col.is_not(None)
        return _json(JsonPresent, name)

    def identifier(
        self, name: str, pairs: Sequence[tuple[str, fl.Value]], at_: int
    ) -> ColumnElement[bool]:
        """Contacts owning an identifier that matches; ``!=`` is "owns no such one"."""
        kind = IDENTIFIER_FIELDS[name]
        value = ci.c.value
        matches: list[ColumnElement[bool]] = []
        negate = False
        for op, literal_value in pairs:
            assert isinstance(literal_value, fl.Text)
            text = literal_value.value
            if name == "email":
                if op not in ("=", "!="):
                    raise _refuse(at_, "email is stored hashed: expected =, != or in", self.param)
                try:
                    text = normalize_email(text, field=self.param)
                except IdentifierError as exc:
                    raise _refuse(at_, f"email: {exc.rule}", self.param) from None
            negate = op == "!="
            if op in ("contains", "starts_with"):
                matches.append(func.lower(value).like(_like(text, op), escape="\\"))
            elif op in ("=", "!="):
                matches.append(value == text)
            else:
                matches.append(_compare(value, "text", op, literal_value, False))
        owned = c.c.sid.in_(
            select(ci.c.contact_sid).where(
                ci.c.account_sid == self.cat.account_sid, ci.c.type == kind, or_(*matches)
            )
        )
        return not_(owned) if negate else owned

    def event(self, node: fl.Event) -> ColumnElement[bool]:
        account = self.cat.account_sid
        since, until = _window(node.window, self.cat.now)
        if node.kind == "messaged":
            return _in_phones(account, store.recipients_messaged(account, since=since, until=until))
        if node.kind == "clicked":
            links, clicks = lt.links, lt.link_clicks
            phones = (
                select(links.c.to_addr)
                .select_from(clicks.join(links, links.c.slug == clicks.c.slug))
                .where(
                    links.c.account_sid == account,
                    clicks.c.is_bot == false(),
                    *_between(clicks.c.clicked_at, since, until),
                )
            )
            return _in_phones(account, phones)
        status = "subscribed" if node.kind == "opted_in" else "unsubscribed"
        cs = ct.consent_states
        return _in_phones(account, _states(account, status).where(*_between(cs.c.at, since, until)))

    def consent(self, status: fl.ConsentStatus) -> ColumnElement[bool]:
        account = self.cat.account_sid
        by_sync = _subscribed_by_sync(account)
        subscribed = union(_states(account, "subscribed"), by_sync)
        unsubscribed = _states(account, "unsubscribed").where(
            ct.consent_states.c.phone.not_in(by_sync)
        )
        if status == "subscribed":
            return _in_phones(account, select(subscribed.subquery().c.phone))
        if status == "unsubscribed":
            return _in_phones(account, unsubscribed)
        known = union(_states(account, "subscribed"), by_sync, _states(account, "unsubscribed"))
        return not_(_in_phones(account, select(known.subquery().c.phone)))

    def in_list(self, node: fl.InList) -> ColumnElement[bool]:
        sid = self.cat.lists.get(node.ref)
        if sid is None:
            raise _refuse(node.at, f"unknown list {node.ref!r} (a list's SID or name)", self.param)
        return in_lists([sid])


def in_lists(sids: Sequence[str]) -> ColumnElement[bool]:
    members = at.contact_list_members
    return c.c.sid.in_(select(members.c.contact_sid).where(members.c.list_sid.in_(list(sids))))


def parse_filter(text: str, param: str = PARAM) -> fl.Node:
    """The tree of ``text``; a 400 naming ``param``, the column and what was expected."""
    try:
        return fl.parse(text)
    except fl.FilterError as exc:
        raise invalid(param, str(exc)) from None


def condition(node: fl.Node, cat: Catalogue, param: str = PARAM) -> ColumnElement[bool]:
    """``node`` as a condition on ``contacts`` (the account is :func:`contact_sids`' part);
    a 400 naming ``param`` for an unknown field or list, or a value of the wrong type."""
    return _Compiler(cat, param).node(node)


def contact_sids(account_sid: str, cond: ColumnElement[bool]) -> Select[tuple[str]]:
    """The SIDs of the account's contacts meeting ``cond``: what a campaign fans out over."""
    return select(c.c.sid).where(c.c.account_sid == account_sid, cond)


# -- audiences ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who a campaign goes to: members of any included list or segment, minus members of
    any excluded one. Lists and segments are named by SID."""

    include_lists: tuple[str, ...] = ()
    include_segments: tuple[str, ...] = ()
    exclude_lists: tuple[str, ...] = ()
    exclude_segments: tuple[str, ...] = ()


async def _segment_conditions(
    conn: AsyncConnection, cat: Catalogue, sids: Sequence[str], param: str
) -> list[ColumnElement[bool]]:
    if not sids:
        return []
    found = await conn.execute(
        select(seg.c.sid, seg.c.filter).where(
            seg.c.account_sid == cat.account_sid, seg.c.sid.in_(list(sids))
        )
    )
    rows = {r.sid: r.filter for r in found}
    out = []
    for sid in sids:
        if sid not in rows:
            raise invalid(param, f"no segment {sid} in this account")
        out.append(condition(parse_filter(rows[sid], param), cat, param))
    return out


def _list_sids(cat: Catalogue, sids: Sequence[str], param: str) -> list[str]:
    for sid in sids:
        if cat.lists.get(sid) != sid:
            raise invalid(param, f"no list {sid} in this account")
    return list(sids)


async def audience_condition(
    conn: AsyncConnection, cat: Catalogue, audience: Audience
) -> ColumnElement[bool]:
    """The audience as one condition on ``contacts``; a 400 naming the parameter
    (``IncludeLists`` …) of an unknown list or segment, or when nothing is included."""
    if not audience.include_lists and not audience.include_segments:
        raise invalid("IncludeLists", "an audience includes at least one list or segment")
    include = await _segment_conditions(conn, cat, audience.include_segments, "IncludeSegments")
    exclude = await _segment_conditions(conn, cat, audience.exclude_segments, "ExcludeSegments")
    lists_in = _list_sids(cat, audience.include_lists, "IncludeLists")
    lists_out = _list_sids(cat, audience.exclude_lists, "ExcludeLists")
    if lists_in:
        include.append(in_lists(lists_in))
    if lists_out:
        exclude.append(in_lists(lists_out))
    cond = or_(*include)
    return and_(cond, not_(or_(*exclude))) if exclude else cond


async def audience_sids(
    conn: AsyncConnection, account_sid: str, audience: Audience, now: datetime
) -> Select[tuple[str]]:
    """One SELECT of the audience's contact SIDs (campaigns resolve audiences with it)."""
    cat = await load_catalogue(conn, account_sid, now)
    return contact_sids(account_sid, await audience_condition(conn, cat, audience))


# -- saved segments -------------------------------------------------------------------------

SEGMENT_PREFIX: Final = "SG"
seg = at.contact_segments


def _pin(node: fl.Node, cat: Catalogue) -> fl.Node:
    if isinstance(node, fl.InList):
        return fl.InList(cat.lists.get(node.ref, node.ref), at=node.at)
    if isinstance(node, fl.Not):
        return fl.Not(_pin(node.item, cat))
    if isinstance(node, fl.And):
        return fl.And(tuple(_pin(item, cat) for item in node.items))
    if isinstance(node, fl.Or):
        return fl.Or(tuple(_pin(item, cat) for item in node.items))
    return node


def saved_filter(text: str, cat: Catalogue, param: str = PARAM) -> str:
    """The text a segment keeps for ``text``: checked against the account (a 400 if it names
    an unknown field or list), canonical, and naming lists by SID so a rename keeps it."""
    node = parse_filter(text, param)
    condition(node, cat, param)
    return fl.format_filter(_pin(node, cat))


async def create_segment(
    conn: AsyncConnection, account_sid: str, name: str, filter_text: str, now: datetime
) -> str:
    sid = new_sid(SEGMENT_PREFIX)
    await conn.execute(
        seg.insert().values(
            sid=sid,
            account_sid=account_sid,
            friendly_name=name,
            filter=filter_text,
            date_created=now,
            date_updated=now,
        )
    )
    return sid


async def update_segment(
    conn: AsyncConnection, sid: str, values: Mapping[str, Any], now: datetime
) -> None:
    await conn.execute(seg.update().where(seg.c.sid == sid).values(**values, date_updated=now))


async def delete_segment(conn: AsyncConnection, sid: str) -> None:
    await conn.execute(seg.delete().where(seg.c.sid == sid))


async def fetch_segment(conn: AsyncConnection, account_sid: str, sid: str) -> Any | None:
    return (
        await conn.execute(select(seg).where(seg.c.sid == sid, seg.c.account_sid == account_sid))
    ).first()


async def segments_naming_list(conn: AsyncConnection, account_sid: str, list_sid: str) -> list[str]:
    """The account's segments whose filter names ``list_sid`` (they would stop compiling)."""
    found = []
    for sid, text in await conn.execute(
        select(seg.c.sid, seg.c.filter).where(seg.c.account_sid == account_sid)
    ):
        try:
            node = fl.parse(text)
        except fl.FilterError:
            continue
        if any(isinstance(n, fl.InList) and n.ref == list_sid for n in fl.walk(node)):
            found.append(sid)
    return found


def segment_resource(row: RowMapping, base: str) -> dict[str, Any]:
    url = f"{base}/v1/Segments/{row['sid']}"
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "friendly_name": row["friendly_name"],
        "filter": row["filter"],
        "date_created": row["date_created"].isoformat(),
        "date_updated": row["date_updated"].isoformat(),
        "url": url,
        "links": {"preview": f"{url}/Preview"},
    }


# -- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict[str, Any]]


async def preview(
    conn: AsyncConnection, account_sid: str, cond: ColumnElement[bool], size: int
) -> Preview:
    """How many contacts meet ``cond`` and the oldest ``size`` of them."""
    count = await conn.scalar(
        select(func.count()).select_from(c).where(c.c.account_sid == account_sid, cond)
    )
    rows = (
        await conn.execute(
            select(c.c.sid, c.c.friendly_name, c.c.attributes, c.c.date_created)
            .where(c.c.account_sid == account_sid, cond)
            .order_by(c.c.date_created, c.c.sid)
            .limit(size)
        )
        if size
        else None
    )
    sample = [
        {
            "sid": r.sid,
            "friendly_name": r.friendly_name,
            "attributes": r.attributes,
            "date_created": r.date_created.isoformat(),
        }
        for r in (rows or [])
    ]
    return Preview(int(count or 0), sample)
