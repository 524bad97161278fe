"""docker-compose.yml and the Dockerfile, checked without Docker (it does not run here).

The file is validated against the Compose Specification JSON schema, vendored as
`compose-spec.json` (the official schema as shipped in the docker-compose 1.29.2 wheel,
`compose/config/compose_spec.json`, Apache-2.0), so tests need no network. The schema only
proves the shape; the rest of this module proves that the stack would actually start: every
command names a real entry point with real options, every `NEWSLETTER_*` variable is a real
setting, every dependency and volume exists, and secrets have no defaults.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from newsletter.core.settings import Settings, reset_settings
from tests.support.processes import console_script

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = Path(__file__).with_name("compose-spec.json")

APP_SERVICES = ("web", "worker", "beat", "inbound")
EXPECTED = {"postgres", "redis", "migrate", "web", "worker", "beat", "inbound", "mailpit", "flower"}
REQUIRED_SECRETS = {"NEWSLETTER_SECRET_KEY", "POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH"}
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`.
VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
DURATION = re.compile(r"^(\d+(\.\d+)?(us|ms|s|m|h))+$")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution, for the forms this file uses."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        unset_or_empty = current is None or (op is not None and op.startswith(":") and not current)
        if op and op.endswith("?") and unset_or_empty:
            raise MissingVariable(name)
        if op and op.endswith("-") and unset_or_empty:
            return arg
        return current or ""

    return VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def required_variables(text: str) -> set[str]:
    return {m["name"] for m in VAR.finditer(text) if m["op"] and m["op"].endswith("?")}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    """The file as Docker would see it with the required secrets set."""
    env = {name: f"test-{name.lower()}" for name in REQUIRED_SECRETS}
    return interpolate(raw, env)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def command_of(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def settings_env_names() -> set[str]:
    """Every environment variable name `Settings` reads."""
    prefix = Settings.model_config["env_prefix"]
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


# -- shape -------------------------------------------------------------------------------


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft201909Validator.check_schema(json.loads(SCHEMA.read_text()))


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_rejects_unknown_service_keys(compose: dict[str, Any]) -> None:
    """Guards the vendored schema itself: a typo must not validate."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["helthcheck"] = broken["services"]["web"].pop("healthcheck")
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    assert any("helthcheck" in e.message for e in validator.iter_errors(broken))


def test_the_expected_services_exist(services: dict[str, Any]) -> None:
    assert set(services) == EXPECTED


