"""HTTP/JSON connector helpers: payload templates and JSON paths (pure functions)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.errors import TextwireError
from textwire.providers.common import check_json_path, json_path
from textwire.providers.http_json import TemplateError, check_template, render
from textwire.providers.masking import masked

TEMPLATE = '{"to": "${to}", "text": "${body}", "n": "${contact.first_name}"}'


@given(st.text())
def test_any_body_renders_to_valid_json_with_the_body_intact(body: str) -> None:
    values = {"to": "+14155550100", "body": body}
    assert json.loads(render(TEMPLATE, values)) == {"to": "+14155550100", "text": body, "n": ""}


def test_unknown_variables_are_refused() -> None:
    with pytest.raises(TemplateError, match=r"\$\{phone\}"):
        render('{"to": "${phone}"}', {})
    with pytest.raises(TextwireError, match=r"Settings\.payload_template"):
        check_template('{"to": "${phone}"}')


def test_json_paths() -> None:
    doc = {"data": {"items": [{"id": 7}], "odd key": "x"}}
    assert json_path(doc, "$.data.items[0].id") == 7
    assert json_path(doc, "$.data['odd key']") == "x"
    assert json_path(doc, "$.data.items[3].id") is None
    assert json_path(doc, "$.nope.deeper") is None
    assert json_path("not an object", "$.a") is None
    assert json_path(doc, "$") == doc
    for bad in ("data.id", "$..id", "$.a[x]"):
        with pytest.raises(TextwireError, match=r"Settings\.x"):
            check_json_path(bad, "Settings.x")


def test_masked_keeps_only_the_last_four_characters() -> None:
    """Of a long secret; nothing of a short one (issue 11 §4 b)."""
    assert masked({"token": "abcdef1234567890abcd", "headers": {"X-Key": "k-9876"}}) == {
        "token": "••••abcd",
        "headers": {"X-Key": "••••"},
    }
