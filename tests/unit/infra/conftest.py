"""The template, parsed once per test module (each module gets its own copy: a test that
looks too closely cannot change what the next module reads)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.infra.cfn import load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])
