"""Dedupe, steps 1-2: text -> MinHash fingerprints cut into LSH bands, and the time window.

Pure: text in, fingerprints and cluster decisions out; the store persists them.

1. ``prepare_text`` strips what outlets add around a wire story (outlet names, "City (Agency) -"
   datelines, bylines, "Read more", "The post ... appeared first on ...", trailing credits),
   lower-cases and splits into words.
2. ``fingerprint`` hashes the word 3-shingles into a MinHash signature of ``NUM_PERM`` values
   and cuts it into ``BANDS`` bands of ``ROWS`` values: two texts share a band key with
   probability 1 - (1 - J^ROWS)^BANDS (J = Jaccard similarity of their shingle sets).
3. ``assign_clusters`` verifies each candidate (articles sharing a band key) by the estimated
   Jaccard similarity and containment, and puts each new article in the cluster of its best
   match, or in a new cluster of its own. Existing clusters are never merged or renumbered.

The time window: the index is partitioned by publication period (``time_bucket``: whole
``BUCKET_DAYS`` periods since 1970-01-01 UTC), and an article is compared only with articles of
its own period and the two neighbouring ones (``index_probes``, ``in_window``), so a check reads
and writes the recent part of the index only, however much is stored. Hence: **copies published
up to BUCKET_DAYS (7) days apart are always compared (and fold when similar enough); 7 to 14
days apart only when their periods are adjacent; 14 or more days apart they never fold** (the
later one starts a cluster of its own).
Wire copies and re-publications come within hours (every devset and realdata copy group spans
at most 0.32 days). The rule is applied within a batch too, so the answer does not depend on
how articles are batched. Changing ``BUCKET_DAYS`` needs the index rebuilt
(``ClusterTransaction.rebuild_index``).

The thresholds come from measurement (bench/dedupe.py; the curve is in bench/RESULTS.md).
Changing ``SHINGLE_WORDS``, ``NUM_PERM``, ``ROWS`` or the hash seeds changes every stored
signature: bump ``SIGNATURE_VERSION`` and re-fingerprint (a migration's job).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

SIGNATURE_VERSION = 1
SHINGLE_WORDS = 3
NUM_PERM = 120
ROWS = 3  # values per band
BANDS = NUM_PERM // ROWS  # 40: P(candidate) = 0.96 at J = 0.43, 0.04 at J = 0.10
MIN_SHINGLES = 6  # shorter texts (a bare short headline) never fold: too little evidence
JACCARD_MIN = 0.25  # estimated Jaccard at or above this: the same text, lightly edited
CONTAINMENT_MIN = 0.60  # or the smaller text mostly inside the larger one: a trimmed copy
CONTAINMENT_JACCARD_MIN = 0.20  # ... provided they still overlap this much overall
BUCKET_DAYS = 7  # index period: copies up to this far apart always fold (see the module doc)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _seeds(label: str, count: int) -> np.ndarray:
    """``count`` fixed odd 64-bit integers derived from blake2b: the same on every machine."""
    values = []
    for i in range(count):
        digest = hashlib.blake2b(f"storywatch-{label}-{i}".encode(), digest_size=8).digest()
        values.append(int.from_bytes(digest, "little") | 1)
    return np.array(values, dtype=np.uint64)


# Multiply-shift hashing, h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32: one multiply and one add
# per shingle and permutation (uint64 arithmetic wraps, which is the "mod 2^64").
_PERM_A, _PERM_B = _seeds("minhash-a", NUM_PERM), _seeds("minhash-b", NUM_PERM)
_BAND_MIX = _seeds("band", ROWS + 1)
_SHIFT = np.uint64(32)

# -- text preparation ---------------------------------------------------------------------

_DASH = r"[-–—|:]"
# "KYIV, Ukraine (Reuters) -", "LONDON (AP) —", "Moscow, March 3 (AFP) -": a short place/date
# segment with a parenthesised credit, or an all-caps place, then a dash, at the very start.
_DATELINE = re.compile(
    rf"^\s*(?:[A-Z][\w.'’ ,/]{{0,60}}?\s*\([A-Za-z.' &/-]{{2,30}}\)|[A-Z][A-Z.'’ ,/]{{2,40}})"
    rf"\s*{_DASH}\s+"
)
# "Reuters -", "AFP —": at most three capitalised words and a dash at the very start.
_LEAD_CREDIT = re.compile(r"^\s*(?:[A-Z][\w.&'’]*\s){0,2}[A-Z][\w.&'’]*\s+[-–—]\s+")
# "By Ann Lee and Bo Park, Kyiv correspondent": a line of its own, names capitalised.
_BYLINE = re.compile(
    r"(?m)^[ \t]*(?:[Bb]y|BY|[Ww]ords by|[Rr]eporting by)[ \t]+[A-Z][\w.'’-]*"
    r"(?:[ \t]+(?:[A-Z][\w.'’-]*|and|&)|,)*[ \t]*(?:[,|;·•-][ \t]*[\w \t]{0,40})?$\n?"
)
# Trailing credits and calls to action, only when they start a sentence and run to the end of
# the text: a sentence that merely mentions "reporting" is never cut.
_TRAILERS = re.compile(
    r"(?s)(?:(?:^|(?<=[.!?…\n\"”»)]))\s*(?i:"
    r"the post\b.{0,300}?\bappeared first on\b"
    r"|(?:read more|continue reading|click here|read the full (?:story|article))\b"
    r"|(?:additional reporting|reporting|writing|editing) by\b"
    r"|(?:this|the) (?:article|story|post) (?:was )?(?:originally |first )?"
    r"(?:appeared|published|syndicated)\b"
    r"|all rights reserved\b|source:)"
    r".{0,200}"
    r"|\s*(?:©|\([cC]\) \d{4}).{0,120}"
    r"|\s[-–—]\s*(?:[A-Z][\w.&'’]*\s?){1,3}"
    r")$"
)
_TRAILER_REACH = 600  # trailers are searched for in the text's last characters only
_TRAILING_PAREN_CREDIT = re.compile(r"\((?:[A-Z][\w.&'’]*\s?){1,3}\)\s*$")
# "Headline - Outlet Name" / "Headline | Outlet": a short tail after a separator in a title.
_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+(?:[\w.&'’]+\s?){1,4}$")
_WORD = re.compile(r"\w+")


def strip_boilerplate(title: str, body: str, source: str = "") -> tuple[str, str]:
    """``(title, body)`` without what an outlet adds around a story (see the module doc)."""
    title = _TITLE_SUFFIX.sub("", title.strip())
    body = body.strip()
    body = _BYLINE.sub("\n", body).strip()
    body = _LEAD_CREDIT.sub("", _DATELINE.sub("", body, count=1), count=1)
    trailer = _TRAILERS.search(body, max(0, len(body) - _TRAILER_REACH))
    body = body[: trailer.start()].strip() if trailer else body
    body = _TRAILING_PAREN_CREDIT.sub("", body).strip()
    if source.strip():
        name = re.compile(rf"(?i)\b{re.escape(source.strip())}\b")
        title, body = name.sub(" ", title), name.sub(" ", body)
    return title, body


def prepare_text(title: str, body: str, source: str = "") -> list[str]:
    """The words hashed for an article: boilerplate stripped, lower-cased."""
    title, body = strip_boilerplate(title, body, source)
    return _WORD.findall(f"{title}\n{body}".lower())


def shingles(words: Sequence[str], size: int = SHINGLE_WORDS) -> set[str]:
    """Overlapping runs of ``size`` words (one shingle for texts shorter than that)."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


