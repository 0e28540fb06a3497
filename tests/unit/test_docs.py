"""The documentation keeps up with the code: a setting, a route or a metric that exists but is
not documented fails here, and so does a broken link between the pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from starlette.routing import BaseRoute, Mount

from textwire.api.app import create_app
from textwire.compose import open_runtime
from textwire.config import Settings
from textwire.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PARAM = re.compile(r"\{[^{}/]*\}")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def env_names() -> list[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.append(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(method, path)`` of every route, descending into mounts and included routers.

    FastAPI before 0.16x copies an included router's routes into the app; later versions keep
    a wrapper with ``original_router``. Both are walked; anything else fails loudly rather
    than being skipped.
    """
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(route, Mount):
            yield ("*", prefix + route.path)
            yield from walk(route.routes, prefix + route.path)
        elif isinstance(path, str):
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                if method != "HEAD":
                    yield (method, prefix + path)
        elif hasattr(route, "original_router"):
            context = getattr(route, "include_context", None)
            inner = prefix + str(getattr(context, "prefix", "") or "")
            yield from walk(route.original_router.routes, inner)
        else:
            raise AssertionError(f"cannot tell the path of route {route!r}")


def app_routes(data_dir: Path) -> set[tuple[str, str]]:
    """The routes of a real ``create_app()`` over a real runtime that never touches its
    database: migrations off and a key given, so no database or key file is opened."""

    async def build() -> set[tuple[str, str]]:
        settings = Settings(data_dir=data_dir, secret_key=Fernet.generate_key().decode())
        rt = await open_runtime(settings, migrate=False)
        try:
            return set(walk(create_app(rt).routes))
        finally:
            await rt.close()

    return asyncio.run(build())


def normalised(text: str) -> str:
    """Path parameters are compared by position, not name: ``{AccountSid}`` == ``{account}``."""
    return PARAM.sub("{}", text)


def test_every_setting_is_in_operations_md() -> None:
    text = read(DOCS / "operations.md")
    missing = [name for name in env_names() if f"`{name}`" not in text]
    assert not missing, f"settings missing from docs/operations.md: {missing}"


def test_every_route_is_in_api_md(tmp_path: Path) -> None:
    routes = app_routes(tmp_path / "data")
    assert ("POST", "/2010-04-01/Accounts/{account}/Messages.json") in routes
    assert ("GET", "/healthz") in routes
    text = normalised(read(DOCS / "api.md"))
    missing = sorted(
        f"{method} {path}"
        for method, path in routes
        if f"{method} {normalised(path)}" not in text
        and not (method == "*" and normalised(path) in text)
    )
    assert not missing, f"routes missing from docs/api.md (as `METHOD /path`): {missing}"


def test_every_metric_is_in_operations_md() -> None:
    text = read(DOCS / "operations.md")
    names = [
        family.name + ("_total" if family.type == "counter" else "")
        for family in Metrics().registry.collect()
    ]
    assert "textwire_queue_depth" in names
    missing = [name for name in names if f"`{name}`" not in text]
    assert not missing, f"metrics missing from docs/operations.md: {missing}"


def test_readme_quick_start_is_make_demo_and_make_test() -> None:
    text = read(README)
    assert "make demo" in text and "make test" in text
    makefile = read(ROOT / "Makefile")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    text = read(README)
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if f"(docs/{p.name})" not in text]
    assert not missing, f"docs pages not linked from README.md: {missing}"


@pytest.mark.parametrize(
    "page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: str(p.relative_to(ROOT))
)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in MARKDOWN_LINK.findall(read(page)):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        if not (page.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{page.name} links to missing files: {broken}"


NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def test_api_md_counts_its_parts_right() -> None:
    """issue 11 §6: api.md said "three parts" and listed five."""
    text = read(DOCS / "api.md")
    intro = text.split("## All routes")[0]
    match = re.search(r"It has (\w+) parts:\n\n((?:- .*\n(?:  .*\n)*)+)", intro)
    assert match is not None
    bullets = [line for line in match.group(2).splitlines() if line.startswith("- ")]
    assert NUMBER_WORDS[match.group(1)] == len(bullets)


def test_api_md_says_one_thing_about_cancel_callbacks_and_redaction() -> None:
    """issue 11 §6: api.md said both that a cancel sends a `canceled` status callback and that
    it sends none, and both that a queued message cannot be redacted and that any can. The
    code sends the callback (test_messages_api) and refuses redacting a queued message."""
    text = " ".join(read(DOCS / "api.md").split())
    assert "an event and a `canceled` status callback" in text
    assert "sends no status callback" not in text
    assert "cannot be redacted (20409)" in text
    assert "accepted in any status" not in text
