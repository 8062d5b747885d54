"""The one place that builds S3 clients, for both images (the crawler image copies
``rivalscope_core`` beside ``crawler``; the analyser image beside ``analyzer_lambda``).

Every client gets the same configuration, so a fix lands everywhere at once:

- the endpoint, region and credentials are botocore's own business (``AWS_ENDPOINT_URL(_S3)``,
  ``AWS_DEFAULT_REGION``, the credential chain); only the local stack, which owns its endpoint,
  names them (``endpoint_url=...``);
- SigV4, which presigned report URLs need;
- 64 pooled connections instead of botocore's 10: the analyser runs pages on several threads
  and re-analysis runs chunks side by side;
- botocore's ``standard`` retries (S3's 503 SlowDown), unless the caller retries itself:
  ``own_retries=True`` (the crawler's upload, which keeps the chunk and retries with backoff)
  makes one attempt, bounded to 10 s to connect and 30 s to read.

Each call builds its client in a fresh ``boto3`` session: the default session is not safe to
build clients from on several threads, and a session caches the credentials it resolved. A
build costs 0.18 s of CPU (0.76 s wall on a loaded 2-core machine: ``python -m
bench.s3_client``, bench/RESULTS.md), most of it botocore reading its JSON data files (the S3
service model, the endpoint rules); so the sessions share one botocore data loader, which
caches what it read, and every later client of the process costs 0.02 s of CPU instead of
0.13 s (issue #13: a crawl process builds one for its pipeline and one for its shard marker).
Long-lived callers still build one and keep it (``analyzer_lambda.deps``, the pipeline's
``from_crawler``)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_POOL_CONNECTIONS = 64


@cache
def _shared_loader() -> Any:
    """The process's botocore data loader (module docstring). Two threads racing here at
    first may each build one; either is good."""
    from botocore.loaders import create_loader

    return create_loader()


def make_s3_client(
    *,
    own_retries: bool = False,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    aws_access_key_id: str | None = None,
    aws_secret_access_key: str | None = None,
) -> S3Client:
    import boto3  # imported here: the handler module stays light to import (bench/analyzer.py)
    import botocore.session
    from botocore.config import Config

    if own_retries:
        config = Config(
            signature_version="s3v4",
            max_pool_connections=MAX_POOL_CONNECTIONS,
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=30,
        )
    else:
        config = Config(
            signature_version="s3v4",
            max_pool_connections=MAX_POOL_CONNECTIONS,
            retries={"mode": "standard"},
        )
    core = botocore.session.Session()
    core.register_component("data_loader", _shared_loader())
    return boto3.session.Session(botocore_session=core).client(
        "s3",
        config=config,
        endpoint_url=endpoint_url,
        region_name=region_name,
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
    )
