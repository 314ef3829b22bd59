"""docker-compose.yml, the README and the settings describe the same configuration; the
image installs the wheel as a user other than root; the lock files pin what pyproject asks."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from streams.api.auth import Caller, Tokens
from streams.broker.distribution import kafka_version
from streams.faust_fixes.upstream import VERSIONS
from streams.settings import Settings
from streams.wire.schemas import SCHEMAS_DIR

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text()  # the table of settings
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = REPO / "requirements.lock"
RUNTIME_LOCK = REPO / "requirements-runtime.lock"
EXAMPLE_TOKEN = "example-only-compose-admin-token"  # deploy/README.md: an example only


def _documented_variables() -> dict[str, str]:
    pattern = r"^\| `(STREAMS_[A-Z_]+)` \| ([^|]+) \|"
    rows = re.findall(pattern, CONFIGURATION, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_the_configuration_page_documents_every_setting() -> None:
    documented = _documented_variables()
    expected = {f"STREAMS_{name.upper()}" for name in Settings.model_fields}
    assert set(documented) == expected
    for name in re.findall(r"`(STREAMS_[A-Z_]+)`", README):  # what the README names exists
        assert name in documented, name


def test_documented_defaults_are_the_real_defaults() -> None:
    documented = _documented_variables()
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if default is None or name in ("cache_dir", "web_host"):  # of the machine
            continue
        shown = documented[f"STREAMS_{name.upper()}"]
        value = "" if shown == "(empty)" else shown.strip("`")
        # Read as the variable would be: "30d" is the default of 2,592,000 seconds.
        assert getattr(Settings(**{name: value}), name) == default, name


def test_compose_runs_kafka_of_the_same_line_and_a_worker() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"kafka", "worker"}
    image, tag = services["kafka"]["image"].split(":")
    assert image == "apache/kafka"
    assert tag.split(".")[:2] == kafka_version().split(".")[:2]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_worker_uses_only_documented_variables() -> None:
    environment = COMPOSE["services"]["worker"]["environment"]
    assert set(environment) <= set(_documented_variables())
    assert str(environment["STREAMS_WEB_PORT"]) in str(COMPOSE["services"]["worker"]["ports"])


def _listeners(value: str) -> dict[str, tuple[str, int]]:
    """ "INTERNAL://kafka:29092,EXTERNAL://:9092" -> {"INTERNAL": ("kafka", 29092), ...}"""
    found = {}
    for listener in value.split(","):
        name, _, address = listener.partition("://")
        host, _, port = address.rpartition(":")
        found[name] = (host, int(port))
    return found


def test_compose_broker_has_a_listener_for_the_containers_and_one_for_the_host() -> None:
    kafka = COMPOSE["services"]["kafka"]["environment"]
    listening = _listeners(kafka["KAFKA_LISTENERS"])
    advertised = _listeners(kafka["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        item.split(":") for item in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(listening) == set(protocols) == set(advertised) | {"CONTROLLER"}
    # The workers reach the broker by its service name, on the listener advertised so.
    worker_broker = COMPOSE["services"]["worker"]["environment"]["STREAMS_BROKER"]
    internal = next(name for name, (host, _) in advertised.items() if host == "kafka")
    assert worker_broker == f"kafka://kafka:{advertised[internal][1]}"
    assert listening[internal][1] == advertised[internal][1]
    assert kafka["KAFKA_INTER_BROKER_LISTENER_NAME"] == internal
    # A client on the host bootstraps from localhost:9092 and is told localhost:9092 back.
    external = next(name for name, (host, _) in advertised.items() if host == "localhost")
    assert advertised[external] == ("localhost", 9092)
    assert f"127.0.0.1:9092:{listening[external][1]}" in COMPOSE["services"]["kafka"]["ports"]


def test_compose_worker_reads_the_example_tokens_file() -> None:
    worker = COMPOSE["services"]["worker"]
    mounts = dict(volume.removesuffix(":ro").split(":") for volume in worker["volumes"])
    source = REPO / next(
        source
        for source, target in mounts.items()
        if target == worker["environment"]["STREAMS_API_TOKENS_FILE"]
    )
    tokens = Tokens.load(source)
    assert tokens.caller(f"Bearer {EXAMPLE_TOKEN}") == Caller("compose-example", "admin")
    assert tokens.caller("Bearer another-token") is None
    assert EXAMPLE_TOKEN in (REPO / "deploy" / "README.md").read_text()
    # The token is public: the API it opens is published on the host's loopback only.
    assert all(port["host_ip"] == "127.0.0.1" for port in worker["ports"])


def _final_stage() -> list[tuple[str, str]]:
    """The last stage of the Dockerfile as (INSTRUCTION, arguments), continuations joined."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line.split(maxsplit=1) for line in lines if line and line[0] != "#"]
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword.upper() == "FROM")
    assert last_from > 0, "one stage builds the wheel, another installs it"
    return [(keyword.upper(), arguments) for keyword, arguments in instructions[last_from:]]


