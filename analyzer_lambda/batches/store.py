"""The batch path's S3 records, over the analyser's ``Store``: the submission lock, page claims
(the interactive path's claim keys, with a note of the job), job manifests and the index of
open jobs the scheduled collector lists."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from analyzer_lambda.batches.manifest import Manifest
from analyzer_lambda.exceptions import StoreError
from analyzer_lambda.store import Claim
from rivalscope_core.keys import (
    BATCH_MANIFEST_SUFFIX,
    OPEN_BATCHES_PREFIX,
    batch_manifest_key,
    batch_manifest_prefix,
    batch_submit_key,
    claim_key,
    open_batch_key,
)

if TYPE_CHECKING:
    from analyzer_lambda.batches.manifest import PageEntry
    from analyzer_lambda.store import Store
    from rivalscope_core.keys import RunRef

logger = logging.getLogger(__name__)


class BatchStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def lock_submission(self, run: RunRef, prompt_id: str, model: str, ttl: float) -> Claim | None:
        return self.store.claim(run.bucket, batch_submit_key(run, prompt_id, model), ttl)

    def claim_page(
        self, bucket: str, result_key: str, ttl: float, note: dict[str, Any]
    ) -> Claim | None:
        try:
            return self.store.claim(bucket, claim_key(result_key), ttl, note)
        except StoreError as exc:
            logger.warning("cannot claim %s: %s", result_key, exc)
            return None

    def release_pages(self, bucket: str, pages: list[PageEntry]) -> None:
        """Let the pages be submitted again (their job failed, expired or was never made)."""
        for page in pages:
            if page.claim_etag:
                self.store.release(Claim(bucket, claim_key(page.key), page.claim_etag))

    def manifests(self, run: RunRef, prompt_id: str, model: str) -> list[tuple[str, Manifest]]:
        prefix = batch_manifest_prefix(run, prompt_id, model)
        keys = sorted(k for k in self.store.existing_keys(run.bucket, prefix)
                      if k.endswith(BATCH_MANIFEST_SUFFIX))  # fmt: skip
        found = [(key, self.load(run.bucket, key)) for key in keys]
        return [(key, manifest) for key, manifest in found if manifest is not None]

    def keys_in_open_jobs(self, run: RunRef, prompt_id: str, model: str) -> set[str]:
        return {page.key for _, manifest in self.manifests(run, prompt_id, model)
                if manifest.open for page in manifest.pages}  # fmt: skip

    def load(self, bucket: str, key: str) -> Manifest | None:
        found = self.store.read_json(bucket, key)
        if found is None:
            return None
        try:
            return Manifest.from_dict(found[0])
        except (TypeError, KeyError) as exc:
            logger.error("s3://%s/%s: not a batch manifest: %s", bucket, key, exc)
            return None

    def save(self, run: RunRef, manifest: Manifest, *, create: bool = False) -> None:
        key = self.manifest_key(run, manifest)
        if self.store.put_json(run.bucket, key, manifest.to_dict(), create=create) is None:
            raise StoreError(f"s3://{run.bucket}/{key} exists already")

    def manifest_key(self, run: RunRef, manifest: Manifest) -> str:
        return batch_manifest_key(run, manifest.prompt_id, manifest.model, manifest.job_id)

    def mark_open(self, run: RunRef, manifest: Manifest) -> None:
        self.store.put_json(run.bucket, open_batch_key(manifest.job_id),
                            {"manifest": self.manifest_key(run, manifest)})  # fmt: skip

    def mark_closed(self, bucket: str, job_id: str) -> None:
        try:
            self.store.delete(bucket, open_batch_key(job_id))
        except StoreError as exc:  # the next collector finds the manifest collected: harmless
            logger.warning("open-jobs entry of %s not removed: %s", job_id, exc)

    def open_manifest_keys(self, bucket: str) -> list[str]:
        """The manifest key of every job in the open index."""
        keys = []
        for entry in sorted(self.store.existing_keys(bucket, OPEN_BATCHES_PREFIX)):
            found = self.store.read_json(bucket, entry)
            if found is not None and isinstance(found[0].get("manifest"), str):
                keys.append(found[0]["manifest"])
        return keys
