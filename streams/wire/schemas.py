"""The contract's JSON Schemas (draft 2020-12), compiled once, resolved offline.

Cross-file references (``common.schema.json#/$defs/money``) resolve from a registry of
every schema file under its ``$id``; any other URI is refused, never fetched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from streams.wire.errors import InvalidMessage

# Package data (streams/schemas/); the repository's schemas/ is a symlink to it.
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
SUFFIX = ".schema.json"


def _refuse_retrieval(uri: str) -> Any:
    raise LookupError(f"schema {uri!r} is not in schemas/ (network retrieval is disabled)")


def load_documents(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, dict[str, Any]]:
    """The schema documents, keyed by file stem without ``.schema`` ("call-usage", ...)."""
    return {
        path.name.removesuffix(SUFFIX): orjson.loads(path.read_bytes())
        for path in sorted(schemas_dir.glob(f"*{SUFFIX}"))
    }


def compile_validators(schemas_dir: Path = SCHEMAS_DIR) -> dict[str, jsonschema_rs.Validator]:
    """One validator per schema file. ``format`` is asserted: "2026-02-30T00:00:00Z" fails."""
    documents = load_documents(schemas_dir)
    registry = jsonschema_rs.Registry(
        [(document["$id"], document) for document in documents.values()],
        retriever=_refuse_retrieval,
    )
    return {
        name: jsonschema_rs.validator_for(document, registry=registry, validate_formats=True)
        for name, document in documents.items()
    }


class Validators:
    """The compiled validators, with the first problem as a dead-letter reason."""

    def __init__(self, schemas_dir: Path = SCHEMAS_DIR) -> None:
        self._validators = compile_validators(schemas_dir)

    def __getitem__(self, name: str) -> jsonschema_rs.Validator:
        return self._validators[name]

    def check(self, name: str, message: Any) -> None:
        """Raise InvalidMessage with the first problem, e.g. 'duration_seconds: -5 is ...'."""
        validator = self._validators[name]
        if validator.is_valid(message):
            return
        error = next(validator.iter_errors(message))
        path = ".".join(str(part) for part in error.instance_path)
        raise InvalidMessage(f"{path}: {error.message}" if path else error.message)
