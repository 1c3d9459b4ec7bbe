"""Every development in one mail, under Gmail's clip size: past ``FULL_BLOCKS`` developments
the blocks are compact, and the HTML part of a 120-development digest stays under 102,000
bytes (Gmail shows "[Message clipped]" past 102 KB). The developments are as long as the demo's
(headlines of ~90 characters, two-sentence summaries, three outlets with long URLs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storywatch.digest.compose import FULL_BLOCKS, build_digest
from storywatch.digest.render import (
    HTML_BUDGET,
    RenderedDigest,
    build_message,
    mail_size,
    render_digest,
)
from storywatch.store.developments import LinkedArticle, StoredDevelopment
from tests.test_digest import NOW, SETTINGS, STORYLINE, parse

GMAIL_CLIP = 102_000
TYPES = [["ceasefire", "meeting"], ["agreement"], ["prisoner_exchange"], ["sanctions", "aid"]]
OUTLETS = ["Harbour Wire - World", "Podil Post - English edition", "The Counting House - Markets"]


def realistic(number: int) -> StoredDevelopment:
    """A development the size of the demo's longest: every field near its usual length."""
    day = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(hours=7 * number)
    title = f"Kyiv and Moscow negotiators agree step {number} on energy strikes and Black Sea"
    summary = (
        f"Ukraine told US negotiators in Jeddah on day {number}, at the end of a day-long session,"
        " that it would take up an American offer of an immediate truce, extendable by mutual"
        " consent, as long as Russia does the same. Officials said more talks would follow."
    )
    articles = [
        LinkedArticle(
            f"https://{outlet.split()[0].lower()}.example/world/2025/03/{number:03d}/"
            "ukraine-backs-us-30-day-ceasefire-jeddah-aid-restart-intelligence",
            f"{title} ({outlet.split()[0]})",
            outlet,
            day + timedelta(minutes=20 * n),
        )
        for n, outlet in enumerate(OUTLETS)
    ]
    return StoredDevelopment(
        id=f"ukraine-peace-talks-{day:%Y%m%d}-{number:02d}",
        storyline="ukraine-peace-talks",
        types=TYPES[number % len(TYPES)],
        novelty="update" if number % 5 == 0 else "new",
        title=title,
        summary=summary,
        first_seen=day,
        evidence=[
            {
                "sentence": summary.split(". ")[0] + ".",
                "terms": ["accepts us offer of month-long truce", "truce", "restart aid"],
                "actors": ["Ukraine", "United States", "Russia", "Vladimir Putin"],
            }
        ],
        updates=None,
        dismissed=False,
        articles=articles,
    )


def rendered(count: int) -> RenderedDigest:
    developments = [realistic(n) for n in range(1, count + 1)]
    return render_digest(build_digest(STORYLINE, SETTINGS, "d@x.org", developments, {}, NOW))


@pytest.mark.parametrize("count", [15, 31, 60, 120])
def test_the_html_part_stays_under_gmails_clip_size(count: int) -> None:
    digest = rendered(count)
    html = len(digest.html.encode("utf-8"))
    message = build_message(digest)
    (_, part) = message.iter_parts()  # type: ignore[attr-defined]
    sent = len(part.get_payload())  # quoted-printable, as it travels
    print(  # pytest -s shows the figures
        f"{count} developments: HTML {html:,} bytes, {sent:,} as sent, "
        f"{digest.digest.full_blocks} blocks in full"
    )
    assert html < GMAIL_CLIP and sent < GMAIL_CLIP
    assert sent <= HTML_BUDGET and mail_size(digest.html) == pytest.approx(sent, rel=0.01)
    assert digest.digest.count == count and len(parse(digest.html).blocks) == count
    if count <= 31:
        assert digest.digest.full_blocks == min(count, FULL_BLOCKS)  # the budget is not needed


def test_past_full_blocks_developments_the_blocks_are_compact_and_none_is_left_out() -> None:
    developments = [realistic(n) for n in range(1, 31)]
    digest = build_digest(STORYLINE, SETTINGS, "desk@example.org", developments, {}, NOW)
    rendered = render_digest(digest)
    items = digest.items
    assert [i.compact for i in items] == [False] * FULL_BLOCKS + [True] * (30 - FULL_BLOCKS)
    page = parse(rendered.html)
    assert sorted(page.blocks) == sorted(d.id for d in developments)  # no cap: all 30
    # a compact block: the headline, one line, the first outlet's link and how many reported it
    compact = items[-1]
    (source,) = [d for d in developments if d.id == compact.id]
    assert source.articles[0].url in page.hrefs
    assert all(a.url not in page.hrefs for a in source.articles[1:])
    assert f">{OUTLETS[0]}</a> and 2 more outlets" in rendered.html
    assert "Why flagged" not in rendered.html.split(f'id="{compact.id}"')[1]
    # the text part too: one block per development, the compact ones with their first link
    text = rendered.text
    assert all(f"[{d.id}]" in text for d in developments)
    assert source.articles[0].url in text and source.articles[1].url not in text
    assert "Reported by 3 outlets, first:" in text


def test_a_small_digest_has_no_compact_block() -> None:
    developments = [realistic(n) for n in range(1, FULL_BLOCKS + 1)]
    digest = build_digest(STORYLINE, SETTINGS, "desk@example.org", developments, {}, NOW)
    assert not any(i.compact for i in digest.items)
    assert "past the first" not in render_digest(digest).html


def test_past_the_budget_fewer_blocks_are_in_full_and_the_digest_id_is_the_same() -> None:
    developments = [realistic(n) for n in range(1, 121)]
    digest = build_digest(STORYLINE, SETTINGS, "desk@example.org", developments, {}, NOW)
    assert digest.full_blocks == FULL_BLOCKS
    shown = render_digest(digest)
    assert shown.digest.full_blocks < FULL_BLOCKS  # 120 of them: the budget compacts more
    assert shown.digest.digest_id == digest.digest_id  # the same mail, the same Message-ID
    message = build_message(shown)
    assert message["Subject"].startswith("Truce talks: 120 new")
