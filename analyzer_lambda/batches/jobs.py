"""The Batch API through google-genai's ``client.batches`` and ``client.files``: create a job
(inline, or from a JSONL file sent with the resumable upload protocol), get it, and read its
answers (``inlinedResponses``, or the ``responsesFile`` downloaded through ``files``).

The only module here that talks to Gemini; SDK and transport errors become ``BatchApiError``
with the HTTP code, so nothing above matches SDK exception types."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from google import genai
    from google.genai import types

#: states after which a job changes no more (the SDK's names for ``BATCH_STATE_*``)
SUCCEEDED = "JOB_STATE_SUCCEEDED"
FAILED_STATES = frozenset({"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})
JSONL_MIME = "jsonl"  # what Google's batch guide uploads request files as


class BatchApiError(Exception):
    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JobStatus:
    name: str
    state: str
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.state in FAILED_STATES


@dataclass(frozen=True)
class Answer:
    """One request's outcome: a response, or the error status the API put in its place."""

    key: str
    response: types.GenerateContentResponse | None
    error_code: int = 0
    error_message: str = ""


class BatchJobs:
    def __init__(self, client: genai.Client) -> None:
        self._client = client

    def create_inline(
        self, model: str, inlined: list[types.InlinedRequest], display_name: str
    ) -> JobStatus:
        from google.genai import types

        source = types.BatchJobSource(inlined_requests=inlined)
        with _api_errors("create the batch job"):
            job = self._client.batches.create(
                model=model, src=source, config={"display_name": display_name}
            )
        return _status(job)

    def create_from_file(self, model: str, jsonl: bytes, display_name: str) -> JobStatus:
        with _api_errors("upload the batch's request file"):
            uploaded = self._client.files.upload(
                file=io.BytesIO(jsonl),
                config={"mime_type": JSONL_MIME, "display_name": display_name},
            )
        if not uploaded.name:
            raise BatchApiError("the upload returned no file name")
        with _api_errors("create the batch job"):
            job = self._client.batches.create(
                model=model, src=uploaded.name, config={"display_name": display_name}
            )
        return _status(job)

    def get(self, name: str) -> tuple[JobStatus, types.BatchJob]:
        with _api_errors(f"get {name}"):
            job = self._client.batches.get(name=name)
        return _status(job), job

    def find(self, display_name: str) -> JobStatus | None:
        """The job created with ``display_name`` (a submission that died before it recorded
        the job's name), or None."""
        with _api_errors("list batch jobs"):
            for job in self._client.batches.list(config={"page_size": 100}):
                if job.display_name == display_name:
                    return _status(job)
        return None

    def answers(self, job: types.BatchJob) -> Iterator[Answer]:
        """Every answer of a succeeded job, inline or from its result file."""
        from google.genai import types

        dest = job.dest
        if dest is not None and dest.inlined_responses is not None:
            for item in dest.inlined_responses:
                key = str((item.metadata or {}).get("key", ""))
                if item.error is not None:
                    yield Answer(key, None, item.error.code or 0, item.error.message or "")
                else:
                    yield Answer(key, item.response)
            return
        if dest is None or not dest.file_name:
            raise BatchApiError(f"{job.name} succeeded without responses")
        with _api_errors(f"download {dest.file_name}"):
            data = self._client.files.download(file=dest.file_name)
        for raw in data.decode("utf-8").splitlines():
            if not raw.strip():
                continue
            line: dict[str, Any] = json.loads(raw)
            key = str(line.get("key", ""))
            if "response" in line:
                yield Answer(key, types.GenerateContentResponse.model_validate(line["response"]))
            else:
                status = line.get("error") or line.get("status") or {}
                yield Answer(key, None, int(status.get("code") or 0), str(status.get("message")))


def _status(job: types.BatchJob) -> JobStatus:
    state = job.state.value if job.state is not None else "JOB_STATE_UNSPECIFIED"
    error = job.error.message if job.error is not None else None
    return JobStatus(str(job.name), str(state), error)


@contextmanager
def _api_errors(what: str) -> Iterator[None]:
    import httpx2
    from google.genai import errors

    try:
        yield
    except errors.APIError as exc:
        raise BatchApiError(
            f"cannot {what}: HTTP {exc.code}: {exc.message}", exc.code or 0
        ) from exc
    except (httpx2.TransportError, ValueError, KeyError) as exc:
        raise BatchApiError(f"cannot {what}: {type(exc).__name__}: {exc}") from exc
