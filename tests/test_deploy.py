"""deploy/: prefect.yaml deployed for real (`prefect deploy --all` against the session's Prefect
API, then one run picked up by a process worker), and the compose file checked structurally
(Docker is not available where these tests run: YAML, services, wiring, variables)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factories import news_items, rss, write_config
from tests.feedserver import FeedServer

PROJECT = Path(__file__).resolve().parent.parent
DEPLOY = PROJECT / "deploy"
PREFECT = str(Path(sys.executable).parent / "prefect")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / name).read_text())
    assert isinstance(data, dict)
    return data


def prefect_yaml_deployments() -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in load("prefect.yaml")["deployments"]}


# -- prefect.yaml --------------------------------------------------------------------------------


def test_prefect_yaml_declares_every_deployment_on_the_process_pool() -> None:

    deployments = prefect_yaml_deployments()
    assert set(deployments) == {
        "ingest",
        "ukraine-peace-talks",
        "storywatch-backfill",
        "backfill-by-day",
    }
    for deployment in deployments.values():
        assert deployment["work_pool"]["name"] == "storywatch"
        assert deployment["parameters"]["config_path"] == "{{ $STORYWATCH_CONFIG }}"
        assert deployment["concurrency_limit"]["limit"] == 1
    ingest = deployments["ingest"]
    assert ingest["concurrency_limit"]["collision_strategy"] == "CANCEL_NEW"
    digest = deployments["ukraine-peace-talks"]
    assert digest["parameters"]["storylines"] == ["ukraine-peace-talks"]
    assert deployments["storywatch-backfill"]["concurrency_limit"]["collision_strategy"] == (
        "ENQUEUE"
    )
    driver = deployments["backfill-by-day"]["parameters"]
    assert driver["deployment"] == "backfill/storywatch-backfill"
    (pull,) = load("prefect.yaml")["pull"]
    assert pull == {
        "prefect.deployments.steps.set_working_directory": {
            "directory": "{{ $STORYWATCH_PROJECT_DIR }}"
        }
    }


@pytest.mark.prefect
@pytest.mark.slow
def test_prefect_deploy_all_registers_the_deployments_and_a_process_worker_runs_one(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str
) -> None:
    if not (PROJECT / "flows" / "backfill.py").exists():
        pytest.skip("flows/backfill.py is not there yet: prefect.yaml's backfill entrypoints")
    feed_server.set_feed("/wire.xml", rss("Wire", news_items("wire", 3)))
    config = write_config(tmp_path / "site", {"Wire": feed_server.url("/wire.xml")})
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    env |= {"PREFECT_API_URL": prefect_api_url, "STORYWATCH_CONFIG": str(config)}

    def prefect(*args: str, timeout: float = 180) -> str:
        done = subprocess.run(
            [PREFECT, "--no-prompt", *args],
            cwd=DEPLOY,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # As deploy/README.md says: create the process pool, then deploy everything.
    prefect("work-pool", "create", "storywatch", "--type", "process", "--overwrite")
    output = prefect("deploy", "--all")
    assert "run/ingest" in output, output
    found = asyncio.run(_read_deployments())
    assert set(found) == {
        "run/ingest",
        "digest/ukraine-peace-talks",
        "backfill/storywatch-backfill",
        "backfill-by-day/backfill-by-day",
    }
    ingest = found["run/ingest"]
    assert ingest.work_pool_name == "storywatch"
    assert ingest.parameters == {"config_path": str(config), "kind": "scheduled"}
    assert [s.schedule.interval for s in ingest.schedules] == [timedelta(minutes=30)]
    assert ingest.global_concurrency_limit.limit == 1
    assert ingest.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert ingest.pull_steps == [
        {
            "prefect.deployments.steps.set_working_directory": {
                "directory": "{{ $STORYWATCH_PROJECT_DIR }}"
            }
        }
    ]
    digest = found["digest/ukraine-peace-talks"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in digest.schedules] == [
        ("0 7 * * *", "Europe/Kyiv")
    ]
    backfill = found["backfill/storywatch-backfill"]
    assert {"since", "until", "email", "storyline", "sources"} <= set(
        backfill.parameter_openapi_schema["properties"]
    )
    assert backfill.concurrency_options.collision_strategy == "ENQUEUE"

    # A worker on the pool runs a run of run/ingest: the pull step, the module entrypoint and
    # the config path all work on a machine with storywatch installed.
    flow_run_id = asyncio.run(_submit(ingest.id))
    workdir = tmp_path / "worker"
    workdir.mkdir()
    env["STORYWATCH_PROJECT_DIR"] = str(workdir)
    prefect("worker", "start", "--pool", "storywatch", "--type", "process", "--run-once")
    state = asyncio.run(_flow_run_state(flow_run_id))
    assert state.is_completed(), state
    assert (tmp_path / "site" / "storywatch.db").exists()
    assert feed_server.requests_to("/wire.xml")


async def _read_deployments() -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    async with get_client() as client:
        deployments = await client.read_deployments(
            work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=["storywatch"]))
        )
        flows = {f.id: f.name for f in await client.read_flows()}
    return {f"{flows[d.flow_id]}/{d.name}": d for d in deployments}


async def _submit(deployment_id: Any) -> Any:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return (await client.create_flow_run_from_deployment(deployment_id)).id


async def _flow_run_state(flow_run_id: Any) -> Any:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return (await client.read_flow_run(flow_run_id)).state


def test_prefect_yaml_schedules_what_serve_would_from_the_shipped_sources_yaml() -> None:
    """prefect.yaml is static, kept in step with sources.yaml by hand: the same scheduled
    deployments, intervals, crons and time zones as `storywatch serve` derives from it."""
    from flows.serve import build_deployments
    from storywatch.config.config import load_config

    def served(schedule: Any) -> tuple[Any, ...]:
        if getattr(schedule, "interval", None) is not None:
            return ("interval", int(schedule.interval.total_seconds()))
        return ("cron", schedule.cron, schedule.timezone)

    def declared(schedule: dict[str, Any]) -> tuple[Any, ...]:
        if "interval" in schedule:
            return ("interval", schedule["interval"])
        return ("cron", schedule["cron"], schedule["timezone"])

    from_serve = {
        d.name: [served(s.schedule) for s in d.schedules]
        for d in build_deployments(load_config(PROJECT / "sources.yaml"))
        if d.schedules
    }
    from_yaml = {
        name: [declared(s) for s in d["schedules"]]
        for name, d in prefect_yaml_deployments().items()
        if d.get("schedules")
    }
    assert from_yaml == from_serve
    assert from_yaml["ukraine-peace-talks"] == [("cron", "0 7 * * *", "Europe/Kyiv")]


# -- docker-compose.yml: structure only (no Docker here) --------------------------------------


def compose() -> dict[str, Any]:
    return load("docker-compose.yml")


def test_compose_has_the_services_and_everything_they_name_exists() -> None:
    data = compose()
    services = data["services"]
    assert {"prefect-db", "prefect-server", "storywatch-db", "mailpit", "deploy", "worker"} <= (
        set(services)
    )
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on a missing service {needed}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts a missing {source}"
            else:
                assert source in data["volumes"], f"{name} uses an undeclared volume {source}"
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context == PROJECT
            assert (context / service["build"]["dockerfile"]).exists()
    assert services["worker"]["depends_on"]["deploy"]["condition"] == (
        "service_completed_successfully"
    )


def test_compose_wires_prefect_storywatch_postgres_and_the_mail_catcher_consistently() -> None:
    from sqlalchemy.engine import make_url

    services = compose()["services"]
    worker = services["worker"]["environment"]

    # Prefect server on its own PostgreSQL.
    server_db = make_url(
        services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    )
    _assert_postgres_service(server_db, services[server_db.host]["environment"])
    assert server_db.host == "prefect-db" and server_db.drivername == "postgresql+asyncpg"

    # Worker and deploy reach the server by its service name and port.
    port = re.search(r"--port (\d+)", services["prefect-server"]["command"])
    assert port is not None
    for name in ("worker", "deploy"):
        assert services[name]["environment"]["PREFECT_API_URL"] == (
            f"http://prefect-server:{port[1]}/api"
        )

    # storywatch's own database, reachable as the URL says.
    database = make_url(worker["STORYWATCH_DATABASE_URL"])
    assert database.host == "storywatch-db" and database.port == 5432
    _assert_postgres_service(database, services["storywatch-db"]["environment"])

    # Mail goes to the catcher's SMTP port, in clear (it is a test inbox).
    assert worker["STORYWATCH_SMTP_HOST"] == "mailpit"
    assert f"{worker['STORYWATCH_SMTP_PORT']}:1025" in " ".join(services["mailpit"]["ports"])
    assert worker["STORYWATCH_SMTP_SECURITY"] == "none"

    # The config the deployments name is the one mounted into the containers.
    config = worker["STORYWATCH_CONFIG"]
    assert f"../sources.yaml:{config}:ro" in services["worker"]["volumes"]
    assert worker["STORYWATCH_PROJECT_DIR"] == str(Path(config).parent)


def test_compose_sets_every_variable_prefect_yaml_needs_and_only_known_ones() -> None:
    services = compose()["services"]
    text = (DEPLOY / "prefect.yaml").read_text()
    wanted = set(re.findall(r"\{\{ \$(\w+) \}\}", text))
    assert wanted == {"STORYWATCH_CONFIG", "STORYWATCH_PROJECT_DIR"}
    for name in ("deploy", "worker"):
        assert wanted <= set(services[name]["environment"])
    # Every STORYWATCH_* variable set is one storywatch (or prefect.yaml) reads.
    library = "\n".join(p.read_text() for p in (PROJECT / "storywatch").rglob("*.py"))
    for name in services["worker"]["environment"]:
        if name.startswith("STORYWATCH_"):
            assert name in library or name in wanted, f"{name} is read by nothing"
    # The pool the worker pulls from is the pool the deployments and the deploy step name.
    assert "--pool storywatch" in services["worker"]["command"]
    assert "work-pool create storywatch --type process" in " ".join(services["deploy"]["command"])
    assert {d["work_pool"]["name"] for d in prefect_yaml_deployments().values()} == {"storywatch"}


def _assert_postgres_service(url: Any, environment: dict[str, str]) -> None:
    assert url.username == environment["POSTGRES_USER"]
    assert url.password == environment["POSTGRES_PASSWORD"]
    assert url.database == environment["POSTGRES_DB"]


# -- images: one Prefect version, dependencies cached, not root ------------------------------


def test_the_server_image_the_worker_image_and_prefect_yaml_share_one_prefect_version() -> None:
    pinned = re.search(r"^prefect==([\d.]+)$", (DEPLOY / "constraints.txt").read_text(), re.M)
    assert pinned is not None
    server = compose()["services"]["prefect-server"]["image"]
    assert server == f"prefecthq/prefect:{pinned[1]}-python3.12"
    assert str(load("prefect.yaml")["prefect-version"]) == pinned[1]


def test_the_image_installs_dependencies_before_the_code_and_runs_unprivileged() -> None:
    steps = [
        line.split(None, 1)
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line and not line.startswith("#") and not line.startswith(" ")
    ]
    text = [" ".join(step) for step in steps]
    constraints = next(i for i, s in enumerate(text) if "-r /wheels/constraints.txt" in s)
    code = next(i for i, s in enumerate(text) if s.startswith("COPY storywatch"))
    assert constraints < code  # a code change leaves the dependency layer cached
    assert "--no-deps" in next(s for s in text[code:] if s.startswith("RUN pip install"))
    assert steps[-1][0] == "USER" and steps[-1][1] != "root"
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def test_the_deploy_step_keeps_an_existing_pool_and_is_not_restarted_in_a_loop() -> None:
    deploy = compose()["services"]["deploy"]
    command = " ".join(deploy["command"])
    assert "--overwrite" not in command  # it reset the operator's pool settings on every up
    assert "work-pool inspect storywatch" in command
    assert deploy["restart"] == "no"  # on-failure looped forever on a bad prefect.yaml
    server = compose()["services"]["prefect-server"]["environment"]
    assert (
        not server["PREFECT_UI_API_URL"]
        .removeprefix("${PREFECT_UI_API_URL:-")
        .startswith("http://localhost")
    )  # the UI must reach the API from another machine
