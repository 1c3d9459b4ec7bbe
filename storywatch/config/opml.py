"""OPML, the feed list every feed reader imports and exports: read one into feeds, write the
configured sources as one. Pure: bytes in, records out (the command line reads and writes files).

Reading is strict about what XML may do to us: no DOCTYPE (so no entity definitions, no external
entities, no "billion laughs"), a size cap, and only http(s) feed URLs. The stdlib expat parser
does the parsing; a DOCTYPE is refused before any entity could be declared.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

OPML_MAX_BYTES = 5 * 1024 * 1024  # a feed list of ~50,000 feeds; a bigger file is a mistake


class OpmlError(Exception):
    """The file is not OPML we can read (not XML, a DOCTYPE, too big, no <opml> root)."""


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline: its title (or text, or URL when it has neither), URL and folder."""

    name: str
    url: str
    folder: str | None = None  # the enclosing outline's title, when the feed sits in one


@dataclass(frozen=True)
class OpmlList:
    feeds: list[OpmlFeed]
    skipped: list[tuple[str, str]]  # (outline's title or URL, why it was not taken)


def parse_opml(data: bytes) -> OpmlList:
    """Every feed outline (``xmlUrl``), nested folders flattened, in document order."""
    if len(data) > OPML_MAX_BYTES:
        raise OpmlError(f"larger than {OPML_MAX_BYTES // 1024 // 1024} MB")
    feeds: list[OpmlFeed] = []
    skipped: list[tuple[str, str]] = []
    folders: list[str | None] = []  # one entry per open <outline>
    root: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(tag)
        if tag != "outline":
            return
        title = (attrs.get("title") or attrs.get("text") or "").strip()
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        folders.append(None if url else title or None)
        if not url:
            return
        folder = next((f for f in reversed(folders[:-1]) if f), None)
        if not url.lower().startswith(("http://", "https://")):
            skipped.append((title or url, "not an http(s) URL"))
            return
        feeds.append(OpmlFeed(name=" ".join((title or url).split()), url=url, folder=folder))

    def end(tag: str) -> None:
        if tag == "outline" and folders:
            folders.pop()

    def refuse_doctype(*_: object) -> None:
        raise OpmlError("the file declares a DOCTYPE (entities are not accepted in OPML)")

    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    if root != ["opml"]:
        raise OpmlError(f"the root element is <{root[0]}>, not <opml>" if root else "empty")
    return OpmlList(feeds=feeds, skipped=skipped)


def render_opml(title: str, feeds: Iterable[tuple[str, str]]) -> str:
    """An OPML 2.0 document listing ``(name, url)`` feeds, one outline each."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        "  </head>",
        "  <body>",
    ]
    for name, url in feeds:
        lines.append(
            f'    <outline type="rss" text={quoteattr(name)} title={quoteattr(name)} '
            f"xmlUrl={quoteattr(url)}/>"
        )
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
