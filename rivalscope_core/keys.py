"""The S3 layout of SPEC.md as pure functions.

``raw/{spider}/{time}/items.{chunk:07d}.jl.gz`` is written by scrapy-s3pipeline (its ``{chunk}``
is the offset of the chunk's first item, its ``{time}`` looks like ``2026-11-23T22-19-03``).
Analyses live at a key that is a pure function of (page, prompt id, model), so a repeated event
finds its work done; a page is identified by its chunk and 1-based line, which never change
because raw chunks are immutable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

RAW_PREFIX = "raw/"
ANALYSIS_PREFIX = "analysis/"
PROMPTS_PREFIX = "prompts/"
REPORTS_PREFIX = "reports/"
DEFAULT_RAW_TEMPLATE = "raw/{name}/{time}/items.{chunk:07d}.jl.gz"
CHUNK_SUFFIX = ".jl.gz"
MARKERS_DIR = "_done/"
# A run's id: its start time as scrapy-s3pipeline's ``{time}`` gives it (UTC).
RUN_ID_FORMAT = "%Y-%m-%dT%H-%M-%S"

_RAW_KEY = re.compile(r"^raw/(?P<spider>[^/]+)/(?P<time>[^/]+)/(?P<chunk>[^/]+\.jl(?:\.gz)?)$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str) -> S3Uri:
    """``s3://bucket/key`` → S3Uri; a ValueError names what is wrong."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r} (expected s3://BUCKET/KEY)")
    return S3Uri(bucket=parsed.netloc, key=parsed.path.lstrip("/"))


@dataclass(frozen=True)
class RunRef:
    """One crawl run: every chunk under ``raw/{spider}/{time}/``."""

    bucket: str
    spider: str
    time: str

    @property
    def raw_prefix(self) -> str:
        return f"{RAW_PREFIX}{self.spider}/{self.time}/"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.raw_prefix}"


