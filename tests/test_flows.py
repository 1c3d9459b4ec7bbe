"""The Prefect flows run for real, under the session's one prefect_test_harness."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.factories import news_items, rss, write_config
from tests.feedserver import FeedServer

pytestmark = pytest.mark.prefect


def test_ingest_flow_stores_entries_and_publishes_a_summary_artifact(
    tmp_path: Path,
    feed_server: FeedServer,
    database_url: str,
    prefect_api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.ingest import ingest

    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    feed_server.set_feed("/a.xml", rss("A", news_items("alpha", 4)))
    feed_server.set_status("/b.xml", 500)
    config = write_config(
        tmp_path,
        {"Alpha": feed_server.url("/a.xml"), "Broken": feed_server.url("/b.xml")},
        retries=0,
    )

    state = asyncio.run(ingest(str(config), return_state=True))
    assert state.is_completed()
    report = await_result(state).unquote()  # quoted: Prefect does not search it
    assert (report.fetched, report.failed, report.new_articles) == (1, 1, 4)
    assert report.run_id == str(state.state_details.flow_run_id)

    async def summary_rows() -> list:
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-summary"]))
            )
            mine = [a for a in artifacts if a.flow_run_id == state.state_details.flow_run_id]
            return mine

    (artifact,) = asyncio.run(summary_rows())
    assert artifact.type == "table"
    assert "Broken" in str(artifact.data) and "Alpha" in str(artifact.data)

    second = asyncio.run(ingest(str(config))).unquote()
    assert second.new_articles == 0


def await_result(state):  # type: ignore[no-untyped-def]
    """A state's result, whether Prefect hands it back directly or as an awaitable."""
    result = state.result()
    return asyncio.run(result) if asyncio.iscoroutine(result) else result
