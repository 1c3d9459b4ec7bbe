"""Normalise stage: feed entries -> articles with canonical URLs, UTC dates and clean text.

Pure functions. ``canonical_url`` is an article's identity across sources, so it is
idempotent and conservative: it only removes what never changes the page (fragment, userinfo,
default port, tracking parameters listed in ``TRACKING_PARAMS`` / ``TRACKING_PREFIXES``).
"""

from __future__ import annotations

import hashlib
import html
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote_plus, urljoin, urlsplit

import nh3

from storywatch.config.config import BIDI_CONTROLS
from storywatch.parse.decode import FeedEntry, ParsedFeed


@dataclass
class Article:
    """A normalised entry, ready for dedupe and storage. Text fields are plain text."""

    source: str
    url: str  # canonical URL: the article's identity across sources
    link: str  # the link as the feed gave it (absolute); "" when the feed gave no URL at all
    guid: str | None  # identity within the source
    title: str
    summary: str
    content: str
    published: datetime  # timezone-aware UTC
    date_missing: bool  # True when ``published`` is the fetch time, not the feed's date
    author: str | None = None


# Query parameters that only tell the publisher where a click came from (compared lower-cased,
# after percent-decoding). Analytics: Google (utm_*, gclid, gclsrc, dclid, gbraid, wbraid, _ga,
# _gl), Microsoft (msclkid, ocid, cmpid), Meta (fbclid, igshid, igsh), Yandex (yclid), X/Twitter
# (twclid), TikTok (ttclid), LinkedIn (li_fat_id), Mailchimp (mc_cid, mc_eid), Marketo
# (mkt_tok), HubSpot (_hsenc, _hsmi, hsa_*), Matomo/Piwik (pk_*, mtm_*), AT Internet (at_*),
# comScore (ns_*), Olytics (oly_*), Vero (vero_*), Webtrends (wt.mc_id), NYT (smid, smtyp).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "igshid",
        "igsh",
        "ocid",
        "cmpid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "wt.mc_id",
        "wt.mc_ev",
        "smid",
        "smtyp",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_", "oly_", "vero_")
DEFAULT_PORTS = {"http": "80", "https": "443"}

MAX_TITLE = 1_000
MAX_SUMMARY = 10_000
MAX_CONTENT = 100_000
MAX_AUTHOR = 300
MAX_GUID = 1_000  # longer GUIDs are replaced by "sha256:<hex>" of themselves

_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(?:p|br|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|blockquote|pre|hr"
    r"|section|article|header|footer|aside|figure|figcaption|address)\b[^>]*>",
    re.I,
)
_TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Zero-width space, word joiner, BOM and soft hyphen vanish; other spaces become " " via split().
# Zero-width characters, soft hyphens and C0 controls other than tab and line breaks (a NUL
# cannot even be stored in a PostgreSQL text column), and the bidirectional controls (marks,
# embeddings, overrides, isolates: U+200E/F, U+202A-202E, U+2066-2069, U+061C), with which a
# feed could make a headline or a link display spoofed text in a digest (config.BIDI_CONTROLS).
_INVISIBLE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2060\ufeff\u00ad{BIDI_CONTROLS}]")
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(), attributes={}, link_rel=None, clean_content_tags={"script", "style", "template"}
)


def canonical_url(url: str, base: str | None = None) -> str:
    """The URL that identifies an article: see the module docstring. Idempotent."""
    if base:
        with suppress(ValueError):  # an unusable base (e.g. an unbalanced "[" in its host)
            url = urljoin(base.strip(), url.strip())
    url = url.split("#", 1)[0].strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not parts.netloc or scheme not in ("http", "https"):
        return url
    host_port = parts.netloc.rpartition("@")[2].lower()
    host, _, port = host_port.rpartition(":") if not host_port.endswith("]") else ("", "", "")
    if host and port in ("", DEFAULT_PORTS[scheme]):
        host_port = host
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return f"{scheme}://{host_port}{parts.path or '/'}" + (f"?{query}" if query else "")


