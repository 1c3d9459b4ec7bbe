"""The `digest` flow: compose each storyline's digest per recipient, then deliver them.

Two tasks, each one library call: ``compose_configured`` records the digests (one per
storyline and recipient, every unsent development) with pending deliveries;
``send_configured`` sends what is pending, exactly once (the deliveries table decides, not a
Prefect cache: nothing here is cached). A markdown artifact shows each sent digest.

`storywatch run` runs ``digest_steps`` inline after detection for immediate-mode storylines;
the flow itself serves schedules (scheduled-mode storylines) and manual runs.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE

from flows.email_blocks import smtp_settings_from_blocks
from storywatch.config.config import load_config
from storywatch.digest.send import DeliveryOutcome
from storywatch.digest.smtp import SmtpSettings
from storywatch.pipeline.digests import ComposedDigest
from storywatch.pipeline.tasks import compose_configured, send_configured


@task(name="compose-digests", cache_policy=NONE, retries=2, retry_delay_seconds=2)
def compose_digests(
    config_path: str, storylines: list[str] | None, run_id: str | None
) -> list[ComposedDigest]:
    return compose_configured(config_path, storylines, run_id)


# No task retries: a failed delivery stays pending in the database and the next run sends it.
@task(name="send-digests", cache_policy=NONE)
def send_digests(config_path: str, per_storyline: dict[str, SmtpSettings]) -> list[DeliveryOutcome]:
    return send_configured(config_path, per_storyline)


@flow(name="digest", log_prints=False)
async def digest(
    config_path: str, storylines: list[str] | None = None, run_id: str | None = None
) -> list[DeliveryOutcome]:
    """Compose and send the digests of ``storylines`` (all configured ones by default)."""
    load_config(config_path)  # fail fast, listing every problem, before any task runs
    return await digest_steps(config_path, storylines, run_id)


async def digest_steps(
    config_path: str, storylines: list[str] | None, run_id: str | None
) -> list[DeliveryOutcome]:
    """The digest flow's body, also run inline by the `run` flow (a subflow costs ~0.3 s)."""
    logger = get_run_logger()
    composed = compose_digests(config_path, storylines, run_id)
    blocks = await smtp_settings_from_blocks(load_config(config_path))  # storylines' own SMTP
    outcomes = send_digests(config_path, blocks)
    for outcome in outcomes:
        if outcome.status == "sent":
            await acreate_markdown_artifact(
                markdown=outcome.markdown,
                key=artifact_key(outcome.storyline),
                description=outcome.subject,
            )
    sent = sum(o.status == "sent" for o in outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    logger.info(
        "%d digests composed, %d sent, %d pending after failure", len(composed), sent, len(failed)
    )
    for outcome in failed:
        logger.warning(
            "digest %s to %s pending: %s", outcome.digest_id, outcome.recipient, outcome.error
        )
    for outcome in (o for o in outcomes if o.status == "unsure"):
        logger.error(
            "digest %s to %s needs the operator: %s",
            outcome.digest_id,
            outcome.recipient,
            outcome.error,
        )
    return outcomes


def artifact_key(storyline_id: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    return "digest-" + storyline_id.replace("_", "-")
