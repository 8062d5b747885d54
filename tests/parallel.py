"""How ``make test`` splits the suite over pytest-xdist workers (``-n N``; pyproject.toml's
``--dist loadfile --no-loadscope-reorder``).

- **One file, one worker**: a test file is one unit of work, so its module fixtures (a crawl,
  four ``make run``) start once, not once per worker that got one of its tests.
- **Groups** (:data:`GROUPS`): the files of a group form one unit together, run one after
  another on one worker. ``demo-ports``: the tests whose demo sites bind the demo's fixed
  addresses (``127.0.0.N:8470``, ``rivalscope_local/demo.py``) and check that a site keeps its
  address from one start to the next; two at once would take each other's. (Not xdist's own
  ``xdist_group`` mark: xdist 3.8 renames the test's ``_nodeid``, which pytest 9.2 no longer
  reads, so the mark is silently ignored; the scheduler here sees only test ids, hence a list.)
- **Longest first**: the slowest units start first (:data:`SLOW_FIRST`, from ``pytest
  --durations``) and the many short unit tests fill the end, so no worker is left alone with a
  long file while the other is done.

Every session fixture (the moto server, the fake Gemini, Slack and webhook servers) is per
worker: each worker is its own pytest session, and each server takes a free port. A plain
``pytest`` (no ``-n``) runs as before, in collection order."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from xdist.scheduler import LoadFileScheduling

if TYPE_CHECKING:
    import pytest
    from xdist.remote import Producer

# Test files (or folders) by time taken, longest first (`pytest -n 2 --durations=0`, summed per
# file); whatever is not listed comes after them, integration tests before unit tests.
SLOW_FIRST = (
    "tests/integration/e2e/test_demo_changes.py",  # the demo-ports group
    "tests/integration/e2e/",
)


# Files that must not run at the same time as each other: each group is one unit of work.
GROUPS = {
    "demo-ports": (
        "tests/integration/e2e/test_demo_changes.py",
        "tests/integration/e2e/test_local_notify.py",
        "tests/integration/local/test_demo_addresses.py",
    ),
}
_GROUP_OF = {path: name for name, paths in GROUPS.items() for path in paths}


class FilesAndGroups(LoadFileScheduling):  # type: ignore[misc]  # xdist has no py.typed
    """loadfile's scheduler: each file one unit, except that the files of a group are one."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its group's name, or its file."""
    path = nodeid.split("::", 1)[0]
    return _GROUP_OF.get(path, path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> FilesAndGroups | None:
    if config.getvalue("dist") == "loadfile":
        return FilesAndGroups(config, log)
    return None


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    for rank, prefix in enumerate(SLOW_FIRST):
        if path.startswith(prefix):
            return rank
    return len(SLOW_FIRST) + (0 if path.startswith("tests/integration/") else 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On an xdist worker, the slowest files first (a stable sort: each file stays in one
    piece, in its own order). The scheduler hands out units in this order (pyproject.toml:
    ``--no-loadscope-reorder``, else it would sort them by number of tests)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_rank)
