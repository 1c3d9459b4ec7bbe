"""A small storyline world for detection tests: a seed and feed items, all in our own words
(invented for these tests; nothing comes from the devset or real feeds).

Developments the engine should find: the Istanbul talks (ITEM_TALKS, repeated by
ITEM_TALKS_REPEAT) and the prisoner swap (ITEM_SWAP, repeated by ITEM_SWAP_REPEAT).
ITEM_PHONE restates the seed (known); ITEM_BAKERY is another story (irrelevant).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import yaml

SEED = """---
title: Truce talks
date: "2025-04-01"
parties: [russia, ukraine]
actors:
  - {name: Vladimir Putin, aliases: [Putin], side: russia}
  - {name: Russia, aliases: [Russian, Kremlin, Moscow], side: russia}
  - {name: Volodymyr Zelensky, aliases: [Zelensky], side: ukraine}
  - {name: Ukraine, aliases: [Ukrainian, Kyiv], side: ukraine}
  - {name: Donald Trump, aliases: [Trump], side: us}
  - {name: Steve Witkoff, aliases: [Witkoff], side: us}
places: [Istanbul, Geneva]
topics: [peace talks]
---
The war in Ukraine goes on while diplomats look for a way to end it.

Trump talked with Putin by telephone on Tuesday about stopping the fighting.
"""

STORYLINE = "truce-talks"


def item(slug: str, outlet: str, title: str, text: str, day: int, hour: int) -> dict[str, str]:
    return {
        "title": title,
        "link": f"https://{outlet}.test/news/{slug}?utm_source=feed",
        "guid": f"{outlet}-{slug}",
        "description": text,
        "pubDate": format_datetime(datetime(2025, 4, day, hour, tzinfo=UTC)),
    }


ITEM_PHONE = item(
    "phone",
    "beta",
    "Trump and Putin discussed the war by phone",
    "Trump talked with Putin by telephone on Tuesday about stopping the fighting in Ukraine.",
    2,
    10,
)
ITEM_TALKS = item(
    "istanbul",
    "alpha",
    "Russian and Ukrainian negotiators sit down in Istanbul",
    "Delegations from Russia and Ukraine held direct talks in Istanbul on Friday, the first "
    "such meeting in years.",
    11,
    9,
)
ITEM_TALKS_REPEAT = item(
    "istanbul-hosts",
    "beta",
    "Istanbul hosts first direct Russia-Ukraine talks in years",
    "Negotiators for Kyiv and Moscow met face to face in Istanbul on Friday.",
    11,
    15,
)
ITEM_BAKERY = item(
    "bakery",
    "beta",
    "Local bakery wins national bread prize",
    "A family bakery took first place at the annual contest.",
    12,
    10,
)
ITEM_SWAP = item(
    "swap",
    "alpha",
    "Kyiv and Moscow trade 200 captured soldiers",
    "Ukraine and Russia swapped 200 prisoners of war on Sunday, officials in Kyiv said.",
    13,
    10,
)
ITEM_SWAP_REPEAT = item(
    "swap-home",
    "beta",
    "Prisoner swap returns 200 Ukrainians home",
    "Russia and Ukraine exchanged 200 prisoners of war on Sunday.",
    14,
    10,
)


def canonical(entry: dict[str, str]) -> str:
    """The URL the store keeps for an item (tracking parameter dropped)."""
    return entry["link"].split("?")[0]


def write_story_config(folder: Path, sources: dict[str, str]) -> Path:
    """sources.yaml + seed for the truce-talks storyline over the given {name: url}."""
    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    (folder / "seeds" / "truce.md").write_text(SEED, encoding="utf-8")
    config = {
        "storylines": [{"id": STORYLINE, "title": "Truce talks", "seed": "seeds/truce.md"}],
        "sources": [{"name": name, "url": url} for name, url in sources.items()],
        "digest": {"from": "sw@example.org", "to": ["desk@example.org"]},
        "ingest": {"timeout": 3, "connect_timeout": 1, "read_timeout": 1, "retries": 0},
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