@dataclass(frozen=True)
class ChunkRef:
    """One immutable raw chunk."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def run(self) -> RunRef:
        match = _RAW_KEY.match(self.key)
        if match is None:
            raise ValueError(f"not a raw chunk key: {self.key!r}")
        return RunRef(self.bucket, match["spider"], match["time"])

    @property
    def stem(self) -> str:
        return chunk_stem(self.key)


def chunk_stem(key_or_uri: str) -> str:
    """``items.0000005`` for ``.../items.0000005.jl.gz`` (``items.0000005.shard1of4`` for a
    shard's chunk): the chunk's segment in result keys and report file names."""
    name = key_or_uri.rsplit("/", 1)[-1]
    return name.split(".jl", 1)[0]


def shard_label(index: int, count: int) -> str:
    """``shard1of4``: part of every chunk key of a sharded crawl; empty for an unsharded one."""
    return f"shard{index}of{count}" if count > 1 else ""


def with_shard(key: str, label: str) -> str:
    """``.../items.0000000.jl.gz`` → ``.../items.0000000.shard1of4.jl.gz``: N shard tasks that
    start in the same second share ``{time}`` and chunk offsets, and must not share keys."""
    if not label:
        return key
    head, sep, tail = key.rpartition(".jl")
    return f"{head}.{label}{sep}{tail}" if sep else f"{key}.{label}"


def parse_run_id(text: str) -> str:
    """A run id (``2026-11-23T22-19-03``, UTC) as given to ``-a run=``; a ValueError says the
    format. Parsed as a date, so ``2026-13-40T...`` is refused too."""
    try:
        parsed = datetime.strptime(text, RUN_ID_FORMAT)
    except ValueError:
        parsed = None
    if parsed is None or parsed.strftime(RUN_ID_FORMAT) != text:
        raise ValueError(
            f"bad run {text!r}: use the run's start time, UTC, as YYYY-MM-DDTHH-MM-SS "
            "(e.g. 2026-11-23T22-19-03)"
        )
    return text


def new_run_id(now: datetime | None = None) -> str:
    """The id of a run starting now (what a launcher passes to every shard as ``-a run=``)."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(RUN_ID_FORMAT)


def marker_name(index: int, count: int) -> str:
    """``1of4.json`` for shard ``0/4``: markers count from 1, so an unsharded crawl (shard
    ``0/1``) writes ``1of1.json``; the run-complete step expects ``1of{N}`` .. ``{N}of{N}``."""
    if not 0 <= index < count:
        raise ValueError(f"shard {index}/{count} out of range")
    return f"{index + 1}of{count}.json"


def marker_key(run: RunRef, index: int, count: int) -> str:
    """``raw/{spider}/{run}/_done/{I}of{N}.json``: written by each crawl task at its end."""
    return f"{run.raw_prefix}{MARKERS_DIR}{marker_name(index, count)}"


_MARKER_KEY = re.compile(
    r"^raw/(?P<spider>[^/]+)/(?P<time>[^/]+)/_done/(?P<index>[0-9]+)of(?P<count>[0-9]+)\.json$"
)


@dataclass(frozen=True)
class MarkerRef:
    """One shard's end-of-task marker; ``index`` counts from 1 as in its name."""

    run: RunRef
    index: int
    count: int

    @property
    def key(self) -> str:
        return marker_key(self.run, self.index - 1, self.count)


def parse_marker_key(bucket: str, key: str) -> MarkerRef | None:
    """The marker a key names, or None for any other key."""
    match = _MARKER_KEY.match(key)
    if match is None:
        return None
    index, count = int(match["index"]), int(match["count"])
    if not 1 <= index <= count:
        return None
    return MarkerRef(RunRef(bucket, match["spider"], match["time"]), index, count)


def is_raw_chunk_key(key: str) -> bool:
    return _RAW_KEY.match(key) is not None


def parse_run_uri(uri: str) -> RunRef | ChunkRef:
    """A run (``s3://B/raw/competitors/<time>/``) or one chunk URI, as the re-analysis and report
    commands take them."""
    ref = parse_s3_uri(uri)
    if is_raw_chunk_key(ref.key):
        return ChunkRef(ref.bucket, ref.key)
    parts = ref.key.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "raw":
        return RunRef(ref.bucket, parts[1], parts[2])
    raise ValueError(
        f"{uri!r} is neither a run (s3://BUCKET/raw/SPIDER/TIME/) "
        "nor a chunk (s3://BUCKET/raw/SPIDER/TIME/items.NNNNNNN.jl.gz)"
    )


def model_slug(model: str) -> str:
    """Model names may hold ``/`` (``models/gemini-...``) or ``:``; keep keys flat and stable."""
    return quote(model.removeprefix("models/"), safe="-._")


def run_analysis_prefix(run: RunRef) -> str:
    """Where every result of a run lives, of every prompt and model."""
    return f"{ANALYSIS_PREFIX}{run.spider}/{run.time}/"


def analysis_prefix(run: RunRef, prompt_id: str, model: str | None = None) -> str:
    """Where every result of a run with one prompt (and model) lives; listing it finds them."""
    prefix = f"{run_analysis_prefix(run)}{prompt_id}/"
    return prefix if model is None else f"{prefix}{model_slug(model)}/"


def analysis_key(chunk: ChunkRef, line: int, prompt_id: str, model: str) -> str:
    """The one key of the result for (page, prompt id, model): a pure function of them."""
    if line < 1:
        raise ValueError("lines are 1-based")
    return f"{analysis_prefix(chunk.run, prompt_id, model)}{chunk.stem}/{line:06d}.json"


def result_chunk_stem(result_key: str) -> str:
    """The chunk stem inside a result key (``.../{chunk stem}/{line:06d}.json``)."""
    return result_key.rsplit("/", 2)[-2]


def claim_key(result_key: str) -> str:
    """The key an analyser claims (conditional write) before it calls the model."""
    return result_key.removesuffix(".json") + ".claim"


def prompt_key(name: str) -> str:
    return f"{PROMPTS_PREFIX}{name}.md"


# The prompt part of a report's prefix when its pages were analysed with prompts of their own
# (a watch list's competitors, #17), not all with one.
OWN_PROMPTS = "own-prompts"


def report_prefix(run: RunRef, prompt_id: str) -> str:
    return f"{REPORTS_PREFIX}{run.spider}/{run.time}/{prompt_id}/"


def run_status_key(run: RunRef, prompt_id: str) -> str:
    """The run-complete step's ``run.json``, beside the run's report."""
    return f"{report_prefix(run, prompt_id)}run.json"


def run_claim_key(run: RunRef, prompt_id: str) -> str:
    """Claimed (conditional write) by the one run-complete step that does the run's work."""
    return f"{report_prefix(run, prompt_id)}run.claim"


# -- Gemini Batch API jobs (``reanalyze --via batch``) ---------------------------------------
# Manifests sit beside the results they will fill, with a suffix that no result listing
# (``.json``) takes for a result; the open-jobs index lets the scheduled collector find every
# job still to collect without listing results.
BATCHES_DIR = "_batches/"
OPEN_BATCHES_PREFIX = f"{ANALYSIS_PREFIX}{BATCHES_DIR}open/"
BATCH_MANIFEST_SUFFIX = ".batch"


def batch_manifest_prefix(run: RunRef, prompt_id: str, model: str) -> str:
    return f"{analysis_prefix(run, prompt_id, model)}{BATCHES_DIR}"


def batch_manifest_key(run: RunRef, prompt_id: str, model: str, job_id: str) -> str:
    """The manifest of one batch job: which pages it holds and where it stands."""
    return f"{batch_manifest_prefix(run, prompt_id, model)}{job_id}{BATCH_MANIFEST_SUFFIX}"


def batch_submit_key(run: RunRef, prompt_id: str, model: str) -> str:
    """Claimed by the one submitter at a time of a run's pages for (prompt id, model)."""
    return f"{batch_manifest_prefix(run, prompt_id, model)}submit.claim"


def open_batch_key(job_id: str) -> str:
    """An open job's entry in the index the collector lists (its body: the manifest's key)."""
    return f"{OPEN_BATCHES_PREFIX}{job_id}"
