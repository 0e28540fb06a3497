"""Tests for textwire.consent.keywords: STOP/START/HELP/custom keywords (F-CONSENT-5)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.consent.keywords import (
    DEFAULT_HELP_KEYWORDS,
    DEFAULT_HELP_REPLY,
    DEFAULT_OPT_IN_KEYWORDS,
    DEFAULT_OPT_IN_REPLY,
    DEFAULT_OPT_OUT_KEYWORDS,
    DEFAULT_OPT_OUT_REPLY,
    CustomKeyword,
    KeywordConfig,
    KeywordConfigError,
    KeywordGroup,
    KeywordMatch,
    KeywordOverride,
    fold,
    keyword_key,
    match,
    opt_out_type_of,
)

DEFAULT = KeywordConfig()
ALL_DEFAULT_KEYWORDS = [
    *((k, "STOP") for k in DEFAULT_OPT_OUT_KEYWORDS),
    *((k, "START") for k in DEFAULT_OPT_IN_KEYWORDS),
    *((k, "HELP") for k in DEFAULT_HELP_KEYWORDS),
]

ES_STOP = "Te has dado de baja. Responde START para volver."
ES_HELP = "Responde STOP para darte de baja."
FR_STOP = "Vous êtes désabonné."
FR_HELP = "Répondez STOP pour vous désabonner."
FRANCE_STOP = "Désabonnement confirmé (FR)."
SPANISH = KeywordOverride(
    opt_out=KeywordGroup(("PARAR", "BAJA"), ES_STOP),
    help=KeywordGroup(("AYUDA",), ES_HELP),
    custom=(CustomKeyword("CONTACTO", "Llámanos al 900 000 000."),),
)
FRENCH = KeywordOverride(
    opt_out=KeywordGroup(("ARRET",), FR_STOP),
    help=KeywordGroup((), FR_HELP),
)
FRANCE = KeywordOverride(
    opt_out=KeywordGroup(("STOPPER",), FRANCE_STOP),
    custom=(CustomKeyword("CONTACT", "Appelez le 01 00 00 00 00."),),
)
CONFIG = KeywordConfig(
    custom=(CustomKeyword("CONTACT", "Call us on +1 202 555 0123."),),
    languages={"es": SPANISH, "fr": FRENCH},
    countries={"FR": FRANCE},
)


# --- defaults (twilio-facts §5) ------------------------------------------------------------


@pytest.mark.parametrize(("keyword", "kind"), ALL_DEFAULT_KEYWORDS)
def test_every_default_keyword_matches_with_its_type(keyword: str, kind: str) -> None:
    """F-CONSENT-5: opt-out, opt-in and help keywords, each with its OptOutType."""
    found = match(keyword, DEFAULT)
    assert found is not None
    assert (found.type, found.keyword, found.opt_out_type) == (kind, keyword, kind)


@pytest.mark.parametrize(
    ("body", "reply"),
    [
        ("stop", DEFAULT_OPT_OUT_REPLY),
        ("start", DEFAULT_OPT_IN_REPLY),
        ("help", DEFAULT_HELP_REPLY),
    ],
)
def test_default_replies(body: str, reply: str) -> None:
    found = match(body, DEFAULT)
    assert found is not None and found.reply == reply
    assert (found.language, found.country) == (None, None)


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("  Stop \n", "STOP"),
        ("Stop!", "STOP"),
        ("STOP.", "STOP"),
        ("¡AYUDA!", None),  # Spanish only exists in CONFIG, not the defaults
        ("ＳＴＯＰ", "STOP"),  # full-width
        ("S\u200bTOP", "STOP"),  # zero-width space inside
        ("\ufeffSTOP", "STOP"),
        ("ЅТОР", "STOP"),  # Cyrillic dze, te, o, er
        ("ΗΕLΡ", "HELP"),  # Greek eta, epsilon, rho
        ("Ⓢⓣⓞⓟ", "STOP"),  # circled letters
        ("stöp", "STOP"),  # a stray accent
        ("Stop please", None),
        ("please stop", None),
        ("STOP ALL", None),
        ("STOPP", None),
        ("", None),
        ("   ", None),
        ("!!!", None),
        ("S T O P", None),
    ],
)
def test_whole_body_case_insensitive_matching(body: str, keyword: str | None) -> None:
    """F-CONSENT-5: the whole trimmed body, case-insensitive; look-alikes folded."""
    found = match(body, DEFAULT)
    assert (found.keyword if found else None) == keyword


# --- properties ----------------------------------------------------------------------------

default_keywords = st.sampled_from([k for k, _ in ALL_DEFAULT_KEYWORDS])
spaces = st.text(alphabet=" \t\r\n\u00a0\u2003\u3000", max_size=4)


@st.composite
def case_variants(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.lower() if flip else c.upper() for c, flip in zip(word, flips, strict=True))


@given(default_keywords.flatmap(lambda k: st.tuples(st.just(k), case_variants(k))), spaces, spaces)
def test_any_case_and_whitespace_variant_matches(
    keyword_and_variant: tuple[str, str], before: str, after: str
) -> None:
    keyword, variant = keyword_and_variant
    found = match(before + variant + after, DEFAULT)
    assert found is not None and found.keyword == keyword


words = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=8)


@given(default_keywords, words, st.booleans())
def test_a_keyword_with_another_word_never_matches(keyword: str, word: str, first: bool) -> None:
    body = f"{word} {keyword}" if first else f"{keyword} {word}"
    assert match(body, CONFIG) is None


@given(st.text(max_size=30))
def test_match_never_raises_and_only_returns_configured_keywords(body: str) -> None:
    found = match(body, CONFIG, country="FR", language="es")
    if found is not None:
        assert keyword_key(body) == keyword_key(found.keyword)


# --- custom keywords and overrides ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kwargs", "expected"),
    [
        # custom keyword with its own reply; no consent change (no OptOutType)
        ("contact", {}, ("CUSTOM", "CONTACT", "Call us on +1 202 555 0123.", None, None)),
        # a language's keyword matches for everyone and answers in that language
        ("ayuda", {}, ("HELP", "AYUDA", ES_HELP, "es", None)),
        ("Parar", {}, ("STOP", "PARAR", ES_STOP, "es", None)),
        ("arrêt", {}, ("STOP", "ARRET", FR_STOP, "fr", None)),
        ("contacto", {}, ("CUSTOM", "CONTACTO", "Llámanos al 900 000 000.", "es", None)),
        # the language hint localises language-neutral keywords
        ("STOP", {"language": "es"}, ("STOP", "STOP", ES_STOP, "es", None)),
        ("STOP", {"language": "es-MX"}, ("STOP", "STOP", ES_STOP, "es", None)),
        ("HELP", {"language": "fr"}, ("HELP", "HELP", FR_HELP, "fr", None)),
        ("START", {"language": "fr"}, ("START", "START", DEFAULT_OPT_IN_REPLY, None, None)),
        ("STOP", {"language": "de"}, ("STOP", "STOP", DEFAULT_OPT_OUT_REPLY, None, None)),
        # a country override wins, and its keywords match only for that country
        ("stop", {"country": "fr"}, ("STOP", "STOP", FRANCE_STOP, None, "FR")),
        ("stopper", {"country": "FR"}, ("STOP", "STOPPER", FRANCE_STOP, None, "FR")),
        (
            "contact",
            {"country": "FR"},
            ("CUSTOM", "CONTACT", "Appelez le 01 00 00 00 00.", None, "FR"),
        ),
        ("ayuda", {"country": "FR"}, ("HELP", "AYUDA", ES_HELP, "es", None)),
        ("stop", {"country": "US", "language": "fr"}, ("STOP", "STOP", FR_STOP, "fr", None)),
    ],
)
def test_custom_and_override_replies(
    body: str, kwargs: dict[str, str], expected: tuple[str, str, str, str | None, str | None]
) -> None:
    """F-CONSENT-5: custom keywords, per-language and per-country overrides."""
    found = match(body, CONFIG, **kwargs)
    assert found is not None
    assert (found.type, found.keyword, found.reply, found.language, found.country) == expected


def test_country_keywords_do_not_match_elsewhere() -> None:
    assert match("stopper", CONFIG) is None
    assert match("stopper", CONFIG, country="US") is None
    assert match("stopper", CONFIG, language="fr") is None


def test_custom_keyword_has_no_opt_out_type() -> None:
    found = match("CONTACT", CONFIG)
    assert found is not None and found.opt_out_type is None
    assert opt_out_type_of("CUSTOM") is None
    assert [opt_out_type_of(t) for t in ("STOP", "START", "HELP")] == ["STOP", "START", "HELP"]


def test_keyword_match_is_plain_data() -> None:
    found = match("info", DEFAULT)
    assert found == KeywordMatch("HELP", "INFO", DEFAULT_HELP_REPLY)


def test_editing_replies_and_removing_optional_keywords() -> None:
    """Replies are editable; keywords other than STOP, START and HELP can be dropped."""
    config = KeywordConfig(
        opt_out=KeywordGroup(("STOP", "ENOUGH"), "Bye."),
        opt_in=KeywordGroup(("START",), "Welcome back."),
        help=KeywordGroup(["HELP"], "Call us."),  # type: ignore[arg-type]  # lists are accepted
    )
    assert match("cancel", config) is None
    assert match("yes", config) is None
    enough = match("enough", config)
    assert enough is not None and (enough.type, enough.reply) == ("STOP", "Bye.")
    assert config.help.keywords == ("HELP",)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"opt_out": KeywordGroup(("CANCEL",), "x")}, "opt_out.keywords", "STOP is missing"),
        ({"opt_in": KeywordGroup(("YES",), "x")}, "opt_in.keywords", "START is missing"),
        ({"help": KeywordGroup((), "x")}, "help.keywords", "HELP is missing"),
        ({"opt_out": KeywordGroup(("STOP",), "  ")}, "opt_out.reply", "non-empty"),
        ({"help": KeywordGroup(("HELP",), "x" * 1601)}, "help.reply", "longer than 1600"),
        ({"opt_out": KeywordGroup(("STOP", "STOP NOW"), "x")}, "opt_out.keywords", "one word"),
        ({"opt_out": KeywordGroup(("STOP", "QUIT!"), "x")}, "opt_out.keywords", "one word"),
        ({"opt_out": KeywordGroup(("STOP", "K" * 65), "x")}, "opt_out.keywords", "longer than 64"),
        ({"opt_out": KeywordGroup(("STOP", "stop"), "x")}, "opt_out.keywords", "listed twice"),
        ({"opt_in": KeywordGroup(("START", "END"), "x")}, "opt_in.keywords", "listed twice"),
        ({"custom": (CustomKeyword("HELP", "x"),)}, "custom[0].keyword", "listed twice"),
        ({"custom": (CustomKeyword("OK", ""),)}, "custom[0].reply", "non-empty"),
        (
            {"languages": {"es": KeywordOverride(help=KeywordGroup(("STOP",), "x"))}},
            "languages.es",
            "'STOP' is STOP in the global keywords and cannot be HELP here",
        ),
        (
            {"countries": {"MX": KeywordOverride(custom=(CustomKeyword("START", "x"),))}},
            "countries.MX",
            "cannot be CUSTOM",
        ),
        (
            {
                "languages": {
                    "es": KeywordOverride(help=KeywordGroup(("AYUDA",), "x")),
                    "pt": KeywordOverride(opt_out=KeywordGroup(("AYUDA",), "x")),
                }
            },
            "languages.pt",
            "is HELP in languages.es",
        ),
        ({"languages": {"spanish!": SPANISH}}, "languages.spanish!", "not a language tag"),
        ({"countries": {"FRA": FRANCE}}, "countries.FRA", "not an ISO 3166 country"),
        ({"countries": {"fr": FRANCE, "FR": FRANCE}}, "countries.FR", "configured twice"),
    ],
)
def test_invalid_configs_name_the_rule(changes: dict[str, object], field: str, rule: str) -> None:
    """F-CONSENT-5: STOP, START and HELP cannot be removed; keywords stay unambiguous."""
    with pytest.raises(KeywordConfigError) as caught:
        replace(DEFAULT, **changes)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert rule in caught.value.rule
    assert isinstance(caught.value, ValueError)


def test_override_keys_are_normalised() -> None:
    config = KeywordConfig(languages={"PT_br": SPANISH}, countries={" mx ": FRANCE})
    assert list(config.languages) == ["pt-br"]
    assert list(config.countries) == ["MX"]
    found = match("ayuda", config, language="pt-BR")
    assert found is not None and found.language == "pt-br"


def test_fold_is_idempotent_on_keywords() -> None:
    for keyword, _ in ALL_DEFAULT_KEYWORDS:
        assert fold(fold(keyword)) == fold(keyword) == keyword.lower()


# --- serialisation -------------------------------------------------------------------------


def test_round_trip_through_json() -> None:
    """Stored per service as JSON; reading it back gives an equal config that matches alike."""
    stored = json.loads(json.dumps(CONFIG.to_dict()))
    again = KeywordConfig.from_dict(stored)
    assert again == CONFIG
    assert again.to_dict() == CONFIG.to_dict()
    assert match("stopper", again, country="FR") == match("stopper", CONFIG, country="FR")


def test_empty_dict_is_the_default_config() -> None:
    assert KeywordConfig.from_dict({}) == DEFAULT
    assert DEFAULT.to_dict()["opt_out"] == {
        "keywords": list(DEFAULT_OPT_OUT_KEYWORDS),
        "reply": DEFAULT_OPT_OUT_REPLY,
    }


@pytest.mark.parametrize(
    ("data", "field", "rule"),
    [
        ([], "config", "must be an object"),
        ({"opt_outs": {}}, "config", "unknown key(s): opt_outs"),
        ({"opt_out": {"keywords": "STOP", "reply": "x"}}, "opt_out.keywords", "must be a list"),
        ({"opt_out": {"keywords": ["STOP", 1], "reply": "x"}}, "opt_out.keywords[1]", "string"),
        ({"opt_out": {"keywords": ["STOP"]}}, "opt_out.reply", "must be a string"),
        ({"opt_out": {"keywords": ["CANCEL"], "reply": "x"}}, "opt_out.keywords", "STOP is"),
        ({"custom": [{"keyword": "A"}]}, "custom[0].reply", "must be a string"),
        ({"custom": [{"keyword": "A", "reply": "x", "x": 1}]}, "custom[0]", "unknown key"),
        ({"custom": {}}, "custom", "must be a list"),
        ({"languages": []}, "languages", "must be an object"),
        ({"languages": {"es": {"help": []}}}, "languages.es.help", "must be an object"),
        ({"countries": {"FR": {"stop": {}}}}, "countries.FR", "unknown key(s): stop"),
    ],
)
def test_from_dict_errors_name_the_path(data: object, field: str, rule: str) -> None:
    with pytest.raises(KeywordConfigError) as caught:
        KeywordConfig.from_dict(data)
    assert caught.value.field == field
    assert rule in caught.value.rule


override_groups = st.one_of(
    st.none(),
    st.builds(
        KeywordGroup,
        st.lists(st.sampled_from(["ALTO", "BASTA", "AIUTO", "HILFE"]), unique=True).map(tuple),
        st.text(min_size=1, max_size=20).filter(str.strip),
    ),
)


@given(override_groups, st.text(min_size=1, max_size=30).filter(str.strip))
def test_round_trip_property(group: KeywordGroup | None, reply: str) -> None:
    config = KeywordConfig(
        opt_out=KeywordGroup(("STOP",), reply), languages={"it": KeywordOverride(help=group)}
    )
    assert KeywordConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