# -- the time window -------------------------------------------------------------------------


def time_bucket(published: datetime) -> int:
    """The index period of a publication time: whole ``BUCKET_DAYS`` since 1970-01-01 UTC
    (floor division, so the same as migration 0005's SQL on whole seconds)."""
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return (published - _EPOCH) // timedelta(days=BUCKET_DAYS)


def in_window(bucket_a: int, bucket_b: int) -> bool:
    """Whether articles of these periods are compared: the same period or adjacent ones."""
    return abs(bucket_a - bucket_b) <= 1


# -- fingerprints --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fingerprint:
    """An article's MinHash signature, shingle count and LSH band keys."""

    article_id: int
    published: datetime
    shingles: int
    signature: bytes  # NUM_PERM little-endian uint32
    bands: tuple[int, ...] = field(default=())  # signed 64-bit band keys (empty when too short)

    @property
    def indexable(self) -> bool:
        return self.shingles >= MIN_SHINGLES

    @property
    def bucket(self) -> int:
        return time_bucket(self.published)


@dataclass(frozen=True)
class ArticleText:
    """What ``fingerprint`` reads of an article."""

    article_id: int
    published: datetime
    title: str
    body: str  # summary, else the start of the content
    source: str = ""


def fingerprint(article: ArticleText) -> Fingerprint:
    return fingerprint_many([article])[0]


