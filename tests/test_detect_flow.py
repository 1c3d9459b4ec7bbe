"""The run flow: ingest, then near-duplicate clustering, then the detect flow (one task per
storyline and a table artifact of the run's new developments), under the session's one
prefect_test_harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storywatch.store.repository import Store
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_SWAP,
    ITEM_TALKS,
    ITEM_TALKS_REPEAT,
    write_story_config,
)

pytestmark = pytest.mark.prefect


def test_run_flow_clusters_detects_and_lists_new_developments_in_an_artifact(
    tmp_path: Path,
    feed_server: FeedServer,
    database_url: str,
    prefect_api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
    )

    from flows.ingest import ingest
    from flows.run import run

    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    feed_server.set_feed("/a.xml", rss("A", [ITEM_TALKS, ITEM_SWAP]))
    feed_server.set_feed("/b.xml", rss("B", [ITEM_BAKERY, ITEM_TALKS_REPEAT]))
    config = write_story_config(
        tmp_path, {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")}
    )

    state = asyncio.run(run(str(config), return_state=True))
    assert state.is_completed()
    parent = state.state_details.flow_run_id

    async def detect_artifacts() -> list:
        async with get_client() as client:
            tasks = await client.read_task_runs()
            names = sorted(t.name for t in tasks if t.flow_run_id == parent)
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["new-developments"]))
            )
            return [names, [a for a in artifacts if a.flow_run_id == parent]]

    names, (artifact,) = asyncio.run(detect_artifacts())
    # one pipeline run: store, cluster, one detect task per storyline, digest; no subflows
    assert [n.rsplit("-", 1)[0] for n in names] == [
        "cluster-articles",
        "compose-digests",
        "detect-truce",
        "fetch-and-store",
        "send-digests",
    ]
    assert "detect-truce-talks" in names
    assert artifact.type == "table" and artifact.description == "2 new developments"
    text = str(artifact.data)
    assert ITEM_TALKS["title"] in text and ITEM_SWAP["title"] in text

    store = Store.open(database_url)
    try:
        developments = list(store.iter_developments())
        assert len(developments) == 2
        assert {d.run_id for d in store_runs(store)} >= {str(parent)}
        assert len(developments[0].articles) == 2
        assert all(a.cluster is not None for a in store.iter_articles())  # every one clustered
    finally:
        store.close()

    second = asyncio.run(ingest(str(config))).unquote()  # 304s: nothing new, nothing alerted again
    assert second.new_articles == 0


def store_runs(store: Store) -> list:
    from sqlalchemy import select

    from storywatch.store.schema import DevelopmentRow

    with store.session() as session:
        return list(session.scalars(select(DevelopmentRow)))