def test_image_installs_the_wheel_with_the_locked_dependencies_not_the_source() -> None:
    stage = _final_stage()
    runs = [arguments for keyword, arguments in stage if keyword == "RUN"]
    assert any("--require-hashes -r /tmp/requirements-runtime.lock" in run for run in runs)
    assert any("--no-deps /tmp/dist/*.whl" in run for run in runs)
    assert ("COPY", "--from=build /dist/ /tmp/dist/") in stage
    assert not any((keyword, arguments[:2]) == ("COPY", ". ") for keyword, arguments in stage)
    for run in runs:
        assert not {"-e", "--editable"} & set(shlex.split(run)), run


def test_image_runs_as_a_user_other_than_root_and_listens_on_every_address() -> None:
    stage = _final_stage()
    users = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    environment = dict(
        item.split("=", 1)
        for keyword, arguments in stage
        if keyword == "ENV"
        for item in shlex.split(arguments)
    )
    assert environment["STREAMS_WEB_BIND"] == "0.0.0.0"
    assert stage[-1] == ("CMD", '["streams", "worker"]')


def test_the_repository_schemas_directory_is_the_package_data() -> None:
    link = REPO / "schemas"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == SCHEMAS_DIR.resolve() == REPO / "streams" / "schemas"
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]["streams"]
    assert "schemas/*.schema.json" in package_data
    assert "default_rate_card.json" in package_data


def _locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """A lock file's pins: {name: (version, [hash, ...])}."""
    entries = re.findall(r"^(\S+)==(\S+)((?:\s*\\\n\s+--hash=\S+)+)", path.read_text(), re.M)
    return {
        canonicalize_name(name): (version, re.findall(r"--hash=(\S+)", hashes))
        for name, version, hashes in entries
    }


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [Requirement(line) for line in listed]


def test_every_requirement_of_pyproject_is_locked_with_hashes() -> None:
    lock, runtime = _locked(LOCK), _locked(RUNTIME_LOCK)
    text = LOCK.read_text()
    assert len(lock) == text.count("==") and all(hashes for _, hashes in lock.values())
    for path, pins, requirements in (
        (LOCK, lock, _requirements() + _requirements("test")),
        (RUNTIME_LOCK, runtime, _requirements()),
    ):
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{path.name} lacks {name}: run make lock"
            assert requirement.specifier.contains(pins[name][0], prereleases=True), (
                f"{path.name} has {name} {pins[name][0]}, pyproject asks {requirement}: "
                "run make lock"
            )


def test_the_runtime_lock_is_the_lock_without_the_test_tools() -> None:
    lock, runtime = _locked(LOCK), _locked(RUNTIME_LOCK)
    assert {name: lock.get(name) for name in runtime} == runtime
    assert not {canonicalize_name(r.name) for r in _requirements("test")} & set(runtime)


def test_faust_mode_and_aiokafka_are_pinned_to_the_versions_the_workarounds_read() -> None:
    pinned = {canonicalize_name(r.name): str(r.specifier) for r in _requirements()}
    for package, version in VERSIONS.items():
        assert pinned[package] == f"=={version}", f"pyproject.toml: {package} {pinned[package]}"
        for path in (LOCK, RUNTIME_LOCK):
            assert _locked(path)[package][0] == version, f"{path.name}: {package}"


def test_the_venv_is_installed_from_the_lock_and_again_when_it_changes() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)$", makefile, re.M)
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
