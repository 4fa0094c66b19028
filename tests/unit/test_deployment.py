"""No Docker engine runs here, so check docker-compose.yml against the code it names."""

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic_settings import BaseSettings

from api.live.settings import LiveSettings
from api.settings import ApiSettings
from darkhorses.cli import app
from darkhorses.settings import RacingApiSettings
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
        for s in (ApiSettings, LiveSettings, StreamsSettings, SimulatorSettings, RacingApiSettings)
    )
)


def test_runtime_services_are_built_from_the_one_dockerfile() -> None:
    assert set(OURS) >= {"producer", "streams", "api", "migrate", "topics"}
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
    command = resolve_cli(list(OURS[name]["command"]))
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
