from __future__ import annotations

from pathlib import Path

import jsonschema_rs
import pytest

from streams.wire.schemas import compile_validators

REPO = Path(__file__).resolve().parents[3]
SCHEMAS_DIR = REPO / "schemas"
DEFAULT_RATE_CARD = REPO / "streams" / "default_rate_card.json"


@pytest.fixture(scope="session")
def validators() -> dict[str, jsonschema_rs.Validator]:
    return compile_validators(SCHEMAS_DIR)
