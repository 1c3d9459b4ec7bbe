"""The cluster step: every stored article without a story cluster gets one (dedupe's decisions,
the store's index), in batches, each one transaction under the cluster lock."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from storywatch import dedupe
from storywatch.store.repository import Store

log = logging.getLogger(__name__)


CLUSTER_BATCH = 1000  # articles per clustering transaction
CLUSTER_BODY_CHARS = 4000  # of the content, when an entry has no summary


@dataclass
class ClusterReport:
    articles: int = 0  # articles clustered
    folded: int = 0  # of which joined an existing cluster (copies)


def cluster_new_articles(store: Store, batch_size: int = CLUSTER_BATCH) -> ClusterReport:
    """Put every article that has no cluster yet (this run's new ones, and any a crashed run
    left) into a story cluster: hash only those, query the stored LSH index in their own and
    the neighbouring publication periods (dedupe's time window), store the result. Each batch
    is one transaction under the cluster lock, so overlapping runs take turns."""
    report = ClusterReport()
    while True:
        with store.cluster_transaction() as tx:
            pending = tx.unclustered(batch_size)
            if not pending:
                break
            texts = [
                dedupe.ArticleText(
                    a.id,
                    a.published,
                    a.title,
                    a.summary or a.content[:CLUSTER_BODY_CHARS],
                    a.source,
                )
                for a in pending
            ]
            fingerprints = dedupe.fingerprint_many(texts)
            stored = tx.sharing(dedupe.index_probes(fingerprints))
            candidates = tx.candidates(stored, dedupe.confirmed_matches(fingerprints, stored))
            assignments = dedupe.assign_clusters(fingerprints, candidates)
            tx.save(fingerprints, assignments)
        report.articles += len(assignments)
        report.folded += sum(1 for a in assignments if a.matched is not None)
    if report.articles:
        log.info("clustered %d articles, %d folded into a story", report.articles, report.folded)
    return report
