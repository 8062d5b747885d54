"""The first step of the scheduled crawl's state machine (infra/template.yaml): how many shards
a URL list is crawled in, and the run id they share.

Each shard task gets the whole watch list (``-a watchlist=``; a plain URL list is one too) and
``-a shard=I/N``; the crawler keeps the URLs whose site (registrable domain,
``rivalscope_core.sites``; a competitor's sites together) hashes to I
(``rivalscope_core.urls``), so no site is in two shards and every URL is in one. This step
only chooses N: the ``max_shards`` parameter, but never more than the list's sites (a shard
per site at most, a competitor's sites counting as one, as the crawler splits them), and names
every shard's marker so that the run-complete step can be started at the end. The list is read
by the crawler's own reader (``rivalscope_core.watchlist``): a YAML watch list or a plain URL
list, whatever the key's name, with the same errors.
``plan_shards`` is pure; ``lambda_handler`` (a second function from the analyser image, its
``ImageConfig`` command) reads the list from S3."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rivalscope_core.keys import RunRef, marker_key, new_run_id, parse_run_id
from rivalscope_core.sites import site_of
from rivalscope_core.urls import count_shard_units, select_shard
from rivalscope_core.watchlist import parse_watchlist

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SPIDER = "competitors"
# Fargate launches a burst of 100 tasks, then 20 a second: never more shard tasks at once
MAX_CONCURRENCY = 100


@dataclass(frozen=True)
class ShardPlan:
    bucket: str
    run: str
    urls_file: str
    count: int
    urls_per_shard: list[int]
    max_concurrency: int = 1
    extra_arguments: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        run = RunRef(self.bucket, SPIDER, self.run)
        return {
            "bucket": self.bucket,
            "run": self.run,
            "run_uri": run.uri,
            "urls_file": self.urls_file,
            "shard_count": self.count,
            # the Distributed Map's MaxConcurrencyPath: shard tasks running at once
            "max_concurrency": self.max_concurrency,
            # passed on to every shard's command line, after its own arguments
            "extra_arguments": list(self.extra_arguments),
            "shards": [
                {"index": index, "shard": f"{index}/{self.count}", "urls": urls}
                for index, urls in enumerate(self.urls_per_shard)
            ],
            # the run-complete step is started with this marker's event (any marker will do)
            "marker_key": marker_key(run, 0, self.count),
        }


def plan_shards(
    url_text: str,
    *,
    bucket: str,
    key: str,
    max_shards: int,
    run: str | None = None,
    max_concurrency: int = 1,
    extra_arguments: tuple[str, ...] = (),
) -> ShardPlan:
    """A ValueError names what is wrong with the list or the arguments."""
    if max_shards < 1:
        raise ValueError(f"max_shards must be >= 1, got {max_shards}")
    if not 1 <= max_concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"max_concurrency must be 1..{MAX_CONCURRENCY}, got {max_concurrency}")
    watchlist = parse_watchlist(url_text, key)  # a WatchListError is a ValueError

    def competitor_of(url: str) -> str | None:
        competitor = watchlist.competitor_of(url)
        return competitor.name if competitor is not None else None

    urls = watchlist.urls
    count = min(max_shards, count_shard_units(urls, site_of, competitor_of))
    return ShardPlan(
        bucket=bucket,
        run=parse_run_id(run) if run else new_run_id(),
        urls_file=f"s3://{bucket}/{key}",
        count=count,
        urls_per_shard=[
            len(select_shard(urls, index, count, site_of=site_of, competitor_of=competitor_of))
            for index in range(count)
        ],
        max_concurrency=max_concurrency,
        extra_arguments=extra_arguments,
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``{"list_key": "config/urls.txt", "max_shards": 4, "run": optional}`` → the plan."""
    import boto3

    from analyzer_lambda.config import Config

    bucket = str(event.get("bucket") or Config.from_env(os.environ).pages_bucket or "")
    if not bucket:
        raise ValueError('no bucket: set PAGES_BUCKET or pass {"bucket": ...}')
    key = str(event["list_key"])
    s3: S3Client = boto3.client("s3")
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    plan = plan_shards(
        text,
        bucket=bucket,
        key=key,
        max_shards=int(event.get("max_shards", 1)),
        run=str(event["run"]) if event.get("run") else None,
        max_concurrency=int(event.get("max_concurrency", 1)),
        extra_arguments=_arguments(event.get("extra_arguments") or []),
    )
    return plan.to_dict()


def _arguments(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"extra_arguments must be a list of strings, got {value!r}")
    return tuple(value)