def _is_tracking(param: str) -> bool:
    key = unquote_plus(param.split("=", 1)[0]).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def html_to_text(text: str) -> str:
    """HTML (or entity-laden text) -> plain text, one line per block, spaces collapsed.

    Tags are dropped (script/style contents too), block tags become line breaks, entities are
    unescaped (twice for double-escaped feeds: "&amp;#8211;" -> "–"), every unicode space
    becomes " ", zero-width characters and soft hyphens are removed.
    """
    if "<" in text or "&" in text:
        text = _strip_markup(text)
        if _ENTITY.search(text) or _TAG_LIKE.search(text):  # double-escaped HTML
            text = _strip_markup(text)
    text = _INVISIBLE.sub("", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _strip_markup(text: str) -> str:
    if "<" in text:
        text = _TEXT_CLEANER.clean(_BLOCK_TAG.sub("\n", text))
    return html.unescape(text) if _ENTITY.search(text) else text


def one_line(text: str) -> str:
    """HTML -> plain text on a single line."""
    return " ".join(html_to_text(text).split())


def normalise_entry(
    entry: FeedEntry, source: str, feed_url: str, fetched_at: datetime
) -> Article | None:
    """A ``FeedEntry`` as an ``Article``, or None when it has no title, summary nor link."""
    title = one_line(entry.title[: MAX_TITLE * 4])[:MAX_TITLE]
    summary = html_to_text(entry.summary[: MAX_SUMMARY * 4])[:MAX_SUMMARY]
    link = _http_url(entry.link, feed_url)
    guid = _INVISIBLE.sub("", entry.guid or "").strip() or None
    if guid and len(guid) > MAX_GUID:
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    if not (title or summary or link):
        return None
    if not link and guid:
        link = _http_url(guid, None)
    if link:
        url = canonical_url(link)
    else:
        basis = guid or f"{title}\n{summary}"
        digest = hashlib.sha256(basis.encode()).hexdigest()[:32]
        url = f"urn:storywatch:{quote(source, safe='')}:{digest}"
    fetched_at = fetched_at.replace(tzinfo=UTC) if fetched_at.tzinfo is None else fetched_at
    published = entry.published or fetched_at
    author = one_line(entry.author)[:MAX_AUTHOR] if entry.author else ""
    return Article(
        source=source,
        url=url,
        link=link,
        guid=guid,
        title=title,
        summary=summary,
        content=html_to_text(entry.content[: MAX_CONTENT * 4])[:MAX_CONTENT],
        published=published.astimezone(UTC),
        date_missing=entry.published is None,
        author=author or None,
    )


def _http_url(value: str | None, base: str | None) -> str:
    """``value`` made absolute against ``base`` if it is (then) an http(s) URL, else ""."""
    value = _INVISIBLE.sub("", value or "").strip()
    if not value:
        return ""
    try:
        value = urljoin(base, value) if base else value
        scheme = urlsplit(value).scheme.lower()
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""
    return value if scheme in ("http", "https") else ""


def normalise_feed(
    feed: ParsedFeed,
    source: str,
    feed_url: str,
    fetched_at: datetime,
    max_age: timedelta | None = None,
) -> list[Article]:
    """Every usable entry as an ``Article``, in feed order.

    Entries older than ``max_age`` (by date, relative to ``fetched_at``) are dropped; entries
    without a date never are. Within the feed an entry whose canonical URL or GUID was already
    seen is dropped (the first one wins).
    """
    cutoff = fetched_at - max_age if max_age is not None else None
    if cutoff is not None and cutoff.tzinfo is None:
        cutoff = cutoff.replace(tzinfo=UTC)
    articles: list[Article] = []
    seen: set[str] = set()
    for entry in feed.entries:
        article = normalise_entry(entry, source, feed_url, fetched_at)
        if article is None or (cutoff is not None and article.published < cutoff):
            continue
        keys = {article.url} | ({"guid:" + article.guid} if article.guid else set())
        if keys & seen:
            continue
        seen |= keys
        articles.append(article)
    return articles
