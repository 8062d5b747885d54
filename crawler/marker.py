"""The crawl task's last write: its shard marker, ``raw/{spider}/{run}/_done/{I}of{N}.json``.

The ``crawl`` command calls ``write_marker`` after the crawl has ended and the browsers have
quit: the exit code is known then, and the process tree's resources are complete. It is written
for every crawl that ran, also one that ends with exit 1 or after a graceful stop (SIGTERM:
nothing is lost, so the marker tells the truth), for a shard of a run refused with a usage
error (exit 2, ``build_usage_marker``: no page, its message in ``finish_reason``), and never by
a task that is killed: its run then stays incomplete, and the run-complete step names the
missing shard after its timeout.
The marker goes beside the run's chunks (the directory of ``S3PIPELINE_URL`` for the run).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from crawler.pipelines import STAT_PREFIX, ReliableS3Pipeline
from rivalscope_core.exit_codes import EXIT_USAGE
from rivalscope_core.keys import MARKERS_DIR, marker_name, parse_run_id
from rivalscope_core.markers import ShardMarker
from rivalscope_core.s3 import make_s3_client
from rivalscope_core.urls import parse_shard

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_s3 import S3Client
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from crawler.resources import ResourceUsage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MarkerConfig:
    enabled: bool
    sample_interval: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> MarkerConfig:
        interval = settings.getfloat("RIVALSCOPE_RESOURCE_SAMPLE_INTERVAL")
        if interval <= 0:
            raise ValueError(
                f"RIVALSCOPE_RESOURCE_SAMPLE_INTERVAL must be > 0 seconds, got {interval}"
            )
        return cls(enabled=settings.getbool("RIVALSCOPE_RUN_MARKER"), sample_interval=interval)


def build_marker(
    crawler: Crawler,
    *,
    exit_code: int,
    started_at: str,
    ended_at: str,
    usage: ResourceUsage,
) -> tuple[str, str, ShardMarker] | None:
    """(bucket, key, marker) of a crawl that ran; None when it never opened its pipeline."""
    pipeline = crawler.get_item_pipeline(ReliableS3Pipeline) if crawler.engine else None
    spider: Any = crawler.spider
    if pipeline is None or spider is None or not getattr(pipeline, "ts", ""):
        return None
    index, count = getattr(getattr(spider, "args", None), "shard", (0, 1))
    stats: Mapping[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    prompt = getattr(spider, "prompt", None)
    marker = ShardMarker(
        run=pipeline.ts,
        spider=spider.name,
        shard_index=index,
        shard_count=count,
        chunks=list(pipeline.stored_keys),
        pages=int(stats.get(f"{STAT_PREFIX}/items_stored", 0)),
        errors=int(stats.get("rivalscope/pages/failed", 0)),
        started_at=started_at,
        ended_at=ended_at,
        exit_code=exit_code,
        cpu_seconds=usage.cpu_seconds,
        peak_memory_bytes=usage.peak_memory_bytes,
        finish_reason=str(stats.get("finish_reason", "")),
        pages_spilled=int(stats.get(f"{STAT_PREFIX}/items_spilled", 0)),
        prompt=prompt,
        page_prompts=page_prompts(pipeline.stored_prompts, prompt),
    )
    return (
        pipeline.bucket_name,
        f"{pipeline.run_dir}/{MARKERS_DIR}{marker_name(index, count)}",
        marker,
    )


def build_usage_marker(
    settings: BaseSettings,
    spider: str,
    spargs: Mapping[str, Any],
    *,
    message: str,
    started_at: str,
    ended_at: str,
) -> tuple[str, str, ShardMarker] | None:
    """(bucket, key, marker) of a shard of a run that stopped on a usage error (exit 2), before
    any crawl: without its marker its run would wait for it until ``RUN_COMPLETE_TIMEOUT``, and
    with it the run-complete step reports the shard's exit code at once. None when the task is
    no shard of a run (no valid ``-a run=``/``shard=``), or the setting naming where the run's
    chunks go is itself what is wrong: then there is no marker to write."""
    import resource

    try:
        run = parse_run_id(str(spargs["run"]))
        index, count = parse_shard(str(spargs.get("shard", "0/1")))
        target = urlparse(str(settings.get("S3PIPELINE_URL") or ""))
        if target.scheme != "s3" or not target.netloc:
            return None
        chunk_key = target.path.lstrip("/").format(name=spider, time=run, chunk=0)
    except (KeyError, ValueError, IndexError):
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)  # no browser ever started
    marker = ShardMarker(
        run=run,
        spider=spider,
        shard_index=index,
        shard_count=count,
        chunks=[],
        pages=0,
        errors=0,
        started_at=started_at,
        ended_at=ended_at,
        exit_code=EXIT_USAGE,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
        peak_memory_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        finish_reason=f"usage error: {message}",
        prompt=None if spargs.get("prompt") is None else str(spargs["prompt"]),
    )
    key = f"{chunk_key.rsplit('/', 1)[0]}/{MARKERS_DIR}{marker_name(index, count)}"
    return target.netloc, key, marker


def page_prompts(
    stored: Mapping[str, Sequence[str | None]], run_prompt: str | None
) -> dict[str, dict[str, list[int]]]:
    """The marker's ``page_prompts``: the lines of each stored chunk whose prompt reference is
    not the run's (a record's prompt is its competitor's, else the run's: never None then)."""
    found: dict[str, dict[str, list[int]]] = {}
    for key, prompts in stored.items():
        for line, ref in enumerate(prompts, start=1):
            if ref is not None and ref != run_prompt:
                found.setdefault(ref, {}).setdefault(key, []).append(line)
    return found


def write_marker(
    bucket: str, key: str, marker: ShardMarker, client: S3Client | None = None
) -> bool:
    """Store the marker (botocore's standard retries); False, logged, when S3 refused it."""
    s3 = client or make_s3_client()
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=marker.to_json(), ContentType="application/json"
        )
    except (ClientError, BotoCoreError) as exc:
        logger.error("Could not write the shard marker s3://%s/%s: %s", bucket, key, exc)
        return False
    logger.info(
        "Shard marker s3://%s/%s: %d page(s), %d chunk(s), exit code %d, %.1f CPU s, peak %.0f MB",
        bucket,
        key,
        marker.pages,
        len(marker.chunks),
        marker.exit_code,
        marker.cpu_seconds,
        marker.peak_memory_bytes / 1e6,
    )
    return True