def fingerprint_many(articles: Sequence[ArticleText]) -> list[Fingerprint]:
    """Fingerprints of many articles: hashing runs vectorised over the batch."""
    sets = [shingles(prepare_text(a.title, a.body, a.source)) for a in articles]
    signatures = _minhash([_shingle_hashes(s) for s in sets])
    keys = _band_keys(signatures)
    result = []
    for n, (article, shingle_set) in enumerate(zip(articles, sets, strict=True)):
        indexable = len(shingle_set) >= MIN_SHINGLES
        result.append(
            Fingerprint(
                article_id=article.article_id,
                published=article.published,
                shingles=len(shingle_set),
                signature=signatures[n].astype("<u4").tobytes(),
                bands=tuple(keys[n].tolist()) if indexable else (),
            )
        )
    return result


def _shingle_hashes(shingle_set: Iterable[str]) -> np.ndarray:
    values = [zlib.crc32(s.encode()) for s in shingle_set]
    return np.array(values or [0], dtype=np.uint64)


def _minhash(per_article: list[np.ndarray]) -> np.ndarray:
    """(articles x NUM_PERM) uint32: per permutation, the minimum over an article's shingles.
    One small matrix per article measured faster than one padded or reduceat batch."""
    out = np.empty((len(per_article), NUM_PERM), dtype=np.uint32)
    a, b = _PERM_A[:, None], _PERM_B[:, None]
    for n, hashes in enumerate(per_article):
        out[n] = ((a * hashes + b) >> _SHIFT).min(axis=1)
    return out


def _band_keys(signatures: np.ndarray) -> np.ndarray:
    """(articles x BANDS) signed 64-bit keys: each band's ROWS values mixed with fixed odd
    multipliers, plus the band number, so equal values in different bands never collide."""
    rows = signatures.astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    keys = np.broadcast_to(np.arange(BANDS, dtype=np.uint64) * _BAND_MIX[ROWS], rows.shape[:2])
    for r in range(ROWS):
        keys = (keys ^ rows[:, :, r]) * _BAND_MIX[r]
        keys = keys ^ (keys >> _SHIFT)
    return keys.view(np.int64)


def band_key_matrix(signatures: Sequence[bytes]) -> np.ndarray:
    """(signatures x BANDS) band keys of stored signatures."""
    values = np.frombuffer(b"".join(signatures), dtype="<u4").reshape(len(signatures), NUM_PERM)
    return _band_keys(values)


def band_keys(signature: bytes) -> tuple[int, ...]:
    """The band keys of one stored signature."""
    values = np.frombuffer(signature, dtype="<u4").reshape(1, NUM_PERM)
    return tuple(_band_keys(values)[0].tolist())


# -- similarity and clusters ----------------------------------------------------------------


def estimate_jaccard(a: bytes, b: bytes) -> float:
    x = np.frombuffer(a, dtype="<u4")
    y = np.frombuffer(b, dtype="<u4")
    return float(np.count_nonzero(x == y)) / NUM_PERM


def estimate_containment(jaccard: float, size_a: int, size_b: int) -> float:
    """|A ∩ B| / min(|A|, |B|) from the Jaccard estimate: |A ∩ B| = J (|A| + |B|) / (1 + J)."""
    smaller = min(size_a, size_b)
    if smaller <= 0:
        return 0.0
    return min(1.0, jaccard * (size_a + size_b) / (1 + jaccard) / smaller)


def is_near_duplicate(a: Fingerprint, b: Fingerprint) -> tuple[bool, float]:
    """(same story?, estimated Jaccard): see the thresholds at the top of the module."""
    if not (a.indexable and b.indexable):
        return False, 0.0
    jaccard = estimate_jaccard(a.signature, b.signature)
    return same_story(jaccard, a.shingles, b.shingles), jaccard


def same_story(jaccard: float, size_a: int, size_b: int) -> bool:
    if jaccard >= JACCARD_MIN:
        return True
    containment = estimate_containment(jaccard, size_a, size_b)
    return jaccard >= CONTAINMENT_JACCARD_MIN and containment >= CONTAINMENT_MIN


def index_probes(new: Sequence[Fingerprint]) -> dict[int, set[int]]:
    """period -> the band keys to look up in it: each indexable fingerprint's keys in its own
    period and the neighbouring ones (a copy may be published before or after its original)."""
    probes: dict[int, set[int]] = {}
    for fp in new:
        if fp.indexable:
            for bucket in range(fp.bucket - 1, fp.bucket + 2):
                probes.setdefault(bucket, set()).update(fp.bands)
    return probes
