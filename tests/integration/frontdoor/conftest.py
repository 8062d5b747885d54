"""The front door over a real S3 (the moto server), with a launcher that records what it was
asked to start (``launch.Launcher`` is our own seam; the AWS one is tested against moto's Step
Functions in test_lambda_url.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from analyzer_lambda.frontdoor.app import FrontDoor
from analyzer_lambda.frontdoor.auth import hash_key
from analyzer_lambda.frontdoor.config import ApiConfig
from analyzer_lambda.frontdoor.http import Request
from analyzer_lambda.frontdoor.launch import LaunchError
from analyzer_lambda.frontdoor.status import LaunchState
from analyzer_lambda.frontdoor.store import FrontStore
from analyzer_lambda.frontdoor.throttle import Throttle
from rivalscope_core.addresses import AddressPolicy
from rivalscope_core.s3 import make_s3_client

if TYPE_CHECKING:
    from analyzer_lambda.frontdoor.http import Response
    from analyzer_lambda.frontdoor.launch import Launch

KEY = "rs_test-key"
PUBLIC = {"a.example": ["93.184.215.14"], "b.example": ["93.184.215.15"]}


@dataclass
class RecordingLauncher:
    launches: list[Launch] = field(default_factory=list)
    refuse: str | None = None
    states: dict[str, LaunchState] = field(default_factory=dict)

    def start(self, launch: Launch) -> dict[str, Any]:
        if self.refuse:
            raise LaunchError(self.refuse)
        self.launches.append(launch)
        return {"execution_arn": f"arn:test:{launch.run}"}

    def state(self, run: str, record: dict[str, Any]) -> LaunchState:
        if record.get("launch_error"):
            return LaunchState("failed", record["launch_error"])
        return self.states.get(run, LaunchState("running"))


@dataclass
class Client:
    front: FrontDoor
    launcher: RecordingLauncher

    def call(self, method: str, path: str, body: Any = None, key: str | None = KEY) -> Response:
        headers = {"host": "api.test", "x-forwarded-proto": "https"}
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        raw = b"" if body is None else json.dumps(body).encode()
        return self.front.handle(Request(method, path, headers=headers, body=raw))

    @staticmethod
    def json(response: Response) -> Any:
        return json.loads(response.body)


def make_front(bucket: str, *, burst: int = 10, clock: Any = None, **config: Any) -> Client:
    settings = ApiConfig(pages_bucket=bucket, key_hashes=(hash_key(KEY),), burst=burst, **config)
    launcher = RecordingLauncher()
    front = FrontDoor(
        config=settings,
        # the project's client (SigV4, which presigned URLs of up to 7 days need)
        store=FrontStore(make_s3_client(), bucket),
        launcher=launcher,
        policy=AddressPolicy.from_entries([], resolver=lambda host, port: PUBLIC[host]),
        digests=lambda: settings.key_hashes,
        starts=Throttle(settings.rate_per_minute, settings.burst),
        reads=Throttle(600, 50),
        clock=clock or (lambda: datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)),
    )
    return Client(front, launcher)


@pytest.fixture
def client(bucket: str) -> Client:
    return make_front(bucket)
