"""Dedupe, step 3: which stored articles a batch really repeats, and each new article's cluster.

``confirmed_matches`` drops chance band-key collisions before the store reads clusters;
``assign_clusters`` folds each new fingerprint into the cluster of its best verified match
within the time window (``minhash``'s module doc), or founds a cluster of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from storywatch.dedupe.minhash import (
    MIN_SHINGLES,
    NUM_PERM,
    Fingerprint,
    in_window,
    is_near_duplicate,
    same_story,
)


@dataclass(frozen=True)
class StoredSignature:
    """A stored article's signature, found by the band keys it shares with a batch."""

    article_id: int
    shingles: int
    signature: bytes
    bands: tuple[int, ...]  # the keys it shares with the batch
    bucket: int  # its index period (``time_bucket`` of its publication)


def confirmed_matches(
    new: Sequence[Fingerprint], stored: Mapping[int, StoredSignature]
) -> list[int]:
    """The stored articles some new fingerprint sharing one of their keys is a near-duplicate
    of: the only ones that can change ``assign_clusters``' answer. Most articles sharing a key
    are chance collisions; this drops them before the store reads their clusters."""
    by_band: dict[int, list[int]] = {}
    for n, fp in enumerate(new):
        if fp.indexable:
            for key in fp.bands:
                by_band.setdefault(key, []).append(n)
    pairs = sorted(
        {
            (s.article_id, n)
            for s in stored.values()
            for key in s.bands
            for n in by_band.get(key, ())
            if in_window(s.bucket, new[n].bucket)
        }
    )
    if not pairs:
        return []
    ids = [stored[i] for i, _ in pairs]
    left = np.frombuffer(b"".join(s.signature for s in ids), dtype="<u4").reshape(-1, NUM_PERM)
    right = np.frombuffer(b"".join(new[n].signature for _, n in pairs), dtype="<u4")
    equal = np.count_nonzero(left == right.reshape(-1, NUM_PERM), axis=1)
    found = {
        i
        for (i, n), same in zip(pairs, equal.tolist(), strict=True)
        if stored[i].shingles >= MIN_SHINGLES
        and same_story(same / NUM_PERM, stored[i].shingles, new[n].shingles)
    }
    return sorted(found)


@dataclass(frozen=True)
class ClusterCandidate:
    """A stored article that shares a band key with a new one."""

    fingerprint: Fingerprint
    cluster_id: int


@dataclass(frozen=True)
class Assignment:
    article_id: int
    cluster_id: int  # an existing cluster, or the article's own id for a new cluster
    matched: int | None  # the article it was folded with, None when it starts a cluster
    similarity: float


def assign_clusters(
    new: Sequence[Fingerprint], candidates: Mapping[int, ClusterCandidate]
) -> list[Assignment]:
    """A cluster for each new fingerprint, oldest first (a batch's own copies fold too).

    ``candidates`` maps stored article ids to their fingerprint and cluster. A new article
    joins the cluster of its most similar verified match within the time window (the module
    doc); with none it founds a cluster whose id is its own article id (so ids are stable and
    unique without a sequence).
    """
    by_band: dict[int, list[int]] = {}
    for article_id, candidate in candidates.items():
        for key in candidate.fingerprint.bands:
            by_band.setdefault(key, []).append(article_id)
    known = dict(candidates)
    assignments = []
    for fp in sorted(new, key=lambda f: (f.published, f.article_id)):
        best: tuple[float, int] | None = None
        for other_id in {i for key in fp.bands for i in by_band.get(key, ())}:
            if not in_window(fp.bucket, known[other_id].fingerprint.bucket):
                continue
            same, similarity = is_near_duplicate(fp, known[other_id].fingerprint)
            if same and (best is None or (similarity, -other_id) > (best[0], -best[1])):
                best = (similarity, other_id)
        if best is None:
            assignment = Assignment(fp.article_id, fp.article_id, None, 0.0)
        else:
            assignment = Assignment(fp.article_id, known[best[1]].cluster_id, best[1], best[0])
        assignments.append(assignment)
        known[fp.article_id] = ClusterCandidate(fp, assignment.cluster_id)
        for key in fp.bands:
            by_band.setdefault(key, []).append(fp.article_id)
    return assignments
