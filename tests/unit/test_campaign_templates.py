"""textwire.campaigns.templates: sandboxed personalisation with defaults, its refusals, error
positions, language and A/B variant choice (SPEC F-CAMP-1)."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textwire.campaigns.templates import (
    MAX_LOOP_STEPS,
    MAX_OUTPUT,
    MAX_SOURCE,
    TemplateError,
    Variant,
    compile_body,
    language_tag,
    pick_language,
    pick_variant,
    render,
)


def rendered(source: str, fields: dict[str, object] | None = None, **contact: object) -> str:
    return render(compile_body(source), fields or {}, contact)  # type: ignore[arg-type]


def refusal(source: str, fields: dict[str, object] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        rendered(source, fields)
    return caught.value


# --- personalisation ------------------------------------------------------------------------


def test_default_fills_a_missing_or_null_field() -> None:
    body = 'Hi {{ first_name | default("there") }}!'
    assert rendered(body, {"first_name": "Ann"}) == "Hi Ann!"
    assert rendered(body, {}) == "Hi there!"
    assert rendered(body, {"first_name": None}) == "Hi there!"


def test_a_missing_field_without_default_prints_nothing() -> None:
    assert rendered("Hi {{ first_name }}.", {}) == "Hi ."


def test_builtins_filters_conditions_and_loops() -> None:
    body = (
        "{{ contact.phone }} {{ name | upper | truncate(5, true, '.', 0) }}"
        "{% if points > 10 %} VIP{% else %} std{% endif %}"
        "{% for i in range(3) %}{{ loop.index }}{% endfor %}"
    )
    out = rendered(body, {"name": "alexandra", "points": 12}, phone="+12025550123")
    assert out == "+12025550123 ALEX. VIP123"


def test_autoescape_is_off() -> None:
    assert rendered("{{ x }}", {"x": "<b>&'"}) == "<b>&'"


def test_variables_are_the_fields_read_not_loop_targets_or_builtins() -> None:
    body = "{{ a }}{{ contact.sid }}{% for i in range(2) %}{{ i }}{{ b }}{% endfor %}"
    assert compile_body(body).variables == {"a", "b"}
    assert compile_body("{{ i }}{% for i in range(2) %}{{ i }}{% endfor %}").variables == {"i"}


def test_an_undeclared_field_is_refused_with_its_position() -> None:
    compile_body("Hi {{ first_name }}", declared=["first_name"])
    with pytest.raises(TemplateError) as caught:
        compile_body("Hi {{ first_name }}\nCode {{ zip }}", declared=["first_name"])
    assert "'zip' is not a contact field" in caught.value.rule
    assert (caught.value.line, caught.value.column) == (2, 9)


# --- syntax errors carry a line and a column ------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("Hello\n  {{ x +  }}", 2, 11),
        ("ab {{ x }", 1, 4),
        ("{% if x %}yes", 1, 14),
        ("one\ntwo {% endif %}", 2, 8),
    ],
)
def test_a_syntax_error_names_line_and_column(source: str, line: int, column: int) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_body(source)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"at line {line}, column {column}" in str(caught.value)


# --- the sandbox ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__class__ }}",
        "{{ x['__class__'] }}",
        "{{ x.upper() }}",
        "{{ x.upper }}",
        "{{ '{0.__class__}'.format(x) }}",
        "{{ contact.items }}",
        "{{ self }}",
        "{{ lipsum(1) }}",
        "{{ cycler(1).next() }}",
        "{% set y = x %}{{ y }}",
        "{% macro m() %}{% endmacro %}",
        "{% include 'other' %}",
        "{% import 'other' as o %}",
        "{% extends 'base' %}",
        "{% for c in x %}{{ c }}{% endfor %}",
        "{{ x | attr('__class__') }}",
        "{{ x | center(100000) }}",
        "{{ x is nosuchtest }}",
        "{{ 9 ** 9 ** 9 }}",
        "{{ '%0999999d' % 1 }}",
        "{{ 'a' * 100000 }}",
        "{{ x | replace('', 'abcdefgh') }}",
        "{% for i in range(1000) %}{% endfor %}",
        "{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}",
        "{% for i in range(100) %}" + "x" * 20 + "{% endfor %}",
    ],
)
def test_escapes_and_explosions_are_refused(source: str) -> None:
    refusal(source, {"x": "a" * 1000})


def test_a_body_longer_than_the_source_limit_is_refused() -> None:
    with pytest.raises(TemplateError):
        compile_body("x" * (MAX_SOURCE + 1))


def test_output_is_capped_while_it_is_produced() -> None:
    error = refusal("{% for i in range(99) %}" + "y" * 40 + "{% endfor %}")
    assert str(MAX_OUTPUT) in error.rule
    assert len(rendered("z" * MAX_OUTPUT)) == MAX_OUTPUT


def test_loop_steps_are_counted_across_the_whole_rendering() -> None:
    loops = "{% for i in range(100) %}{% endfor %}" * (MAX_LOOP_STEPS // 100)
    rendered(loops)
    assert "steps" in refusal(loops + "{% for i in range(1) %}{% endfor %}").rule


def test_a_runtime_error_names_its_line() -> None:
    error = refusal("fine\n{{ 1 // n }}", {"n": 0})
    assert error.line == 2


TEMPLATE_TEXT = st.lists(
    st.sampled_from(
        [
            *"{}%#()[]|.'\"~+*-/ _\n=<>!,:",
            *("{{", "}}", "{%", "%}", "x", "a", "1", "0", "if ", "for ", "in ", "range("),
            *("endif", "endfor", "else", "default", "upper", "__", "contact", "set ", "loop"),
            *("not ", "and ", "is ", "defined", "foo", "é", "\U0001f600"),
        ]
    ),
    max_size=60,
).map("".join) | st.text(max_size=200)


@settings(max_examples=600, deadline=None)
@given(TEMPLATE_TEXT, st.dictionaries(st.sampled_from(["x", "a", "n"]), st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=50)
)))  # fmt: skip
def test_arbitrary_text_raises_nothing_but_template_error(
    source: str, fields: dict[str, object]
) -> None:
    try:
        compiled = compile_body(source)
    except TemplateError as exc:
        assert exc.line is None or exc.line >= 1
        return
    try:
        out = render(compiled, fields, {"phone": "+12025550123"})  # type: ignore[arg-type]
    except TemplateError:
        return
    assert len(out) <= MAX_OUTPUT


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300).filter(lambda s: not any(d in s for d in ("{{", "{%", "{#"))))
def test_text_without_tags_renders_as_itself_but_line_breaks(text: str) -> None:
    # Jinja writes every line break as \n (docs/campaigns.md says so).
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert rendered(text) == expected


# --- language and A/B variants --------------------------------------------------------------


def test_language_falls_back_by_primary_subtag_then_default() -> None:
    bodies = {"es": "Hola", "pt": "Olá", "pt-BR": "Oi"}
    assert pick_language(bodies, "pt-br") == "pt-BR"
    assert pick_language(bodies, "pt-PT") == "pt"
    assert pick_language(bodies, "es-419") == "es"
    assert pick_language(bodies, "fr") is None
    assert pick_language(bodies, None) is None
    assert pick_language(bodies, "not a tag") is None


def test_language_tags_are_canonicalised() -> None:
    assert language_tag("PT-br") == "pt-BR"
    assert language_tag("zh-hant-tw") == "zh-Hant-TW"
    assert language_tag("es-419") == "es-419"
    assert language_tag("e") is None
    assert language_tag("en_US") is None


def test_variants_split_by_weight_and_stick_to_a_key() -> None:
    variants = [Variant("A", 3, "a"), Variant("B", 1, "b")]
    counts = Counter(pick_variant(variants, f"CA1:CT{i}").name for i in range(4000))
    assert 2800 < counts["A"] < 3200 and counts["A"] + counts["B"] == 4000
    assert {pick_variant(variants, "CA1:CT7").name for _ in range(5)} == {
        pick_variant(variants, "CA1:CT7").name
    }


@given(st.lists(st.integers(1, 1000), min_size=2, max_size=5), st.text(max_size=40))
def test_a_variant_is_always_one_of_them(weights: list[int], key: str) -> None:
    variants = [Variant(str(i), w, str(i)) for i, w in enumerate(weights)]
    assert pick_variant(variants, key) in variants
