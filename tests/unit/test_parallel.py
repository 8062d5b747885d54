"""``make test``'s split of the suite (``tests/parallel.py``): a renamed test file must not drop
silently out of its group or out of the slowest-first order."""

from __future__ import annotations

from pathlib import Path

from tests.parallel import GROUPS, SLOW_FIRST, unit_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_grouped_or_ordered_path_exists() -> None:
    paths = [path for group in GROUPS.values() for path in group] + list(SLOW_FIRST)
    assert [path for path in paths if not (ROOT / path).exists()] == []


def test_a_grouped_file_is_one_unit_with_its_group_and_any_other_file_its_own() -> None:
    notify = "tests/integration/e2e/test_local_notify.py::test_make_run_sends_one_notification"
    addresses = "tests/integration/local/test_demo_addresses.py::test_x[a::b]"
    assert unit_of(notify) == unit_of(addresses) == "demo-ports"
    assert unit_of("tests/unit/a/test_b.py::TestC::test_d[x]") == "tests/unit/a/test_b.py"
