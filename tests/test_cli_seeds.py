"""Seeds from the command line: `check` warns about a seed without front matter or with another
storyline's id (valid, exit 0); `seed new` drafts a seed from an article's text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from storywatch.config.seed_draft import draft_seed
from storywatch.config.seeds import load_seed
from tests.factories import write_config
from tests.feedserver import FeedServer
from tests.test_cli import storywatch


def test_check_warns_about_a_seed_without_front_matter(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("Talks in Geneva ended without a deal.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: storyline test-story:" in done.stderr
    assert "has no front matter" in done.stderr and "story.md" in done.stderr


def test_check_warns_about_a_seed_whose_id_is_another_storylines(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("---\nid: gaza-talks\n---\nA seed text.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the seed's id 'gaza-talks' is not its storyline's id 'test-story'" in done.stderr


def test_check_is_quiet_about_a_seed_whose_id_matches(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("---\nid: test-story\n---\nA seed text.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert yaml.safe_load((tmp_path / "sources.yaml").read_text())["storylines"]


# -- seed new ---------------------------------------------------------------------------------

ARTICLE = Path(__file__).parent / "data" / "seed_new" / "gaza-article.md"


def test_draft_proposes_actors_with_surnames_places_and_the_articles_date() -> None:
    draft = draft_seed("gaza-talks", ARTICLE.read_text(), date(2026, 1, 1))
    assert draft.title == "Gaza ceasefire talks resume in Cairo"
    assert draft.date == "2025-01-15" and draft.dated_from_text
    actors = {a.name: a for a in draft.actors}
    # titles dropped ("Israeli Prime Minister ..."), the surname an alias; bodies get none
    assert actors["Benjamin Netanyahu"].aliases == ["Netanyahu"]
    assert actors["Steve Witkoff"].aliases == ["Witkoff"]
    assert actors["Mohammed bin Abdulrahman Al Thani"].aliases == ["Al Thani"]
    assert actors["United Nations Security Council"].aliases == []
    assert "Hamas" in actors  # one word, named again mid-sentence
    assert actors["Israel"].aliases == ["Israeli", "Jerusalem"]
    assert actors["Israel"].side == "israel"
    assert not {"Wednesday", "Prime Minister", "Qatar's Prime Minister Mohammed"} & set(actors)
    assert draft.places == [
        "Cairo",
        "Israel",
        "Egypt",
        "Qatar",
        "United States",
        "Jerusalem",
        "Doha",
    ]
    assert dict(draft.countries)["Israel"] == 2  # "Israel" and "Israeli"; a capital is a venue


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Talks on March 3, 2025 in Geneva.", "2025-03-03"),
        ("Geneva, 2025-03-04: talks.", "2025-03-04"),
        ("Talks in Geneva, no date given.", "2026-01-01"),
    ],
)
def test_draft_takes_the_first_date_of_the_text_or_today(text: str, day: str) -> None:
    draft = draft_seed("x", text, date(2026, 1, 1))
    assert draft.date == day and draft.dated_from_text is (day != "2026-01-01")
    assert draft.places == ["Geneva"]


def test_seed_new_writes_a_seed_that_check_accepts(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    done = storywatch("seed", "new", "gaza-talks", "--from", str(ARTICLE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "seeds" / "gaza-talks.md"
    seed = load_seed(path)
    assert seed.meta.id == "gaza-talks" and seed.meta.date == "2025-01-15"
    assert "Benjamin Netanyahu" in {a.name for a in seed.meta.actors}
    assert "Negotiators from Israel and Hamas resumed indirect talks" in seed.text
    assert "actor:   Benjamin Netanyahu (aliases: Netanyahu)" in done.stderr
    assert "places:  Cairo, Israel, Egypt" in done.stderr
    assert "- id: gaza-talks" in done.stderr and "seed: seeds/gaza-talks.md" in done.stderr
    assert "--storyline gaza-talks" in done.stderr  # the last step: preview its digest
    assert done.stdout == ""

    # the next step as printed: add the storyline, then check passes without a warning
    config = yaml.safe_load((tmp_path / "sources.yaml").read_text())
    config["storylines"].append(
        {"id": "gaza-talks", "title": "Gaza ceasefire talks", "seed": "seeds/gaza-talks.md"}
    )
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(config))
    checked = storywatch("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "2 storylines" in checked.stderr and "gaza-talks" not in checked.stderr


def test_seed_new_never_overwrites_without_force(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    mine = tmp_path / "seeds" / "gaza-talks.md"
    mine.write_text("---\nid: gaza-talks\n---\nMy own edits.\n")
    done = storywatch("seed", "new", "gaza-talks", "--from", str(ARTICLE), cwd=tmp_path)
    assert done.returncode == 2 and "exists: edit it, or pass --force" in done.stderr
    assert mine.read_text() == "---\nid: gaza-talks\n---\nMy own edits.\n"
    forced = storywatch("seed", "new", "gaza-talks", "--from", str(ARTICLE), "--force",
                        cwd=tmp_path)  # fmt: skip
    assert forced.returncode == 0 and "My own edits" not in mine.read_text()


def test_seed_new_refuses_a_bad_id_or_an_unreadable_article(tmp_path: Path) -> None:
    bad = storywatch("seed", "new", "Gaza Talks", "--from", str(ARTICLE), cwd=tmp_path)
    assert bad.returncode == 2 and "an id is lower-case letters" in bad.stderr
    missing = storywatch("seed", "new", "x", "--from", "nowhere.md", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere.md: cannot read it" in missing.stderr
    assert not (tmp_path / "seeds").exists()


def test_seed_new_reads_an_article_page_from_a_url(tmp_path: Path, feed_server: FeedServer):
    page = (
        "<html><head><title>Site | Talks</title><script>var x = 'Not Text';</script></head>"
        "<body><nav><p>Home News Sport and a long menu of other sections here</p></nav>"
        "<h1>Talks resume in Geneva</h1><p>GENEVA, 2 March 2025 - Foreign Minister Sergei "
        "Lavrov met Secretary of State Marco Rubio in Geneva, officials said on Sunday.</p>"
        "<p>Lavrov said the talks were useful; Rubio said more talks would follow soon.</p>"
        "</body></html>"
    )
    feed_server.set_html("/article.html", page.encode())
    url = feed_server.url("/article.html")
    done = storywatch("seed", "new", "geneva", "--from", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seed = load_seed(tmp_path / "seeds" / "geneva.md")
    assert seed.text.startswith("# Talks resume in Geneva\n\nGENEVA, 2 March 2025 - Foreign")
    assert "menu" not in seed.text and "Not Text" not in seed.text
    assert {a.name for a in seed.meta.actors} >= {"Sergei Lavrov", "Marco Rubio"}
    assert seed.meta.date == "2025-03-02" and seed.meta.places == ["Geneva"]
    feed_server.set_status("/gone.html", 404)
    gone = storywatch("seed", "new", "gone", "--from", feed_server.url("/gone.html"), cwd=tmp_path)
    assert gone.returncode == 1 and "the server answered 404" in gone.stderr


def test_draft_skips_headings_reads_possessives_and_dates_only_from_the_dateline() -> None:
    text = (
        "Truce Reached in Doha After Long Talks\n\n"
        "DOHA, Jan 16 - Israel and Hamas agreed a truce in Gaza on Wednesday, ending the war "
        "that began on 7 October 2023, mediators said.\n\n"
        "A Deal in Three Stages\n\n"
        "Prime Minister Benjamin Netanyahu's office said details remained. The US envoy Brett "
        "McGurk stayed in Doha; President-elect Donald Trump claimed credit. Hamas said it "
        "would keep to the terms, and Hamas officials met in Doha. Aid to Gaza and the West "
        "Bank will grow.\n"
    )
    draft = draft_seed("truce", text, date(2026, 1, 1))
    names = [a.name for a in draft.actors]
    assert {"Benjamin Netanyahu", "Brett McGurk", "Donald Trump", "Hamas"} <= set(names)
    assert not [n for n in names if n in ("Three Stages", "Long Talks", "Deal", "Gaza")]
    assert draft.date == "2026-01-01" and not draft.dated_from_text  # 2023 is background
    assert draft.theatre == ["Gaza", "West Bank"]
