"""``make run`` with ``NOTIFY_URLS``: the demo watch list (competitors with prompts of their
own) crawled in real Chromium, the run-complete step done, and one notification posted by
Apprise to a real endpoint on loopback, with the counts and the local report's ``file://``
link; a second endpoint that fails makes ``make run`` exit 1, with the run's report written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.servers.webhook import WebhookServer

# the demo's fixed addresses, kept across starts: one such file at a time (tests/parallel.py's
# GROUPS)
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _make_run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SE_OFFLINE": "true", "NOTIFY_RETRY_DELAY": "0", **env}
    for name in ("ANALYZER", "AWS_ENDPOINT_URL", "PAGES_BUCKET", "GEMINI_API_KEY"):
        environ.pop(name, None)  # the local stack sets its own; no key: the offline analyser
    return subprocess.run(
        [sys.executable, "-m", "rivalscope_local.run", "--data-dir", str(tmp_path / "data"),
         "--out", str(tmp_path / "out")],
        env=environ, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_make_run_sends_one_notification_with_the_local_report_link(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    webhook.fail("/down", 500)  # a second service that is down
    urls = f"{webhook.url('json')} {webhook.url('json', '/down')}"
    run = _make_run(tmp_path, NOTIFY_URLS=urls, NOTIFY_ON="always", NOTIFY_MAX_ATTEMPTS="2")
    # the service that is down costs exit 1, not the run's data
    assert run.returncode == 1, run.stdout[-4000:] + run.stderr[-4000:]
    assert "rivalscope: notification not sent: json://127.0.0.1 failed 2 attempt(s)" in run.stdout
    assert len(webhook.to("/down")) == 2
    # the demo's competitors with prompts of their own no longer leave the run incomplete
    assert "run-complete step: done" in run.stdout
    [report] = (tmp_path / "out").glob("*/report.html")
    assert f"rivalscope: report: {report.resolve()}" in run.stdout

    [posted] = webhook.to("/hook")  # one message for the run
    message = posted.json()
    assert report.resolve().as_uri() in message["message"]
    run_id = report.parent.name
    # the first capture of every page: all new
    pages = report.read_text("utf-8").count('<article class="card')
    assert message["title"] == f"rivalscope · run {run_id}: {pages} change(s)"
    assert f"0 changed, {pages} new, 0 removed" in message["message"]
