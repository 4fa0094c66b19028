"""No Docker engine runs here, so check docker-compose.yml against the code it names."""

import itertools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from api.live.settings import LiveSettings
from api.settings import ApiSettings
from darkhorses.cli import app
from darkhorses.jobs import SchedulerSettings
from darkhorses.settings import RacingApiSettings
from producers.racing_api.settings import RacingApiProducerSettings
from producers.settings import SimulatorSettings
from streams.settings import StreamsSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("build")}


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


KNOWN_VARIABLES = set().union(
    *(
        env_names(s)
        for s in (
            ApiSettings,
            LiveSettings,
            StreamsSettings,
            SimulatorSettings,
            RacingApiSettings,
            RacingApiProducerSettings,
            SchedulerSettings,
        )
    )
)


def test_runtime_services_are_built_from_the_one_dockerfile() -> None:
    assert set(OURS) >= {"simulator", "live", "historical", "reference", "maintenance"}
    assert set(OURS) >= {"streams", "api", "migrate", "topics"}
    for service in OURS.values():
        assert service["build"] == "."
    dockerfile = (ROOT / "Dockerfile").read_text()
    # From the tree; `COPY --from=stage` takes a build stage's output instead.
    for source in re.findall(r"^COPY (?!--from=)(\S+)", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    # the native extensions: the COPY encoder and the race analytics
    assert "pip wheel --no-deps -w /wheels /src/pgcopy /src/market" in dockerfile
    assert 'ENTRYPOINT ["darkhorses"]' in dockerfile


def resolve_cli(words: list[str]) -> Any:
    """The CLI command that `darkhorses WORDS...` runs (groups expose `.commands`)."""
    command: Any = typer.main.get_command(app)
    for word in words:
        assert hasattr(command, "commands"), f"`{word}` follows a command that takes no subcommand"
        assert word in command.commands, f"no `darkhorses ... {word}` command"
        command = command.commands[word]
    return command


def test_cli_resolution_rejects_unknown_commands() -> None:
    with pytest.raises(AssertionError, match=r"no `darkhorses \.\.\. bogus`"):
        resolve_cli(["produce", "bogus"])


@pytest.mark.parametrize("name", sorted(OURS))
def test_commands_exist_in_the_cli(name: str) -> None:
    words = list(itertools.takewhile(lambda w: not w.startswith("-"), OURS[name]["command"]))
    command = resolve_cli(words)
    assert not hasattr(command, "commands"), f"{name}: command names a group, not a runtime"
    assert callable(command.callback)


@pytest.mark.parametrize("name", sorted(OURS))
def test_environment_variables_are_read_by_the_settings(name: str) -> None:
    for variable in OURS[name]["environment"]:
        assert variable in KNOWN_VARIABLES, f"{name}: {variable} is not read by any settings class"


def test_infrastructure_images_and_healthchecks() -> None:
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("kafka", "postgres", "api"):
        assert SERVICES[name]["healthcheck"]["test"], f"{name} has no healthcheck"


def test_dependencies_wait_for_health() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            expected = {"service_healthy", "service_completed_successfully"}
            assert rule["condition"] in expected, f"{name} -> {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency]


def test_interpolated_variables_are_documented() -> None:
    header = COMPOSE_TEXT.split("name:", 1)[0]
    for variable in set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT)):
        assert variable in header, f"${{{variable}}} is not documented at the top of the file"


ONE_SHOT = {"migrate", "topics"}  # set-up: they exit, and the runtimes wait for their success
SECRETS = ("POSTGRES_PASSWORD", "API_DB_PASSWORD", "DARKHORSES_STREAM_SECRET")


def test_sources_of_races_are_behind_profiles() -> None:
    profiles = {name: tuple(s.get("profiles", ())) for name, s in SERVICES.items()}
    assert profiles["simulator"] == ("simulator",)
    assert {name for name, p in profiles.items() if p == ("racing-api",)} == {
        "live", "historical", "reference",
    }  # fmt: skip
    # Everything else runs whichever the source.
    assert all(not p for name, p in profiles.items() if name not in OURS or name in (
        "streams", "api", "migrate", "topics", "maintenance",
    ))  # fmt: skip
    jobs = {
        name: OURS[name]["command"] for name in ("simulator", "live", "historical", "reference")
    }
    assert jobs == {
        "simulator": ["schedule", "--jobs", "simulate"],
        "live": ["schedule", "--jobs", "live"],
        "historical": ["schedule", "--jobs", "historical"],
        "reference": [
            "schedule", "--jobs", "reference-entities,reference-courses,reference-regions",
        ],
    }  # fmt: skip
    for name, command in jobs.items():
        SchedulerSettings(jobs=command[2]).selected()  # every job named exists
        assert name == "simulator" or "RACING_API_USERNAME" in OURS[name]["environment"]


def test_every_running_service_has_a_healthcheck_and_restarts() -> None:
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            assert "healthcheck" not in service
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert service["restart"] == "unless-stopped", name
    # The health URLs are the ports the services are told to serve metrics on.
    for name in ("simulator", "live", "historical", "reference", "maintenance"):
        assert OURS[name]["environment"]["DARKHORSES_SCHEDULE_METRICS_PORT"] == 9101
        assert "127.0.0.1:9101/metrics" in " ".join(OURS[name]["healthcheck"]["test"])
    assert OURS["streams"]["environment"]["DARKHORSES_STREAMS_METRICS_PORT"] == 9100
    assert "127.0.0.1:9100/metrics" in " ".join(OURS["streams"]["healthcheck"]["test"])


def test_secrets_are_required_never_defaulted() -> None:
    for secret in SECRETS:
        uses = re.findall(r"\$\{" + secret + r"(:?[-?][^}]*)?\}", COMPOSE_TEXT)
        assert uses, f"{secret} is not used"
        assert all(use.startswith(":?") for use in uses), f"{secret} has a default: {uses}"
    # No password, secret or key anywhere takes a default value.
    for variable, rest in re.findall(r"\$\{(\w+)(:?-[^}]*)\}", COMPOSE_TEXT):
        if any(word in variable for word in ("PASSWORD", "SECRET", "KEY")):
            assert rest == ":-", f"${{{variable}}} defaults to a value"
    assert "darkhorses:latest" not in COMPOSE_TEXT


def test_images_are_pinned_and_kafka_keeps_its_log_on_the_volume() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        assert re.fullmatch(
            r"[\w./-]+:(\d+\.\d+(\.\d+)?|\$\{DARKHORSES_VERSION:-[\d.]+\})", image
        ), f"{name}: image {image} is not pinned to a version"
    kafka = SERVICES["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert any(volume.endswith(f":{log_dirs}") for volume in kafka["volumes"])
    assert any(v.startswith("postgres-data:") for v in SERVICES["postgres"]["volumes"])


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose is not installed here",
)
@pytest.mark.parametrize("profile", ["simulator", "racing-api"])
def test_docker_compose_accepts_the_file(profile: str) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(Path.home())}
    secrets = dict.fromkeys(SECRETS, "x" * 32)
    config = subprocess.run(
        ["docker", "compose", "--profile", profile, "config", "--quiet"],
        cwd=ROOT, env=env | secrets, capture_output=True, text=True,
    )  # fmt: skip
    assert config.returncode == 0, config.stderr
    missing = subprocess.run(
        ["docker", "compose", "--profile", profile, "config", "--quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr
