"""The store's near-duplicate clusters and their LSH index.

Clustering runs inside ``cluster_transaction``, which takes one lock first, so two overlapping
runs cluster one after the other and the second sees the first's bands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)

if TYPE_CHECKING:  # type-only: keeps httpx out of commands that only read the database
    from storywatch.dedupe import Assignment, ClusterCandidate, Fingerprint, StoredSignature

from storywatch.store.database import StorePart
from storywatch.store.schema import (
    utcnow,
)
from storywatch.store.tables import (
    ARTICLES,
    BANDS,
    CLUSTERS,
    FINGERPRINTS,
    IN_CHUNK,
    SOURCES,
    insert_ignore,
)

_PG_CLUSTER_LOCK = 4_242_004  # advisory lock id serialising clustering


@dataclass(frozen=True)
class UnclusteredArticle:
    """A stored article not yet in a cluster, as dedupe reads it."""

    id: int
    source: str
    title: str
    summary: str
    content: str
    published: datetime


class ClusterTransaction:
    """Reads and writes of one clustering batch, in one transaction under the cluster lock."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def unclustered(self, limit: int) -> list[UnclusteredArticle]:
        """Up to ``limit`` articles with no cluster yet, oldest first."""
        query = (
            select(
                ARTICLES.c.id,
                SOURCES.c.name,
                ARTICLES.c.title,
                ARTICLES.c.summary,
                ARTICLES.c.content,
                ARTICLES.c.published_at,
            )
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .where(ARTICLES.c.cluster_id.is_(None))
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
            .limit(limit)
        )
        return [UnclusteredArticle(*row) for row in self.conn.execute(query)]

    def sharing(self, probes: Mapping[int, Iterable[int]]) -> dict[int, StoredSignature]:
        """Stored signatures sharing a key with ``probes`` (period -> band keys, as
        ``dedupe.index_probes`` gives them), with the keys they share: the index alone answers
        the keys (most miss; a period with no rows is skipped after one seek), then one read per
        article found."""
        from storywatch.dedupe import StoredSignature  # numpy: only when clustering

        shared: dict[int, tuple[int, list[int]]] = {}
        for bucket in sorted(probes):
            occupied = select(BANDS.c.bucket).where(BANDS.c.bucket == bucket).limit(1)
            if self.conn.execute(occupied).first() is None:
                continue
            keys = sorted(set(probes[bucket]))
            for start in range(0, len(keys), IN_CHUNK):
                query = select(BANDS.c.band_key, BANDS.c.article_id).where(
                    BANDS.c.bucket == bucket, BANDS.c.band_key.in_(keys[start : start + IN_CHUNK])
                )
                for key, article_id in self.conn.execute(query):
                    shared.setdefault(article_id, (bucket, []))[1].append(key)
        found: dict[int, StoredSignature] = {}
        ids = sorted(shared)
        for start in range(0, len(ids), IN_CHUNK):
            query = select(
                FINGERPRINTS.c.article_id, FINGERPRINTS.c.shingles, FINGERPRINTS.c.signature
            ).where(FINGERPRINTS.c.article_id.in_(ids[start : start + IN_CHUNK]))
            for row in self.conn.execute(query):
                bucket, keys = shared[row.article_id]
                found[row.article_id] = StoredSignature(
                    row.article_id, row.shingles, bytes(row.signature), tuple(keys), bucket
                )
        return found

    def candidates(
        self, stored: Mapping[int, StoredSignature], ids: Iterable[int]
    ) -> dict[int, ClusterCandidate]:
        """The stored articles ``ids`` (of ``stored``) with their publication and cluster."""
        from storywatch.dedupe import ClusterCandidate, Fingerprint  # numpy: only when clustering

        wanted = sorted(set(ids))
        result: dict[int, ClusterCandidate] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            query = select(ARTICLES.c.id, ARTICLES.c.published_at, ARTICLES.c.cluster_id).where(
                ARTICLES.c.id.in_(wanted[start : start + IN_CHUNK])
            )
            for article_id, published, cluster_id in self.conn.execute(query):
                s = stored[article_id]
                fingerprint = Fingerprint(article_id, published, s.shingles, s.signature, s.bands)
                result[article_id] = ClusterCandidate(fingerprint, cluster_id=cluster_id)
        return result

    def save(self, fingerprints: Sequence[Fingerprint], assignments: Sequence[Assignment]) -> None:
        """Store fingerprints, band keys, new clusters and each article's cluster; move a
        cluster's representative when an earlier-published copy joins it."""
        from storywatch.dedupe import SIGNATURE_VERSION

        by_id = {f.article_id: f for f in fingerprints}
        if fingerprints:
            self.conn.execute(
                insert_ignore(self.conn, FINGERPRINTS),
                [
                    {
                        "article_id": f.article_id,
                        "version": SIGNATURE_VERSION,
                        "shingles": f.shingles,
                        "signature": f.signature,
                    }
                    for f in fingerprints
                ],
            )
        bands = [
            {"bucket": b, "band_key": k, "article_id": a}
            for b, k, a in sorted(
                (f.bucket, k, f.article_id) for f in fingerprints for k in f.bands
            )
        ]  # in key order: the B-tree is walked once, left to right, in the recent periods
        if bands:
            self.conn.execute(insert_ignore(self.conn, BANDS), bands)
        founded = [a for a in assignments if a.matched is None]
        if founded:
            self.conn.execute(
                insert_ignore(self.conn, CLUSTERS),
                [
                    {
                        "id": a.cluster_id,
                        "representative_id": a.article_id,
                        "representative_published": by_id[a.article_id].published,
                        "created_at": utcnow(),
                    }
                    for a in founded
                ],
            )
        self.conn.execute(
            update(ARTICLES)
            .where(ARTICLES.c.id == bindparam("a_id"), ARTICLES.c.cluster_id.is_(None))
            .values(cluster_id=bindparam("c_id")),
            [{"a_id": a.article_id, "c_id": a.cluster_id} for a in assignments],
        )
        for a in assignments:
            if a.matched is not None:
                self._promote_if_earlier(a.cluster_id, a.article_id, by_id[a.article_id].published)

    def rebuild_index(self, chunk: int = 100_000) -> int:
        """Replace the LSH index with the band keys of every stored signature in its period,
        written in key order one period at a time (after a change of band layout or of
        ``dedupe.BUCKET_DAYS``, and for bulk loads); return the rows written."""
        from storywatch.dedupe import MIN_SHINGLES, time_bucket  # numpy: only here

        self.conn.execute(delete(BANDS))
        query = (
            select(FINGERPRINTS.c.article_id, FINGERPRINTS.c.signature, ARTICLES.c.published_at)
            .join(ARTICLES, ARTICLES.c.id == FINGERPRINTS.c.article_id)
            .where(FINGERPRINTS.c.shingles >= MIN_SHINGLES)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
            .execution_options(stream_results=True, yield_per=chunk)
        )  # by publication: the periods come one after the other
        written, bucket = 0, 0
        pending: list[Any] = []
        for row in self.conn.execute(query):
            period = time_bucket(row.published_at)
            if period != bucket and pending:
                written += self._write_period(bucket, pending, chunk)
                pending = []
            bucket = period
            pending.append(row)
        if pending:
            written += self._write_period(bucket, pending, chunk)
        return written

    def _write_period(self, bucket: int, rows: Sequence[Any], chunk: int) -> int:
        """Insert one period's band rows, sorted by (band key, article id)."""
        import numpy as np

        from storywatch.dedupe import band_key_matrix

        matrix = band_key_matrix([bytes(row.signature) for row in rows])
        keys = matrix.ravel()
        ids = np.repeat(np.array([row.article_id for row in rows], dtype=np.int64), matrix.shape[1])
        order = np.lexsort((ids, keys))
        keys, ids = keys[order].tolist(), ids[order].tolist()
        for start in range(0, len(keys), chunk):
            part = zip(keys[start : start + chunk], ids[start : start + chunk], strict=True)
            self.conn.execute(
                insert(BANDS), [{"bucket": bucket, "band_key": k, "article_id": a} for k, a in part]
            )
        return len(keys)

    def _promote_if_earlier(self, cluster_id: int, article_id: int, published: datetime) -> None:
        current = CLUSTERS.c.representative_published
        self.conn.execute(
            update(CLUSTERS)
            .where(
                CLUSTERS.c.id == cluster_id,
                or_(
                    current > published,
                    and_(current == published, CLUSTERS.c.representative_id > article_id),
                ),
            )
            .values(representative_id=article_id, representative_published=published)
        )


class ClustersMixin(StorePart):
    """Store methods over clusters: the clustering transaction and what export reads."""

    @contextmanager
    def cluster_transaction(self) -> Iterator[ClusterTransaction]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CLUSTER_LOCK})
            else:  # a write first: SQLite takes its write lock before any read (busy_timeout)
                conn.execute(update(CLUSTERS).where(CLUSTERS.c.id.is_(None)).values(id=None))
            yield ClusterTransaction(conn)

    def cluster_members(self, cluster_id: int) -> list[int]:
        """Article ids of one cluster, representative first, then by publication."""
        query = (
            select(ARTICLES.c.id)
            .where(ARTICLES.c.cluster_id == cluster_id)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def cluster_representatives(self) -> dict[int, int]:
        """cluster id -> its representative (earliest-published) article id."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(CLUSTERS.c.id, CLUSTERS.c.representative_id)).all())
