"""Local data that outlives the endpoint: every object of the local S3 endpoint mirrored to
``data/s3/<bucket>/<key>``.

moto keeps its state in memory, so the local loop copies it to disk and back:

- :meth:`Mirror.sync` reconciles the disk with the endpoint: objects new or changed since the last
  sync (by ETag) are downloaded, objects deleted from the endpoint are removed from disk. The run
  syncs every few seconds from a background thread (:class:`PeriodicSync`), after each stage and
  on exit, Ctrl-C included, before the endpoint stops — so nothing a user waited for is lost, and a
  hard kill loses at most the last interval.
- :meth:`Mirror.restore` uploads the disk copy into a fresh endpoint. It must run *before* the
  bucket notification is configured, so a restore raises no event and re-analyses nothing.

Why a reconciling sync rather than a second notification queue: S3 rejects overlapping
notification rules, a listing also sees deletions, and a sync is idempotent — a crash between a
file write and the manifest write costs one download, never a lost or half-written file. Each
file is written to a temporary name and renamed into place (atomic on POSIX); the manifest
(``data/s3.manifest.json``: ETag and content type per key) is written the same way, after the
files it describes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)

_SAFE = "-_.~()+,=@!$&' "
_TMP_PREFIX = ".rivalscope-tmp-"
_MANIFEST = "s3.manifest.json"


def key_to_relpath(key: str) -> Path:
    """One S3 key as a relative path that cannot escape its bucket directory.

    Each ``/``-separated segment is percent-encoded; ``.`` and ``..`` become ``%2E``/``%2E%2E``
    and an empty segment (``a//b``, a trailing ``/``) becomes ``%``, which percent-encoding never
    produces on its own, so :func:`relpath_to_key` inverts this exactly."""
    parts = []
    for segment in key.split("/"):
        if segment == "":
            parts.append("%")
        elif segment in {".", ".."}:
            parts.append(segment.replace(".", "%2E"))
        else:
            parts.append(quote(segment, safe=_SAFE))
    return Path(*parts)


def relpath_to_key(path: Path) -> str:
    return "/".join("" if part == "%" else unquote(part) for part in path.parts)


class Mirror:
    """The disk copy of every bucket of one endpoint, under ``root`` (``data/s3``)."""

    def __init__(self, s3: S3Client, root: Path) -> None:
        self._s3 = s3
        self.root = root
        self._manifest_path = root.parent / _MANIFEST
        self._lock = threading.Lock()
        self._restored = False
        self._manifest: dict[str, dict[str, dict[str, str]]] = self._load_manifest()

    # -- disk → endpoint ------------------------------------------------------------------------

    def restore(self) -> int:
        """Create every bucket found on disk and upload its objects; returns how many objects.

        Call before any bucket notification is configured (a restore must raise no event)."""
        count = 0
        with self._lock:
            self._restored = True
            if not self.root.is_dir():
                return 0
            existing = {b["Name"] for b in self._s3.list_buckets().get("Buckets", [])}
            for bucket_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
                bucket = bucket_dir.name
                if bucket not in existing:
                    self._s3.create_bucket(Bucket=bucket)
                known = self._manifest.setdefault(bucket, {})
                for path in sorted(bucket_dir.rglob("*")):
                    if not path.is_file() or path.name.startswith(_TMP_PREFIX):
                        continue
                    key = relpath_to_key(path.relative_to(bucket_dir))
                    content_type = known.get(key, {}).get("content_type")
                    extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
                    response = self._s3.put_object(
                        Bucket=bucket, Key=key, Body=path.read_bytes(), **extra
                    )
                    # the endpoint's ETag of the restored copy: a later sync need not fetch it
                    known[key] = {"etag": response["ETag"], "content_type": content_type or ""}
                    count += 1
            self._save_manifest()
        return count

    # -- endpoint → disk ------------------------------------------------------------------------

    def sync(self) -> int:
        """Copy new or changed objects to disk and drop deleted ones; returns objects copied.

        Refused before :meth:`restore`: an endpoint that never received the disk copy would look
        as if every object had been deleted."""
        copied = 0
        with self._lock:
            if not self._restored:
                raise RuntimeError("Mirror.sync() before Mirror.restore() would wipe data/")
            buckets = [b["Name"] for b in self._s3.list_buckets().get("Buckets", [])]
            for bucket in buckets:
                bucket_dir = self.root / bucket
                bucket_dir.mkdir(parents=True, exist_ok=True)
                known = self._manifest.setdefault(bucket, {})
                seen: set[str] = set()
                paginator = self._s3.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=bucket):
                    for obj in page.get("Contents", []):
                        key, etag = obj["Key"], obj["ETag"]
                        seen.add(key)
                        if (
                            known.get(key, {}).get("etag") == etag
                            and (bucket_dir / key_to_relpath(key)).is_file()
                        ):
                            continue
                        content_type = self._download(bucket, key, bucket_dir)
                        if content_type is None:  # deleted meanwhile: the next sync sees it
                            continue
                        known[key] = {"etag": etag, "content_type": content_type}
                        copied += 1
                for key in set(known) - seen:
                    (bucket_dir / key_to_relpath(key)).unlink(missing_ok=True)
                    del known[key]
            self._save_manifest()
        return copied

    def _download(self, bucket: str, key: str, bucket_dir: Path) -> str | None:
        target = bucket_dir / key_to_relpath(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        _atomic_write(target, response["Body"].read())
        return str(response.get("ContentType") or "")

    # -- manifest -------------------------------------------------------------------------------

    def _load_manifest(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            data = json.loads(self._manifest_path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            logger.warning(
                "ignoring unreadable %s: every object is fetched again", self._manifest_path
            )
            return {}
        return data if isinstance(data, dict) else {}

    def _save_manifest(self) -> None:
        self._manifest_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self._manifest_path, json.dumps(self._manifest, indent=0).encode())


def _atomic_write(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_TMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PeriodicSync:
    """Runs :meth:`Mirror.sync` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, mirror: Mirror, interval: float = 3.0) -> None:
        self._mirror = mirror
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="data-mirror", daemon=True)

    def start(self) -> PeriodicSync:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._mirror.sync()
            except Exception:  # the endpoint may be stopping; the final sync reports errors
                logger.debug("periodic sync failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