def test_durations_are_compose_durations(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for key in ("interval", "timeout", "start_period"):
            value = service.get("healthcheck", {}).get(key)
            assert value is None or DURATION.match(value), (name, key, value)
        grace = service.get("stop_grace_period")
        assert grace is None or DURATION.match(grace), (name, grace)


# -- wiring ------------------------------------------------------------------------------


def test_long_running_services_have_health_checks(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        check = service.get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_migrate_runs_once_before_the_app(services: dict[str, Any]) -> None:
    assert command_of(services["migrate"]) == ["newsletter", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_dependencies_exist_and_healthy_conditions_have_checks(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, (name, target)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[target], (name, target)


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = set()
    for service in compose["services"].values():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used and used <= declared
    assert declared <= used, f"declared but unused: {declared - used}"


def test_app_containers_share_one_image_and_environment(services: dict[str, Any]) -> None:
    app = [services[name] for name in (*APP_SERVICES, "migrate")]
    assert {s["image"] for s in app} == {"newsletter:latest"}
    assert all(s["build"] == "." for s in app)
    assert all(env_of(s) == env_of(app[0]) for s in app)


# -- environment -------------------------------------------------------------------------


def test_every_newsletter_variable_is_a_real_setting(services: dict[str, Any]) -> None:
    known = settings_env_names()
    for name, service in services.items():
        for key in env_of(service):
            if key.startswith("NEWSLETTER_"):
                assert key in known, f"{name}: {key} is not a Settings field"


def test_secrets_have_no_defaults(raw: dict[str, Any]) -> None:
    assert required_variables(COMPOSE.read_text()) == REQUIRED_SECRETS
    with pytest.raises(MissingVariable):
        interpolate(raw, {})


def test_the_environment_builds_production_settings(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_of(services["worker"]).items():
        monkeypatch.setenv(key, value)
    reset_settings()
    settings = Settings()
    url = make_url(settings.resolved_database_url)
    assert (url.drivername, url.host) == ("postgresql+psycopg", "postgres")
    assert url.database == "newsletter"
    assert settings.resolved_broker_url == "redis://redis:6379/0"
    assert settings.resolved_redis_url is not None
    assert settings.resolved_redis_url.startswith("redis://redis:6379/")
    assert settings.smtp_url == "smtp://mailpit:1025"
    assert settings.secret_key is not None
    assert settings.base_url.startswith("http")
    assert "@" in settings.from_
    assert settings.postal_address


# -- entry points ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["migrate", "web", "inbound"])
def test_newsletter_commands_exist(services: dict[str, Any], name: str) -> None:
    """`newsletter <sub> <options> --help` fails on an unknown command or option."""
    from newsletter.cli import app

    argv = command_of(services[name])
    assert argv[0] == "newsletter"
    result = CliRunner().invoke(app, [*argv[1:], "--help"])
    assert result.exit_code == 0, result.output


def test_the_web_health_check_targets_a_real_route(
    services: dict[str, Any], sqlite_db: str
) -> None:
    """The probe's URL answers 200 on a healthy app (and `urlopen` fails on its 503)."""
    from fastapi.testclient import TestClient

    from newsletter.web.application import create_app

    check = " ".join(services["web"]["healthcheck"]["test"])
    path = re.search(r"127\.0\.0\.1:8000(/[\w/]*)", check)
    assert path is not None
    with TestClient(create_app()) as client:
        response = client.get(path[1])
    assert response.status_code == 200, response.text


def _celery(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the celery CLI as the container would, from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    return subprocess.run(
        [console_script("celery"), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_commands_load_the_app_and_accept_their_options(
    services: dict[str, Any], name: str
) -> None:
    argv = command_of(services[name])
    assert argv[:3] == ["celery", "-A", "worker"]
    assert (ROOT / "worker.py").is_file()
    result = _celery([*argv[1:], "--help"])
    assert result.returncode == 0, result.stderr


def test_worker_module_exposes_a_celery_app_with_the_queues(services: dict[str, Any]) -> None:
    from celery import Celery

    sys.path.insert(0, str(ROOT))
    try:
        import worker
    finally:
        sys.path.remove(str(ROOT))
    assert isinstance(worker.app, Celery)

    argv = command_of(services["worker"])
    queues = set(argv[argv.index("-Q") + 1].split(","))
    assert queues == {"transactional", "bulk"}
    declared = {q.name for q in worker.app.conf.task_queues or ()}
    routed = {r.get("queue") for r in (worker.app.conf.task_routes or {}).values()}
    assert queues <= declared | routed


def test_beat_schedule_runs_the_tick() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import worker
    finally:
        sys.path.remove(str(ROOT))
    worker.app.loader.import_default_modules()
    entries = worker.app.conf.beat_schedule.values()
    ticks = [e for e in entries if e["task"].rsplit(".", 1)[-1] == "tick"]
    assert ticks, f"no tick in beat_schedule: {list(worker.app.conf.beat_schedule)}"
    assert ticks[0]["task"] in worker.app.tasks


def test_worker_health_check_uses_the_same_app(services: dict[str, Any]) -> None:
    check = services["worker"]["healthcheck"]["test"][1]
    assert check.startswith("celery -A worker inspect ping")


def test_flower_watches_the_broker_the_app_uses(services: dict[str, Any]) -> None:
    argv = command_of(services["flower"])
    assert f"--broker={env_of(services['worker'])['NEWSLETTER_BROKER_URL']}" in argv
    assert "flower" in argv


# -- the image ---------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            pairs.append((instruction.upper(), args.strip()))
    return pairs


def test_dockerfile_base_image_user_and_install() -> None:
    steps = dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(op == "RUN" and "pip install" in args and "." in args for op, args in steps)


def test_dockerfile_copies_what_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    copied = []
    for op, args in dockerfile():
        if op == "COPY":
            copied += args.split()[:-1]
    for source in copied:
        assert (ROOT / source).exists(), source
        assert source not in ignored, source
    assert "worker.py" in copied and "newsletter" in copied


def test_dockerfile_environment_is_real_settings_pointing_into_the_image() -> None:
    env_line = " ".join(args for op, args in dockerfile() if op == "ENV")
    pairs = dict(re.findall(r"(\w+)=(\S+)", env_line))
    newsletter = {k: v for k, v in pairs.items() if k.startswith("NEWSLETTER_")}
    assert newsletter.keys() <= settings_env_names()
    for key in ("NEWSLETTER_TEMPLATES_DIR", "NEWSLETTER_CONTENT_DIR"):
        assert (ROOT / Path(newsletter[key]).relative_to("/app")).is_dir(), key
