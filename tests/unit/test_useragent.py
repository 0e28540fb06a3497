"""Tests for textwire.links.useragent: browser, OS, device type and bots (F-LINK-7)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from textwire.links.useragent import (
    BOT_RULES,
    DEVICE_TYPES,
    MAX_USER_AGENT_LENGTH,
    UNKNOWN,
    ClientInfo,
    DeviceType,
    UserAgentClassifier,
)

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
KINDLE_SILK = (
    "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Silk/120.3.1 like Chrome/120.0.0.0 Safari/537.36"
)
LENOVO_TABLET = (  # no "Tablet" in the string and no tablet brand: "Android" minus "Mobile"
    "Mozilla/5.0 (Linux; Android 12; Lenovo TB-J606F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
PIXEL_TABLET = (  # says "Mobile", but the device name says tablet
    "Mozilla/5.0 (Linux; Android 13; Pixel Tablet) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
FIREFOX_ANDROID_PHONE = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
WINDOWS_EDGE = WINDOWS_CHROME + " Edg/124.0.0.0"
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
CHROMEOS = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FACEBOOK_IN_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108;FBDV/iPhone14,2]"
)
CUBOT_PHONE = (  # a phone brand that ends in "bot": a person, not a crawler
    "Mozilla/5.0 (Linux; Android 12; CUBOT X50) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)

PEOPLE = [
    # user agent, browser, os, device type
    (IPHONE_SAFARI, "Mobile Safari", "iOS", "mobile"),
    (ANDROID_CHROME, "Chrome Mobile", "Android", "mobile"),
    (CUBOT_PHONE, "Chrome Mobile", "Android", "mobile"),
    (FACEBOOK_IN_APP, "Facebook", "iOS", "mobile"),
    (IPAD_SAFARI, "Mobile Safari", "iOS", "tablet"),
    (ANDROID_TABLET, "Chrome", "Android", "tablet"),
    (KINDLE_SILK, "Amazon Silk", "Android", "tablet"),
    (LENOVO_TABLET, "Chrome", "Android", "tablet"),
    (PIXEL_TABLET, "Chrome Mobile", "Android", "tablet"),
    (FIREFOX_ANDROID_TABLET, "Firefox Mobile", "Android", "tablet"),
    (FIREFOX_ANDROID_PHONE, "Firefox Mobile", "Android", "mobile"),
    (WINDOWS_CHROME, "Chrome", "Windows", "desktop"),
    (WINDOWS_EDGE, "Edge", "Windows", "desktop"),
    (MAC_SAFARI, "Safari", "Mac OS X", "desktop"),
    (LINUX_FIREFOX, "Firefox", "Linux", "desktop"),
    (CHROMEOS, "Chrome", "Chrome OS", "desktop"),
    ("something odd/1.0", UNKNOWN, UNKNOWN, "desktop"),
]


@pytest.fixture(scope="module")
def classifier() -> UserAgentClassifier:
    return UserAgentClassifier()


@pytest.mark.parametrize(("user_agent", "browser", "os", "device_type"), PEOPLE)
def test_people(
    classifier: UserAgentClassifier,
    user_agent: str,
    browser: str,
    os: str,
    device_type: DeviceType,
) -> None:
    """F-LINK-7: a person's click gets browser, OS and mobile/tablet/desktop."""
    assert classifier.classify(user_agent) == ClientInfo(browser, os, device_type, False, None)


BOTS = [
    # user agent, bot name
    ("WhatsApp/2.23.20.0 A", "WhatsApp"),
    ("WhatsApp/2.24.6.77 i", "WhatsApp"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Facebook"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slack"),
    ("Twitterbot/1.0", "Twitter"),
    ("TelegramBot (like TwitterBot)", "Telegram"),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Discord"),
    (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
        "skype-url-preview@microsoft.com",
        "Skype",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko)"
        " Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "iMessage",
    ),
    (MAC_SAFARI + " (Applebot/0.1; +http://www.apple.com/go/applebot)", "Apple"),
    (
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "LinkedIn",
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Google"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "Bing"),
    ("curl/8.5.0", "curl"),
    ("Wget/1.21.4", "Wget"),
    ("python-requests/2.31.0", "python-requests"),
    ("python-httpx/0.27.0", "httpx"),
    ("Python-urllib/3.11", "urllib"),
    ("Go-http-client/1.1", "Go"),
    ("okhttp/4.12.0", "Java"),
    ("Dalvik/2.1.0 (Linux; U; Android 13; SM-S918B Build/TP1A.220624.014)", "Dalvik"),
    (WINDOWS_CHROME.replace("Chrome/", "HeadlessChrome/"), "HeadlessChrome"),
    # Not in BOT_RULES: ua-parser's "Spider" device catches it.
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot"),
]


