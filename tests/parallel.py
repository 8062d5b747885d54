"""How ``make test`` splits the suite over pytest-xdist workers (``-n N --dist loadgroup``).

- **One file, one worker**: a test file is one unit of work, so its module fixtures (a crawl,
  four ``make run``) start once, not once per worker that got one of its tests.
- **xdist_group**: the files marked ``pytest.mark.xdist_group(name)`` form one unit together,
  run one after another on one worker. ``demo-ports``: the tests whose demo sites bind the
  demo's fixed addresses (``127.0.0.N:8470``, ``rivalscope_local/demo.py``) and check that a
  site keeps its address from one start to the next; two at once would take each other's.
- **Longest first**: the slowest units start first (:data:`SLOW_FIRST`, from ``pytest
  --durations``) and the many short unit tests fill the end, so no worker is left alone with a
  long file while the other is done.

Every session fixture (the moto server, the fake Gemini, Slack and webhook servers) is per
worker: each worker is its own pytest session, and each server takes a free port. A plain
``pytest`` (no ``-n``) runs as before, in collection order."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from xdist.scheduler import LoadGroupScheduling

if TYPE_CHECKING:
    import pytest
    from xdist.remote import Producer

# Test files (or folders) by time taken, longest first (`pytest -n 2 --durations=0`, summed per
# file); whatever is not listed comes after them, integration tests before unit tests.
SLOW_FIRST = (
    "tests/integration/e2e/test_demo_changes.py",  # the demo-ports group
    "tests/integration/e2e/",
)


class FilesAndGroups(LoadGroupScheduling):  # type: ignore[misc]  # xdist has no py.typed
    """loadgroup's scheduler, with each ungrouped file as one unit instead of each test."""

    def _split_scope(self, nodeid: str) -> str:
        scope = super()._split_scope(nodeid)  # the group after "@", or the test's own id
        return scope if scope != nodeid else nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> FilesAndGroups | None:
    if config.getvalue("dist") == "loadgroup":
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
    piece, in its own order). The scheduler hands out units in this order (Makefile:
    ``--no-loadscope-reorder``, else it would sort them by number of tests)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_rank)
