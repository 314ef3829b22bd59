"""Each workaround in streams/faust_fixes is checked against the upstream code it
replaces: an upgrade of Faust, mode or aiokafka that changes it fails here, loudly."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from streams.faust_fixes.upstream import UPSTREAM, VERSIONS, digest_of


@pytest.mark.parametrize(("package", "expected"), VERSIONS.items())
def test_the_installed_version_is_the_one_the_workarounds_were_written_for(
    package: str, expected: str
) -> None:
    assert version(package) == expected, (
        f"{package} {version(package)} is installed; streams/faust_fixes was written "
        f"against {expected}: read every entry of upstream.py again before changing it"
    )


@pytest.mark.parametrize("entry", UPSTREAM, ids=lambda entry: entry.target)
def test_the_upstream_code_a_workaround_replaces_is_unchanged(entry) -> None:
    assert digest_of(entry.target) == entry.digest, (
        f"{entry.target} changed upstream; read streams/faust_fixes ({entry.used_by}) "
        "against the new code, then record the new digest"
    )


def test_every_entry_names_a_distinct_target() -> None:
    targets = [entry.target for entry in UPSTREAM]
    assert len(targets) == len(set(targets))
