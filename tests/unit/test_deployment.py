"""docker-compose.yml, the README and the settings describe the same configuration."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from streams.broker.distribution import kafka_version
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _readme_variables() -> dict[str, str]:
    rows = re.findall(r"^\| `(STREAMS_[A-Z_]+)` \| ([^|]+) \|", README, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_readme_documents_every_setting() -> None:
    documented = _readme_variables()
    expected = {f"STREAMS_{name.upper()}" for name in Settings.model_fields}
    assert set(documented) == expected


def test_readme_defaults_are_the_real_defaults() -> None:
    documented = _readme_variables()
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
    assert set(environment) <= set(_readme_variables())
    assert environment["STREAMS_BROKER"] == "kafka://kafka:9092"
    assert str(environment["STREAMS_WEB_PORT"]) in str(COMPOSE["services"]["worker"]["ports"])
