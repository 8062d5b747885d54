"""The local stack as one object: endpoint up, ``data/`` restored, environment pointed at it,
bucket (and, for ``make run``, the notification queue and its worker) in place — and on stop,
a last sync to ``data/`` before the endpoint goes away.

Order matters: the restore runs before the bucket notification is configured, so restored
chunks raise no event (persistence.py)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Self

from rivalscope_local.endpoint import LOCAL_AWS_ENV, LocalEndpoint
from rivalscope_local.persistence import Mirror, PeriodicSync
from rivalscope_local.queue import create_queues, notify_queue
from rivalscope_local.worker import Handler, QueueWorker

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_BUCKET = "rivalscope-local"
QUEUE_NAME = "rivalscope-chunks"
#: variables that would point a client elsewhere than the local endpoint
_SHADOWING = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS")
EXTRACT_NOTICE = "GEMINI_API_KEY is not set: using the offline extract analyser"


def choose_analyzer(environ: dict[str, str] | os._Environ[str]) -> str | None:
    """``ANALYZER=extract`` when no Gemini key is set and no analyser is chosen; returns the
    notice to print, or None."""
    if environ.get("ANALYZER") or environ.get("GEMINI_API_KEY"):
        return None
    environ["ANALYZER"] = "extract"
    return EXTRACT_NOTICE


class LocalStack:
    def __init__(self, data_dir: Path, bucket: str = DEFAULT_BUCKET, sync_interval: float = 3.0):
        self.data_dir = data_dir
        self.bucket = bucket
        self.endpoint = LocalEndpoint()
        self._sync_interval = sync_interval
        self._saved_env: dict[str, str | None] = {}
        self.mirror: Mirror | None = None
        self._periodic: PeriodicSync | None = None
        self.worker: QueueWorker | None = None
        self.restored = 0

    def start(self) -> Self:
        self.endpoint.start()
        self._export_env()
        s3 = self.endpoint.s3()
        self.mirror = Mirror(s3, self.data_dir / "s3")
        self.restored = self.mirror.restore()
        if not any(b["Name"] == self.bucket for b in s3.list_buckets().get("Buckets", [])):
            s3.create_bucket(Bucket=self.bucket)
        self._periodic = PeriodicSync(self.mirror, self._sync_interval).start()
        return self

    def start_analyzer(self, handler: Handler) -> QueueWorker:
        """Wire bucket → queue (after the restore) and drain it into ``handler``."""
        queue = create_queues(self.endpoint.sqs(), QUEUE_NAME)
        notify_queue(self.endpoint.s3(), self.bucket, queue)
        self.worker = QueueWorker(self.endpoint.sqs(), queue, handler).start()
        return self.worker

    def sync(self) -> None:
        if self.mirror is not None and self.endpoint.running:
            self.mirror.sync()

    def stop(self, *, worker_timeout: float = 60.0) -> None:
        """Stop the worker (a batch in progress may finish), sync to disk, stop the endpoint."""
        try:
            if self.worker is not None:
                self.worker.stop(timeout=worker_timeout)
            if self._periodic is not None:
                self._periodic.stop()
            self.sync()
        finally:
            self.endpoint.stop()
            self._restore_env()

    @property
    def env(self) -> dict[str, str]:
        """The environment of a subprocess that should use the local stack."""
        return dict(os.environ)

    def _export_env(self) -> None:
        updates: dict[str, str | None] = {
            **LOCAL_AWS_ENV,
            "AWS_ENDPOINT_URL": self.endpoint.url,
            "PAGES_BUCKET": self.bucket,
            # the handler empties its work dir on every invocation, as a Lambda sandbox may:
            # keep that away from other local processes using the default /tmp one
            "ANALYZER_WORK_DIR": str((self.data_dir / "tmp" / "analyzer").resolve()),
            # EMF metric lines are for CloudWatch only (Powertools checks this when it flushes)
            "POWERTOOLS_METRICS_DISABLED": "true",
            **dict.fromkeys(_SHADOWING),
        }
        for name, value in updates.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