@pytest.mark.parametrize(("user_agent", "bot"), BOTS)
def test_bots_and_preview_fetchers(
    classifier: UserAgentClassifier, user_agent: str, bot: str
) -> None:
    """F-LINK-7 / issue 4 item 5: link-preview fetchers, crawlers and scripts are bots."""
    info = classifier.classify(user_agent)
    assert (info.is_bot, info.device_type, info.bot) == (True, "bot", bot)


def test_every_bot_rule_is_exercised() -> None:
    """Each named rule has a table case, so a broken pattern cannot hide."""
    tested = {bot for _, bot in BOTS}
    untested = {name for name, _ in BOT_RULES} - tested
    assert untested <= {
        "Pinterest", "Reddit", "Embedly", "Yandex", "DuckDuckGo", "Baidu", "aiohttp",
        "libwww-perl", "Node", "PhantomJS",
    }  # fmt: skip


@pytest.mark.parametrize("method", ["HEAD", "head", "Head"])
def test_head_requests_are_bots(classifier: UserAgentClassifier, method: str) -> None:
    """Issue 4 item 5: HEAD requests are probes, even with a phone's User-Agent."""
    info = classifier.classify(IPHONE_SAFARI, method)
    assert info == ClientInfo("Mobile Safari", "iOS", "bot", True, "HEAD request")


def test_head_keeps_the_bot_name(classifier: UserAgentClassifier) -> None:
    """A known bot probing with HEAD is still reported under its own name."""
    assert classifier.classify("Twitterbot/1.0", "HEAD").bot == "Twitter"


@pytest.mark.parametrize("method", ["GET", "get", "POST"])
def test_other_methods_are_judged_by_user_agent(
    classifier: UserAgentClassifier, method: str
) -> None:
    """F-LINK-7: a GET from a phone is a person."""
    assert not classifier.classify(IPHONE_SAFARI, method).is_bot


@pytest.mark.parametrize("user_agent", [None, "", "   ", "\t"])
def test_missing_user_agent_is_a_bot(
    classifier: UserAgentClassifier, user_agent: str | None
) -> None:
    """Every browser sends a User-Agent; a request without one is a script."""
    assert classifier.classify(user_agent) == ClientInfo(
        UNKNOWN, UNKNOWN, "bot", True, "no user agent"
    )


def test_results_are_cached() -> None:
    """The redirect path is hot: a repeated User-Agent is answered from the LRU."""
    classifier = UserAgentClassifier(cache_size=2)
    first = classifier.classify(ANDROID_CHROME)
    assert classifier.classify(ANDROID_CHROME) is first
    classifier.classify(IPHONE_SAFARI)
    classifier.classify(MAC_SAFARI)  # evicts ANDROID_CHROME
    again = classifier.classify(ANDROID_CHROME)
    assert again == first
    assert again is not first


def test_classifiers_do_not_share_a_cache() -> None:
    """No module-level state: each classifier owns its cache."""
    one, two = UserAgentClassifier(), UserAgentClassifier()
    assert one.classify(MAC_SAFARI) is not two.classify(MAC_SAFARI)


def test_long_user_agents_are_truncated(classifier: UserAgentClassifier) -> None:
    """Only the first MAX_USER_AGENT_LENGTH characters are parsed and cached."""
    padding = "x" * MAX_USER_AGENT_LENGTH
    first = classifier.classify(IPHONE_SAFARI + padding + "a")
    assert classifier.classify(IPHONE_SAFARI + padding + "b") is first
    assert first.device_type == "mobile"


def test_ua_parser_is_imported_lazily() -> None:
    """ua-parser (and yaml) load on first classification, not on import."""
    code = (
        "import sys\n"
        "from textwire.links.useragent import UserAgentClassifier\n"
        "c = UserAgentClassifier()\n"
        "assert 'ua_parser' not in sys.modules, 'imported eagerly'\n"
        "c.warm_up()\n"
        "assert 'ua_parser' in sys.modules, 'warm_up did not load it'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@given(st.text(), st.sampled_from(["GET", "HEAD", "POST", "", "get"]))
def test_never_raises(user_agent: str, method: str) -> None:
    """Bad input: any header value classifies, with a consistent bot flag."""
    info = UserAgentClassifier(cache_size=0).classify(user_agent, method)
    assert info.device_type in DEVICE_TYPES
    assert info.is_bot == (info.device_type == "bot") == (info.bot is not None)
    assert info.browser and info.os
