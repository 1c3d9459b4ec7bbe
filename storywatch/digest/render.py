"""Digest rendering: a ``Digest`` -> text (72 columns), mail-safe HTML and the artifact's
Markdown, then the MIME message. Pure: no store, no network.

Jinja2 with StrictUndefined; the HTML environment autoescapes, and every value in a
``Digest`` is already plain text (``compose.clean_text``), so feed markup never becomes markup.
CSS is inlined with css-inline for mail clients; the dark-mode and small-screen @media rules
stay in a <style> block (they cannot be inlined), and so do the rules of the summary's lines and
the compact blocks (repeated up to hundreds of times: inlined, they would pass Gmail's clip
size). Nothing remote is ever loaded.
"""

from __future__ import annotations

import quopri
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import quote

import css_inline
import jinja2

if TYPE_CHECKING:
    from storywatch.digest.compose import Digest

TEXT_WIDTH = 72


@dataclass(frozen=True)
class RenderedDigest:
    digest: Digest
    text: str
    html: str
    markdown: str


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("storywatch.digest", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap_text
    env.filters["md"] = escape_markdown
    env.filters["md_url"] = markdown_url
    return env


def wrap_text(text: str, indent: str = "", first: str | None = None) -> str:
    """Wrap to TEXT_WIDTH columns; URLs are never broken (a long one overflows its line)."""
    return textwrap.fill(
        text,
        width=TEXT_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def escape_markdown(text: str) -> str:
    """Feed text shown literally in a Markdown artifact (no links, emphasis or HTML)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", text)


def markdown_url(url: str) -> str:
    """A URL safe inside Markdown's ``(...)``: brackets, quotes and spaces percent-encoded
    (the artifact only; the email keeps the exported URL exactly)."""
    return quote(url, safe=":/?#@!$&'*+,;=%~-._")


_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


# Gmail clips an HTML part past 102 KB ("[Message clipped]"): a digest whose HTML part, as sent
# (quoted-printable, a few percent larger than the HTML), would pass this budget shows fewer
# blocks in full (every development stays in the mail, compact).
HTML_BUDGET = 100_000


def render_digest(digest: Digest, budget: int = HTML_BUDGET) -> RenderedDigest:
    """Text (72 columns), HTML (CSS inlined, dark-mode rules kept) and the artifact Markdown.
    Past ``budget`` bytes of HTML the digest is rendered again with fewer full blocks (down to
    none: every development stays in the one mail even then)."""
    page = _render_html(digest)
    while mail_size(page) > budget and digest.full_blocks > 0:
        digest = digest.with_full_blocks(max(0, digest.full_blocks - 4))
        page = _render_html(digest)
    values = {"digest": digest, "subject": digest.subject}
    text = _environment(False).get_template("digest.txt").render(values)
    markdown = _environment(False).get_template("digest.md").render(values)
    return RenderedDigest(digest, text, page, markdown)


def mail_size(page: str) -> int:
    """Bytes of the HTML part as sent: quoted-printable, as ``build_message`` encodes it."""
    return len(quopri.encodestring(page.encode("utf-8")))


def _render_html(digest: Digest) -> str:
    values = {"digest": digest, "subject": digest.subject}
    return _INLINER.inline(_environment(True).get_template("digest.html").render(values))


def build_message(rendered: RenderedDigest) -> EmailMessage:
    """multipart/alternative (text, then HTML), 7-bit safe; Message-ID from the digest id."""
    digest = rendered.digest
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = digest.sender
    message["To"] = digest.recipient
    message["Date"] = format_datetime(digest.created_at.astimezone(UTC))
    message["Message-ID"] = message_id(digest.digest_id, digest.sender)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Storywatch-Digest"] = digest.digest_id
    message.set_content(rendered.text, charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    message.set_boundary(f"=_storywatch_{digest.digest_id}")  # same digest, same bytes
    return message


def message_id(digest_id: str, sender: str) -> str:
    return f"<{digest_id}@{sender.rsplit('@', 1)[-1]}>"
