"""The Batch API surface of the fake Gemini server, as google-genai reaches it on the Gemini
Developer API (ai.google.dev/api/batch-mode, ai.google.dev/api/files):

- ``POST /{v}/models/{model}:batchGenerateContent`` with ``{"batch": {"displayName",
  "inputConfig": {"requests": {"requests": [{"request", "metadata"}]}} | {"fileName"}}}``
  answers a long-running ``Operation`` whose ``metadata`` is the ``GenerateContentBatch``;
- ``GET /{v}/batches`` lists them (``operations``; one page);
- ``GET /{v}/batches/{id}`` answers the same, one state further each time (``states``: by default
  ``BATCH_STATE_PENDING`` (queued), ``RUNNING``, ``SUCCEEDED``); a finished batch has ``done``,
  and ``output`` (in ``metadata`` and ``response``) of ``inlinedResponses`` for an inline batch or
  ``responsesFile`` for a file batch; ``FAILED`` carries an ``error`` instead;
- the resumable upload protocol: ``POST /upload/{v}/files`` (``X-Goog-Upload-Command: start``)
  answers ``X-Goog-Upload-URL``; chunks go there with ``upload`` / ``upload, finalize`` and an
  offset; the last answer carries the ``File``;
- ``GET /{v}/files/{id}:download?alt=media`` (also under ``/download/``) serves a file's bytes.

Answers are made when a batch reaches ``SUCCEEDED``, each by the same ``answer`` function, and
with the same scripted behaviours, as ``generateContent``'s; ``429``/``500`` become a
per-request error status, as the Batch API reports them."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_STATES = ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED")
TERMINAL = {"BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED",
            "BATCH_STATE_EXPIRED"}  # fmt: skip
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main."


@dataclass
class BatchJob:
    name: str
    model: str
    display_name: str
    source: str  # "inline" or "file"
    requests: list[dict[str, Any]]  # each {"key"|"metadata", "request"}
    states: list[str]
    step: int = 0
    output: dict[str, Any] | None = None

    @property
    def state(self) -> str:
        return self.states[min(self.step, len(self.states) - 1)]

    @property
    def keys(self) -> list[str]:
        return [r.get("key") or (r.get("metadata") or {}).get("key", "") for r in self.requests]


@dataclass
class BatchState:
    jobs: dict[str, BatchJob] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[str] = field(default_factory=lambda: list(DEFAULT_STATES))
    create_delay: float = 0.0  # seconds each create takes (concurrent submitters overlap)
    create_errors: list[int] = field(default_factory=list)  # the next creates answer these
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, model: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.create_errors:  # e.g. 429: the model's enqueued-token quota is used up
            code = self.create_errors.pop(0)
            return code, _error(code, "enqueued tokens quota exceeded", "RESOURCE_EXHAUSTED")
        batch = body.get("batch") or {}
        config = batch.get("inputConfig") or {}
        if "fileName" in config:
            data = self.files.get(config["fileName"])
            if data is None:
                return 400, _error(400, f"file {config['fileName']} not found", "NOT_FOUND")
            requests = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
            source = "file"
        else:
            requests = (config.get("requests") or {}).get("requests") or []
            source = "inline"
        if not requests:
            return 400, _error(400, "no requests in the batch", "INVALID_ARGUMENT")
        name = f"batches/{uuid.uuid4().hex[:16]}"
        job = BatchJob(name, model, batch.get("displayName", ""), source, requests,
                       list(self.states))  # fmt: skip
        self.jobs[name] = job
        return 200, _operation(job)

    def get(self, name: str, answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
            ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        job = self.jobs.get(name)
        if job is None:
            return 404, _error(404, f"{name} not found", "NOT_FOUND")
        if job.state not in TERMINAL:
            job.step += 1
        if job.state == "BATCH_STATE_SUCCEEDED" and job.output is None:
            job.output = self._output(job, answer)
        return 200, _operation(job)

    def _output(
        self, job: BatchJob, answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
    ) -> dict[str, Any]:
        answered = []
        for item in job.requests:
            status, payload = answer(item["request"])
            entry = {"response": payload} if status == 200 else dict(payload)
            answered.append(entry)
        if job.source == "inline":
            return {"inlinedResponses": {"inlinedResponses": [
                {**entry, "metadata": item.get("metadata") or {}}
                for entry, item in zip(answered, job.requests, strict=True)]}}  # fmt: skip
        pairs = zip(job.keys, answered, strict=True)
        lines = [json.dumps({"key": key, **entry}) for key, entry in pairs]
        file_name = f"files/batch-{job.name.split('/')[-1]}"
        self.files[file_name] = ("\n".join(lines) + "\n").encode()
        return {"responsesFile": file_name}

    def list(self) -> dict[str, Any]:
        """``GET /{v}/batches``: every batch, newest first, in one page."""
        return {"operations": [_operation(job) for job in reversed(self.jobs.values())]}

    def start_upload(self, base: str, body: dict[str, Any]) -> tuple[dict[str, str], str]:
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = {"file": body.get("file") or {}, "data": bytearray()}
        return {"X-Goog-Upload-URL": f"{base}/upload/v1beta/files?upload_id={upload_id}",
                "X-Goog-Upload-Status": "active"}, upload_id  # fmt: skip

    def upload_chunk(
        self, upload_id: str, command: str, offset: int, data: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        upload = self.uploads.get(upload_id)
        if upload is None or offset != len(upload["data"]):
            return 400, {"X-Goog-Upload-Status": "final"}, _error(400, "bad upload", "INVALID")
        upload["data"].extend(data)
        if "finalize" not in command:
            return 200, {"X-Goog-Upload-Status": "active"}, {}
        del self.uploads[upload_id]
        name = f"files/{uuid.uuid4().hex[:12]}"
        self.files[name] = bytes(upload["data"])
        meta = upload["file"]
        file = {"name": name, "displayName": meta.get("displayName", ""),
                "mimeType": meta.get("mimeType", "application/octet-stream"),
                "sizeBytes": str(len(upload["data"])), "state": "ACTIVE", "source": "UPLOADED",
                "uri": f"https://generativelanguage.example/v1beta/{name}"}  # fmt: skip
        return 200, {"X-Goog-Upload-Status": "final"}, {"file": file}


def _operation(job: BatchJob) -> dict[str, Any]:
    pending = 0 if job.state in TERMINAL else len(job.requests)
    metadata: dict[str, Any] = {
        "@type": f"{_TYPE}GenerateContentBatch", "name": job.name, "model": f"models/{job.model}",
        "displayName": job.display_name, "state": job.state,
        "createTime": "2026-12-02T00:00:00Z", "updateTime": "2026-12-02T00:00:01Z",
        "batchStats": {"requestCount": str(len(job.requests)),
                       "pendingRequestCount": str(pending)},
    }  # fmt: skip
    operation: dict[str, Any] = {"name": job.name, "metadata": metadata}
    if job.state in TERMINAL:
        operation["done"] = True
        metadata["endTime"] = "2026-12-02T00:00:02Z"
    if job.output is not None:
        metadata["output"] = job.output
        operation["response"] = {"@type": f"{_TYPE}GenerateContentBatchOutput", **job.output}
    elif job.state == "BATCH_STATE_FAILED":
        operation["error"] = {"code": 13, "message": "batch failed"}
    return operation


def _error(code: int, message: str, status: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}
