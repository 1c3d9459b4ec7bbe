"""`storywatch seed new`: read the article (a file, or a URL fetched once with a timeout and a
size cap), write the drafted seed, and say what was proposed and what to do next."""

from __future__ import annotations

import json
import os
import shlex
from html.parser import HTMLParser
from pathlib import Path

from rich.console import Console

from storywatch.config.seed_draft import SeedDraft, render_seed
from storywatch.config.seeds import SEED_MAX_BYTES

URL_TIMEOUT = 20.0  # seconds for the whole fetch
URL_MAX_BYTES = 4 * 1024 * 1024  # an article page; its text must still fit a seed (1 MB)


def read_article(source: str) -> str:
    """The article's text: a local file (UTF-8), or the page at an http(s) URL (its title
    and paragraphs). ValueError in plain words when it cannot be read."""
    if source.lower().startswith(("http://", "https://")):
        return _fetch_article(source)
    try:
        with open(source, "rb") as file:
            data = file.read(SEED_MAX_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > SEED_MAX_BYTES:
        raise ValueError(f"larger than {SEED_MAX_BYTES // 1024} kB: a seed is one article")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text (save the article as plain text or Markdown)") from None
    if not text.strip():
        raise ValueError("the file is empty")
    return text


def _fetch_article(url: str) -> str:
    import httpx  # only for a URL: a file needs no HTTP stack

    from storywatch.fetch.client import DEFAULT_USER_AGENT

    chunks: list[bytes] = []
    try:
        with httpx.stream(
            "GET",
            url,
            timeout=URL_TIMEOUT,
            follow_redirects=True,
            headers={"User-Agent": DEFAULT_USER_AGENT},
        ) as response:
            response.raise_for_status()
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > URL_MAX_BYTES:
                    raise ValueError(f"the page is larger than {URL_MAX_BYTES // 1024 // 1024} MB")
                chunks.append(chunk)
            kind = response.headers.get("content-type", "")
            encoding = response.encoding or "utf-8"
    except httpx.HTTPStatusError as exc:
        raise ValueError(f"the server answered {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot fetch it: {exc or type(exc).__name__}") from None
    body = b"".join(chunks).decode(encoding, errors="replace")
    if "html" not in kind and not body.lstrip()[:200].lower().startswith(("<!doctype", "<html")):
        return body
    text = page_text(body)
    if not text.strip():
        raise ValueError("the page has no paragraphs of text (save the article to a file)")
    return text


class _ArticleText(HTMLParser):
    """A page's <h1> (or <title>) and its paragraphs, outside scripts, navigation and footers."""

    SKIP = frozenset({"script", "style", "nav", "header", "footer", "aside", "form", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping = 0
        self.current: list[str] | None = None
        self.tag = ""
        self.title = ""
        self.heading = ""
        self.paragraphs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in ("p", "h1", "title") and not self.skipping:
            self.current, self.tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag == self.tag and self.current is not None:
            text = " ".join("".join(self.current).split())
            if tag == "p" and len(text) > 40:
                self.paragraphs.append(text)
            elif tag == "h1" and not self.heading:
                self.heading = text
            elif tag == "title":
                self.title = text
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.current is not None and not self.skipping:
            self.current.append(data)


def page_text(html: str) -> str:
    """Markdown-ish text of an article page: '# heading', then its paragraphs."""
    parser = _ArticleText()
    parser.feed(html)
    parser.close()
    heading = parser.heading or parser.title
    return "\n\n".join([f"# {heading}"] * bool(heading) + parser.paragraphs) + "\n"


def write_seed(path: Path, draft: SeedDraft, source: str) -> None:
    """Write the seed file (its folder made when missing), replacing the file at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(render_seed(draft, os.path.basename(source) or source), "utf-8")
    os.replace(temporary, path)


def print_next_steps(
    err: Console, draft: SeedDraft, path: Path, config_path: Path, program: str
) -> None:
    """What was proposed, then the steps to follow the story (README: Follow another story)."""

    def say(line: str = "") -> None:
        err.print(line, highlight=False, markup=False)

    say(f"{path}: drafted from the article; proposed (edit them there):")
    say(f"  title:   {draft.title}")
    say(f"  date:    {draft.date}" + ("" if draft.dated_from_text else " (today: none found)"))
    for actor in draft.actors:
        aliases = f" (aliases: {', '.join(actor.aliases)})" if actor.aliases else ""
        side = f" side {actor.side}" if actor.side else ""
        say(f"  actor:   {actor.name}{aliases}{side}")
    say(f"  places:  {', '.join(draft.places) or 'none recognised'}")
    say(f"  theatre: {', '.join(draft.theatre) or 'no region recognised'}")
    countries = ", ".join(f"{c} ({n})" for c, n in draft.countries[:4])
    say(f"  parties: none set (countries named: {countries or 'none'})")
    config = shlex.quote(str(config_path))
    seed = f"seeds/{path.name}"
    say("next:")
    say(f"  1. edit {path}: drop the actors that are not, give each a side, set parties,")
    say("     theatre and topics, keep only the development types you want")
    say(f"  2. add the storyline to {config_path}, under storylines:")
    say(f"       - id: {draft.id}")
    say(f"         title: {json.dumps(draft.title, ensure_ascii=False)}")
    say(f"         seed: {seed}")
    say(f"  3. {program} --config {config} check")
    say(f"  4. {program} --config {config} run --no-email")
    say(f"  5. {program} --config {config} digest --preview next.html --storyline {draft.id}")
