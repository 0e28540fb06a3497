"""Link domains, certificates, Location headers and mode resolution (F-LINK-3/4/10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.links_support import make_cert, traditional_rsa_key

from textwire.config import Settings
from textwire.errors import TextwireError
from textwire.links.certs import (
    DomainInputError,
    check_certificate,
    covers,
    normalize_domain,
    normalize_prefix,
)
from textwire.links.redirect import ascii_location
from textwire.links.shortener import default_base_url, resolve_mode, with_prefix

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("links.acme.com", "links.acme.com"),
        ("  LINKS.Acme.COM. ", "links.acme.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("a-b.c-d.example", "a-b.c-d.example"),
    ],
)
def test_domain_names_are_normalised(raw: str, name: str) -> None:
    assert normalize_domain(raw) == name


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "acme",
        "https://acme.com",
        "acme.com/x",
        "acme.com:8443",
        "a b.com",
        "a..b.com",
        "-a.com",
        "a-.com",
        "10.0.0.1",
        "acme.c0m",
        "user@acme.com",
        "x" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
    ],
)
def test_bad_domain_names_are_refused(raw: str) -> None:
    with pytest.raises(DomainInputError) as err:
        normalize_domain(raw)
    assert err.value.field == "DomainName"


def test_prefix_is_one_word() -> None:
    assert normalize_prefix("Promo") == "promo"
    assert normalize_prefix("") is None
    for bad in ("two words", "a.b", "-x", "x" * 40):
        with pytest.raises(DomainInputError):
            normalize_prefix(bad)


def test_wildcards_cover_one_label() -> None:
    assert covers(("*.acme.com",), "links.acme.com")
    assert not covers(("*.acme.com",), "a.links.acme.com")
    assert not covers(("*.acme.com",), "acme.com")
    assert covers(("Links.Acme.com",), "links.acme.com")


def test_a_matching_certificate_is_accepted_with_its_expiry() -> None:
    cert, key, _ = make_cert(["links.acme.com", "www.acme.com"], days=30)
    checked = check_certificate(cert + key, None, "links.acme.com", NOW)
    assert checked.names == ("links.acme.com", "www.acme.com")
    assert checked.not_after - NOW < timedelta(days=31)
    assert "PRIVATE KEY" in checked.key_pem and "CERTIFICATE" in checked.cert_pem


def test_certificate_errors_name_the_problem() -> None:
    cert, key, _ = make_cert(["links.acme.com"])
    _, other_key, _ = make_cert(["links.acme.com"])
    rsa_pem, rsa_key = traditional_rsa_key()
    rsa_cert, _, _ = make_cert(["links.acme.com"], key=rsa_key)
    future, future_key, _ = make_cert(["links.acme.com"], start_days_ago=-2)
    cases = [
        (cert + other_key, "does not match"),
        (cert, "one PEM private key"),
        (key, "no PEM certificate"),
        (rsa_cert + rsa_pem, "PKCS#8"),
        (future + future_key, "not valid before"),
    ]
    for pem, message in cases:
        with pytest.raises(DomainInputError) as err:
            check_certificate(pem, None, "links.acme.com", NOW)
        assert message in err.value.rule
    with pytest.raises(DomainInputError) as err:
        check_certificate(cert + key, None, "other.acme.com", NOW)
    assert "not other.acme.com" in err.value.rule
    with pytest.raises(DomainInputError) as err:
        check_certificate(cert + key, None, "links.acme.com", NOW + timedelta(days=400))
    assert "expired" in err.value.rule
    with pytest.raises(DomainInputError) as err:
        check_certificate(cert, "not a key", "links.acme.com", NOW)
    assert err.value.field == "PrivateKey"


def test_location_headers_are_ascii() -> None:
    assert ascii_location("https://acme.com/a?b=c#d") == b"https://acme.com/a?b=c#d"
    assert ascii_location("https://bücher.de/straße?q=ü") == (
        b"https://xn--bcher-kva.de/stra%C3%9Fe?q=%C3%BC"
    )
    assert ascii_location("https://пример.рф:8443/") == b"https://xn--e1afmkfd.xn--p1ai:8443/"


def test_modes_resolve_message_over_service() -> None:
    assert resolve_mode(None, None, "MG1", "marked") == "marked"
    assert resolve_mode(None, "last", "MG1", "marked") == "last"
    assert resolve_mode(True, None, "MG1", "off") == "all"
    assert resolve_mode(True, None, "MG1", "last") == "last"
    assert resolve_mode(False, None, "MG1", "all") == "off"
    assert resolve_mode(None, None, None, "off") == "off"
    with pytest.raises(TextwireError) as err:
        resolve_mode(True, None, None, "off")
    assert "MessagingServiceSid" in err.value.detail
    with pytest.raises(TextwireError):
        resolve_mode(None, "sometimes", "MG1", "off")


def test_default_link_domain_and_prefix() -> None:
    assert default_base_url(Settings(redirect_port=8081)) == "http://127.0.0.1:8081"
    assert default_base_url(Settings(link_base_url="https://tw.to/")) == "https://tw.to"
    assert with_prefix("https://tw.to", "promo") == "https://promo.tw.to"
    assert with_prefix("https://tw.to", None) == "https://tw.to"
