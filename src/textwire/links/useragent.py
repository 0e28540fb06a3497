"""Who followed a short link: browser, OS, device type, and whether it was a bot (F-LINK-7).

Pure: no I/O. ``ua-parser`` names the browser and OS families; textwire's own rules on top
decide the device type and spot bots, above all the link-preview fetchers of messaging
apps, which open a link the moment it is delivered and would otherwise count as clicks
(issue 4 item 5).

A request is a bot when any of these holds, checked in this order:

* the method is ``HEAD`` (browsers navigate with ``GET``; unfurlers probe with ``HEAD``);
* the User-Agent is missing or blank (every real browser sends one);
* it matches one of ``BOT_RULES`` (WhatsApp, facebookexternalhit, Slackbot, Twitterbot,
  TelegramBot, Discordbot, SkypeUriPreview, Applebot, LinkedInBot, Googlebot, bingbot,
  generic HTTP clients such as curl, Wget, python-requests, httpx …);
* ``ua-parser`` calls the device a ``Spider`` (its catch-all for crawlers).

iMessage previews send a desktop Safari string ending ``facebookexternalhit/1.1 Facebot
Twitterbot/1.0``; that exact tail is named "iMessage".

``ua-parser`` costs about a millisecond per string and ~0.1 s to import, so the classifier
imports it on first use and keeps an LRU of results keyed on the User-Agent string.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from ua_parser import Resolver, Result

DeviceType = Literal["mobile", "tablet", "desktop", "bot"]
DEVICE_TYPES: Final[tuple[DeviceType, ...]] = ("mobile", "tablet", "desktop", "bot")

UNKNOWN: Final = "Other"
"""Browser or OS family when ``ua-parser`` does not recognise the string."""

MAX_USER_AGENT_LENGTH: Final = 512
"""Only this much of a User-Agent is parsed or cached: real ones are far shorter, and it
bounds both the regex work and the cache's memory against hostile headers."""

DEFAULT_CACHE_SIZE: Final = 4096

BOT_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        # Messaging and social link-preview fetchers ("unfurlers").
        # Most specific first: iMessage and Telegram name other bots in their strings.
        ("iMessage", r"facebookexternalhit/1\.1 facebot twitterbot/1\.0"),
        ("Telegram", r"telegrambot"),
        ("WhatsApp", r"whatsapp"),
        ("Facebook", r"facebookexternalhit|facebot|facebookcatalog"),
        ("Slack", r"slackbot|slack-imgproxy"),
        ("Twitter", r"twitterbot"),
        ("Discord", r"discordbot"),
        ("Skype", r"skypeuripreview"),
        ("Apple", r"applebot"),
        ("LinkedIn", r"linkedinbot"),
        ("Pinterest", r"pinterestbot"),
        ("Reddit", r"redditbot"),
        ("Embedly", r"embedly|iframely"),
        # Search engines.
        ("Google", r"googlebot|google-inspectiontool|googleother|adsbot-google"),
        ("Bing", r"bingbot|bingpreview|msnbot"),
        ("Yandex", r"yandex(?:bot|images)"),
        ("DuckDuckGo", r"duckduckbot"),
        ("Baidu", r"baiduspider"),
        # Generic HTTP clients and headless browsers: scripts, not people.
        ("curl", r"^curl/"),
        ("Wget", r"^wget/"),
        ("python-requests", r"python-requests"),
        ("httpx", r"python-httpx"),
        ("urllib", r"python-urllib"),
        ("aiohttp", r"aiohttp"),
        ("Go", r"go-http-client"),
        ("Java", r"^java/|apache-httpclient|okhttp"),
        ("Dalvik", r"^dalvik/"),  # Android apps' own HTTP client: a human click opens a browser
        ("libwww-perl", r"libwww-perl"),
        ("Node", r"node-fetch|^axios/|undici"),
        ("HeadlessChrome", r"headlesschrome"),
        ("PhantomJS", r"phantomjs"),
    )
)
"""``(bot name, pattern)`` pairs searched, in order, in the User-Agent string."""

