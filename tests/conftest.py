"""Session-wide real servers and per-test fresh state (zyte-api's mockserver/fresh_mockserver).

Every test that talks to S3 gets its own bucket on one moto server started as a subprocess,
through botocore's own ``AWS_ENDPOINT_URL`` variable, exactly as users point rivalscope at a
local endpoint."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from tests.servers.gemini import GeminiServer
from tests.servers.moto import MotoServer
from tests.servers.site import SiteServer
from tests.servers.slack import SlackServer
from tests.servers.webhook import WebhookServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client

# make test runs the suite on several workers: how it splits it
pytest_plugins = ["tests.parallel"]

EVENTS_DIR = Path(__file__).parent / "data" / "events"

# Never reach a real AWS account or Selenium Manager's downloads from a test.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)
os.environ["SE_OFFLINE"] = "true"
os.environ["SE_AVOID_STATS"] = "true"


def load_event(name: str) -> dict[str, Any]:
    """A real sample event from ``tests/data/events/`` (Powertools' habit)."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return data


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    previous = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")}
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    try:
        yield server
    finally:
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3(moto_server: MotoServer) -> S3Client:
    return boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3: S3Client, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, empty bucket per test, also exported as ``PAGES_BUCKET``."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    monkeypatch.setenv("PAGES_BUCKET", name)
    return name


@pytest.fixture(scope="session")
def slack_server_session() -> Iterator[SlackServer]:
    server = SlackServer().start()
    yield server
    server.stop()


@pytest.fixture
def slack_server(slack_server_session: SlackServer) -> SlackServer:
    """The fake Slack Web API (``tests/servers/slack.py``), its records empty for each test."""
    slack_server_session.reset()
    return slack_server_session


@pytest.fixture(scope="session")
def gemini_server() -> Iterator[GeminiServer]:
    """The fake Gemini REST server, one per session (module fixtures reset it themselves)."""
    server = GeminiServer().start()
    yield server
    server.stop()


@pytest.fixture
def gemini(gemini_server: GeminiServer, monkeypatch: pytest.MonkeyPatch) -> GeminiServer:
    """The fake Gemini, reset, and the environment a user would set to reach it."""
    gemini_server.reset()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini_server.base_url)
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    monkeypatch.delenv("ANALYZER", raising=False)
    monkeypatch.delenv("ANALYSIS_PROMPT", raising=False)
    monkeypatch.setenv("GEMINI_MODEL", "gemini-2.5-flash")
    monkeypatch.setenv("GEMINI_RETRY_BASE_DELAY", "0.05")
    monkeypatch.setenv("GEMINI_TIMEOUT", "10")
    monkeypatch.setenv("ANALYZER_STOP_MARGIN", "0")
    monkeypatch.setenv("ANALYZER_CONCURRENCY", "4")
    return gemini_server


@pytest.fixture(scope="session")
def site_server() -> Iterator[SiteServer]:
    server = SiteServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(site_server: SiteServer) -> SiteServer:
    """The session's site server with an empty request log."""
    site_server.clear_log()
    return site_server


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook(webhook_server: WebhookServer) -> WebhookServer:
    """The session's notification endpoint, its log empty and answering 200."""
    webhook_server.reset()
    return webhook_server


@pytest.fixture
def offline_run_complete(monkeypatch: pytest.MonkeyPatch, webhook: WebhookServer) -> None:
    """The run-complete step with no model (the ``extract`` analyser, the default prompt) and
    every run's notification sent to ``webhook`` at once."""
    monkeypatch.setenv("ANALYZER", "extract")
    monkeypatch.delenv("ANALYSIS_PROMPT", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("ANALYZER_STOP_MARGIN", "0")
    monkeypatch.setenv("NOTIFY_URLS", webhook.url("json"))
    monkeypatch.setenv("NOTIFY_ON", "always")
    monkeypatch.setenv("NOTIFY_RETRY_DELAY", "0")
