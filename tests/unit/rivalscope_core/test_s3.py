"""The one S3 client factory: what every client of both images shares, and the crawler's
upload client that leaves retrying to the pipeline. Building a client opens no socket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rivalscope_core.s3 import MAX_POOL_CONNECTIONS, make_s3_client

if TYPE_CHECKING:
    import pytest


def test_clients_honour_botocores_endpoint_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    assert make_s3_client().meta.endpoint_url == "http://127.0.0.1:9"
    explicit = make_s3_client(endpoint_url="http://127.0.0.1:10")
    assert explicit.meta.endpoint_url == "http://127.0.0.1:10"


def test_every_client_signs_v4_pools_connections_and_retries_throttling() -> None:
    config: Any = make_s3_client().meta.config  # botocore-stubs leave its options untyped
    assert config.signature_version == "s3v4"
    assert config.max_pool_connections == MAX_POOL_CONNECTIONS
    assert config.retries == {"mode": "standard"}


def test_a_caller_with_its_own_retries_gets_one_bounded_attempt() -> None:
    config: Any = make_s3_client(own_retries=True).meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout) == (10, 30)