_TABLET: Final = re.compile(r"ipad|tablet|kindle|silk/|playbook", re.IGNORECASE)
_MOBILE: Final = re.compile(
    r"mobile|iphone|ipod|android|windows phone|blackberry|opera mini", re.IGNORECASE
)
_ANDROID: Final = re.compile(r"android", re.IGNORECASE)
_MOBILE_WORD: Final = re.compile(r"mobile", re.IGNORECASE)
_TABLET_DEVICES: Final = frozenset({"iPad", "Kindle", "Kindle Fire"})
_TABLET_BRANDS: Final = frozenset({"Generic_Android_Tablet"})
_SPIDER: Final = "Spider"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What a click's User-Agent and method say about the client (F-LINK-7).

    ``browser`` and ``os`` are ``ua-parser`` families ("Mobile Safari", "iOS"; ``UNKNOWN``
    when not recognised). ``bot`` names the rule that marked a bot, else None.
    """

    browser: str
    os: str
    device_type: DeviceType
    is_bot: bool
    bot: str | None


class UserAgentClassifier:
    """Classifies User-Agent strings, caching results; build one and share it.

    Thread-safe: ``functools.lru_cache`` is, and a race on the lazy parser only builds it
    twice.
    """

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._resolver: Resolver | None = None
        self._cached: Callable[[str], ClientInfo] = functools.lru_cache(maxsize=cache_size)(
            self._classify_uncached
        )

    def classify(self, user_agent: str | None, method: str = "GET") -> ClientInfo:
        """Classify one request by its ``User-Agent`` header and HTTP method."""
        info = self._cached((user_agent or "")[:MAX_USER_AGENT_LENGTH])
        if method.upper() == "HEAD" and not info.is_bot:
            return ClientInfo(info.browser, info.os, "bot", True, "HEAD request")
        return info

    def warm_up(self) -> None:
        """Import and prime ``ua-parser`` now rather than on the first click."""
        self._cached(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
        )

    def _classify_uncached(self, user_agent: str) -> ClientInfo:
        if not user_agent.strip():
            return ClientInfo(UNKNOWN, UNKNOWN, "bot", True, "no user agent")
        parsed = self._parse(user_agent)
        browser = parsed.user_agent.family if parsed.user_agent else UNKNOWN
        os_family = parsed.os.family if parsed.os else UNKNOWN
        bot = _bot_name(user_agent, parsed, browser)
        if bot is not None:
            return ClientInfo(browser, os_family, "bot", True, bot)
        return ClientInfo(browser, os_family, _device_type(user_agent, parsed), False, None)

    def _parse(self, user_agent: str) -> Result:
        if self._resolver is None:
            self._resolver = _build_resolver()
        from ua_parser import Domain

        return self._resolver(user_agent, Domain.ALL).complete()


def _build_resolver() -> Resolver:
    # Imported here: ua_parser pulls in yaml and its regex tables, too slow for every
    # process that merely imports textwire.links.
    from ua_parser import BasicResolver, load_lazy_builtins

    return BasicResolver(load_lazy_builtins())


def _bot_name(user_agent: str, parsed: Result, browser: str) -> str | None:
    for name, pattern in BOT_RULES:
        if pattern.search(user_agent):
            return name
    if parsed.device is not None and parsed.device.family == _SPIDER:
        return browser if browser != UNKNOWN else _SPIDER
    return None


def _device_type(user_agent: str, parsed: Result) -> DeviceType:
    device = parsed.device
    if device is not None and (device.family in _TABLET_DEVICES or device.brand in _TABLET_BRANDS):
        return "tablet"
    if _TABLET.search(user_agent):
        return "tablet"
    # Android tablets send "Android" without "Mobile"; phones send both.
    if _ANDROID.search(user_agent) and not _MOBILE_WORD.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"
