"""Helpers shared by the ``/v1`` routes: the runtime, auth, absolute URLs, ``meta`` paging
and the one way a ``/v1`` list reads its page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, RowMapping, Table, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from textwire.api.auth import authenticate
from textwire.api.params import Params
from textwire.errors import not_found
from textwire.runtime import Runtime


class FastJSONResponse(JSONResponse):
    """``JSONResponse`` rendered by orjson: the same compact UTF-8 JSON, keys in order, in a
    fraction of ``json.dumps``' time; used where a response is on the hot path."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


async def account_of(request: Request) -> tuple[Runtime, str]:
    rt = runtime(request)
    return rt, await authenticate(rt, request)


def base_url(request: Request) -> str:
    """Where clients reach us; Twilio's v1 paging links must be absolute."""
    public = runtime(request).settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def page_args(params: Params) -> tuple[int, int]:
    size = params.int("PageSize", low=1, high=1000) or 50
    page = params.int("Page", low=0, high=10**9) or 0
    return page, size


def v1_page(
    request: Request,
    key: str,
    path: str,
    items: list[dict[str, Any]],
    page: int,
    size: int,
    has_more: bool,
) -> dict[str, Any]:
    """Twilio's v1 list body: ``{key: [...], "meta": {...}}`` with absolute page URLs."""
    root = base_url(request) + path

    def url(p: int) -> str:
        return f"{root}?PageSize={size}&Page={p}"

    return {
        key: items,
        "meta": {
            "page": page,
            "page_size": size,
            "first_page_url": url(0),
            "previous_page_url": url(page - 1) if page > 0 else None,
            "next_page_url": url(page + 1) if has_more else None,
            "url": url(page),
            "key": key,
        },
    }


async def list_page(
    rt: Runtime,
    request: Request,
    params: Params,
    *,
    table: Table,
    account_sid: str,
    key: str,
    path: str,
    to_resource: Callable[[RowMapping], dict[str, Any]],
    filters: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[ColumnElement[Any]] = (),
) -> JSONResponse:
    """One page of a ``/v1`` list: the rows of ``table`` owned by ``account_sid`` that match
    ``filters``, in ``order_by`` order (oldest first, ``date_created`` then ``sid``, unless
    given), at ``Page`` of ``PageSize``, each shown by ``to_resource``, in Twilio's v1 body.

    One row past the page is read: whether it exists is whether there is a next page.
    """
    page, size = page_args(params)
    order = order_by or (table.c.date_created, table.c.sid)
    query = (
        select(table)
        .where(table.c.account_sid == account_sid, *filters)
        .order_by(*order)
        .offset(page * size)
        .limit(size + 1)
    )
    async with rt.db.read() as conn:
        rows = list((await conn.execute(query)).mappings())
    items = [to_resource(r) for r in rows[:size]]
    return JSONResponse(v1_page(request, key, path, items, page, size, len(rows) > size))


async def fetch_owned(
    rt: Runtime, table: Table, sid: str, account_sid: str, what: str
) -> dict[str, Any]:
    """The row ``sid`` of ``table`` if it belongs to ``account_sid``; 20404 otherwise, so
    another account's resources look exactly like missing ones."""
    async with rt.db.read() as conn:
        row = (
            (
                await conn.execute(
                    select(table).where(table.c.sid == sid, table.c.account_sid == account_sid)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise not_found(what, sid)
    return dict(row)
