"""A batch job's manifest: which pages it holds (with what each result record needs), the
prompt's id and schema (so the collector validates answers without the prompt file), and where
the job stands. Stored as JSON at ``keys.batch_manifest_key``; pure (dict in, dict out).

States: ``creating`` (written before the job is created, so a crash leaves a trace), then the
job's own state (``JOB_STATE_PENDING``, ``..._RUNNING``, ...); ``collected`` is set once its
answers are stored or, for a failed or expired job, once its pages were released for a new
submission."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rivalscope_core.records import ResultRecord, utc_now_iso

CREATING = "creating"
NOT_CREATED = "not_created"  # the create call failed: nothing was paid, pages released


@dataclass(frozen=True)
class PageEntry:
    key: str  # the page's result key (also the request's key in the job)
    chunk: str
    line: int
    url: str
    final_url: str | None
    crawled_at: str
    competitor: str | None
    claim_etag: str  # the page's claim, released when the job is collected

    def result(self, prompt_id: str, model: str, **fields: Any) -> ResultRecord:
        """The page's result record, in the interactive path's format (analyser ``gemini``)."""
        return ResultRecord(
            url=self.url, final_url=self.final_url, crawled_at=self.crawled_at,
            chunk=self.chunk, line=self.line, prompt_id=prompt_id, model=model,
            analyzer="gemini", competitor=self.competitor, **fields,
        )  # fmt: skip


@dataclass
class Manifest:
    job_id: str
    bucket: str
    prompt_id: str
    prompt_name: str
    schema: dict[str, Any]
    model: str
    pages: list[PageEntry]
    source: str = "inline"  # or "file"
    job: str | None = None  # the Batch API's name, "batches/..."
    state: str = CREATING
    collected: bool = False
    error: str | None = None
    estimated_tokens: list[int] = field(default_factory=lambda: [0, 0])  # input, output
    created_at: str = field(default_factory=utc_now_iso)
    updated_at: str = field(default_factory=utc_now_iso)

    @property
    def open(self) -> bool:
        return not self.collected

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["pages"] = [PageEntry(**page) for page in data.get("pages", [])]
        return cls(**fields)

    def touch(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        self.updated_at = utc_now_iso()
