"""Dedupe stage (near-duplicates): syndicated copies and light rewrites share a story cluster.

Pure: text in, fingerprints and cluster decisions out; the store persists them (exact
duplicates, the same URL or guid, never get this far: the store's unique keys drop them).
``minhash`` prepares text and hashes it (MinHash, LSH bands, the time window);
``clusters`` verifies candidates and assigns clusters. Callers use the stage as one API
(``dedupe.fingerprint_many``, ``dedupe.assign_clusters``), re-exported here.
"""

from storywatch.dedupe.clusters import (
    Assignment,
    ClusterCandidate,
    StoredSignature,
    assign_clusters,
    confirmed_matches,
)
from storywatch.dedupe.minhash import (
    BANDS,
    BUCKET_DAYS,
    CONTAINMENT_JACCARD_MIN,
    CONTAINMENT_MIN,
    JACCARD_MIN,
    MIN_SHINGLES,
    NUM_PERM,
    ROWS,
    SHINGLE_WORDS,
    SIGNATURE_VERSION,
    ArticleText,
    Fingerprint,
    band_key_matrix,
    band_keys,
    estimate_containment,
    estimate_jaccard,
    fingerprint,
    fingerprint_many,
    in_window,
    index_probes,
    is_near_duplicate,
    prepare_text,
    same_story,
    shingles,
    strip_boilerplate,
    time_bucket,
)

__all__ = [
    "BANDS",
    "BUCKET_DAYS",
    "CONTAINMENT_JACCARD_MIN",
    "CONTAINMENT_MIN",
    "JACCARD_MIN",
    "MIN_SHINGLES",
    "NUM_PERM",
    "ROWS",
    "SHINGLE_WORDS",
    "SIGNATURE_VERSION",
    "ArticleText",
    "Assignment",
    "ClusterCandidate",
    "Fingerprint",
    "StoredSignature",
    "assign_clusters",
    "band_key_matrix",
    "band_keys",
    "confirmed_matches",
    "estimate_containment",
    "estimate_jaccard",
    "fingerprint",
    "fingerprint_many",
    "in_window",
    "index_probes",
    "is_near_duplicate",
    "prepare_text",
    "same_story",
    "shingles",
    "strip_boilerplate",
    "time_bucket",
]
